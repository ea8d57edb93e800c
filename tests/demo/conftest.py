"""`make demo` as a newcomer runs it, once per test session: `manage.py run_demo` in a subprocess on
a fresh SQLite file with the demo's settings (`tests/demo/settings.py`: `config.settings.local` plus
one failing URL), its own Stripe sandbox and web server on free ports, eager tasks, in-process beat.

Before the demo starts, the fixture migrates the database and leaves one webhook event stuck
"pending" in it, as the demo used to leave them, so a test can see the demo's beat sweep it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
READY = "The marketplace is running"
STUCK_EVENT = "evt_demo_stuck_since_last_session"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env(tmp: Path, web_port: int, sandbox_port: int) -> dict[str, str]:
    """Only what a newcomer's shell has, plus where this demo lives: nothing of the test run's own
    settings (its Postgres, Redis or Stripe variables) reaches the demo."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "tests.demo.settings",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "STRIPE_API_BASE": f"http://127.0.0.1:{sandbox_port}",
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "MEDIA_ROOT": str(tmp / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp / "private-media"),
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Demo:
    url: str
    sandbox_url: str
    db_path: Path
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def output(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for_output(self, text: str, timeout: float) -> None:
        with self.changed:
            found = self.changed.wait_for(
                lambda: text in "".join(self.lines) or self.process.poll() is not None, timeout
            )
            if not found or text not in "".join(self.lines):
                raise AssertionError(f"the demo never printed {text!r}; its output:\n{''.join(self.lines)[-6000:]}")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the demo's database as it is now (read-only; WAL lets this run beside the demo)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=20) as conn:
            return conn.execute(sql, params).fetchall()


def insert_stuck_event(db_path: Path) -> None:
    """A `checkout.session.completed` (of a session that is not one of our orders) received 20 minutes
    ago and never processed: "Pending, 0 attempts, no error", what the issue found in the console."""
    long_ago = (datetime.now(UTC) - timedelta(minutes=20)).replace(tzinfo=None).isoformat(" ")
    # A whole session, as Stripe sends it (its own example object): the handler reads it typed.
    fixtures = json.loads((ROOT / "tests" / "marketplace" / "stripe_fixtures" / "fixtures3.json").read_text())
    session = {**fixtures["resources"]["checkout.session"], "id": "cs_not_ours", "metadata": {}}
    payload = {
        "id": STUCK_EVENT,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "type": "checkout.session.completed",
        "created": int(datetime.now(UTC).timestamp()) - 1200,
        "livemode": False,
        "data": {"object": session},
    }
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO webhooks_webhookevent (id, type, source, account, livemode, created, api_version, payload,"
            " status, ignored_reason, attempts, last_error, received_at, updated_at)"
            " VALUES (?, ?, 'platform', '', 0, ?, ?, ?, 'pending', '', 0, '', ?, ?)",
            (
                STUCK_EVENT,
                payload["type"],
                payload["created"],
                payload["api_version"],
                json.dumps(payload),
                long_ago,
                long_ago,
            ),
        )


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    web_port, sandbox_port = free_port(), free_port()
    env = demo_env(tmp, web_port, sandbox_port)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    insert_stuck_event(tmp / "db.sqlite3")
    process = subprocess.Popen(
        [*manage, "run_demo", "--addr", f"127.0.0.1:{web_port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the teardown can end everything it started
    )
    running = Demo(f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{sandbox_port}", tmp / "db.sqlite3", process)
    reader = threading.Thread(target=running.read_output, daemon=True)
    reader.start()
    try:
        running.wait_for_output(READY, timeout=240)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C: run_demo stops its children
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of the demo's group still alive
        reader.join(timeout=10)
