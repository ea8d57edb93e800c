"""A private redis-server as the Celery broker, for tests that send tasks for real (not eager).

Each test gets its own server on its own port, so no other test run's worker can take our
messages (or we theirs), and a test can stop and start it at will.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis
from kombu import pools as kombu_pools

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: _connects(self.port), 10, "redis did not start")

    def queued_tasks(self, queue: str = "celery") -> list[tuple[str, list[object]]]:
        """(task name, args) of every message waiting in `queue`, oldest first, decoded as a worker would."""
        client = redis.Redis(port=self.port)
        try:
            raw = client.lrange(queue, 0, -1)
        finally:
            client.close()
        tasks = []
        for item in reversed(raw):  # kombu LPUSHes and its workers BRPOP
            message = json.loads(item)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            tasks.append((message["headers"]["task"], args))
        return tasks

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_for(check: Callable[[], object], timeout: float, message: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(message() if callable(message) else message)


def reset_broker_pools() -> None:
    """Close every pooled broker connection and forget the pools, so the next publish connects to
    the broker URL of now. `kombu.pools.reset()` also unregisters the closed pools: closing only
    Celery's pool left it registered in kombu, and the next eager task failed on a closed pool."""
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def spawn_worker(
    redis: PrivateRedis,
    log: Path,
    *,
    settings_module: str = "tests.webhooks.worker_settings",
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A real `celery worker` process (solo pool) on `redis`, using this test's database."""
    from django.db import connection

    db = connection.settings_dict
    celery = Path(sys.executable).parent / "celery"
    return subprocess.Popen(
        [
            str(celery),
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--logfile={log}",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": redis.url,
            "REDIS_URL": redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_VISIBILITY_TIMEOUT": "3",
            "WEBHOOK_HANDLER_MODULES": "tests.webhooks.handlers",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
