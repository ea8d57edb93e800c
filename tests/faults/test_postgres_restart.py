"""Postgres restarted while Stripe's webhooks pour in: the intake never answers 2xx for an event it
did not store, and every event it answered 2xx for is processed exactly once (after the restart, by
the sweeper if the restart cut in between the commit and the processing).

The app runs under gunicorn (2 workers x 4 threads, tasks eager as in the demo) on a private
Postgres cluster of this test's own, which it stops (`pg_ctl -m fast`: every session ended, every
open transaction rolled back) and starts again in the middle of the load.
"""

from __future__ import annotations

import collections
import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.postgres import PrivatePostgres
from tests.webhooks.broker import ROOT, free_port, wait_for
from tests.webhooks.conftest import PLATFORM_URL, make_event, signed
from tests.webhooks.handlers import EFFECT

pytestmark = pytest.mark.slow


@pytest.fixture
def app_on_private_postgres(tmp_path: Path) -> Iterator[tuple[PrivatePostgres, int]]:
    try:
        pg = PrivatePostgres()
    except FileNotFoundError:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": pg.url("marketplace"),
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "WEBHOOK_HANDLER_MODULES": "tests.webhooks.handlers",
        "PYTHONPATH": str(ROOT),
    }
    server = None
    try:
        pg.init()
        pg.create_database("marketplace")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
        port = free_port()
        gunicorn = Path(sys.executable).parent / "gunicorn"
        server = subprocess.Popen(
            [str(gunicorn), "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "gunicorn.log").open("wb"),
        )
        wait_for(lambda: _status(port, "GET", "/healthz") == 200, 30, "gunicorn did not start")
        yield pg, port
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        pg.destroy()


def _status(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


class Load:
    """Threads posting new signed events as fast as the server answers; every answer recorded."""

    def __init__(self, port: int, threads: int = 4) -> None:
        self.port = port
        self.answers: list[tuple[str, int, dict[str, object]]] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.done.is_set():
            event = make_event(EFFECT)
            body, header = signed(event)
            status = _status(
                self.port, "POST", PLATFORM_URL, body, {"Stripe-Signature": header, "Content-Type": "application/json"}
            )
            with self.lock:
                self.answers.append((event["id"], status, event))

    def count(self, ok: bool) -> int:
        with self.lock:
            return sum((200 <= status < 300) == ok for _, status, _ in self.answers)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(60)


def test_postgres_restarted_during_webhook_load_never_a_false_2xx_and_every_2xx_processed_once(
    app_on_private_postgres: tuple[PrivatePostgres, int],
) -> None:
    pg, port = app_on_private_postgres
    with Load(port) as load:
        wait_for(lambda: load.count(ok=True) >= 100, 60, "no load before the restart")
        pg.stop("fast")
        refused_before = load.count(ok=False)
        wait_for(lambda: load.count(ok=False) >= refused_before + 20, 60, "the outage was not noticed")
        pg.start()
        ok_before = load.count(ok=True)
        wait_for(lambda: load.count(ok=True) >= ok_before + 100, 60, "the intake did not come back")

    statuses = collections.Counter(status for _, status, _ in load.answers)
    assert set(statuses) <= {200, 503}, statuses  # refused with 503 (Stripe retries), never a 500
    # Stripe retries what was refused; now it is stored.
    refused = [event for _, status, event in load.answers if status != 200]
    for event in refused:
        body, header = signed(event)
        headers = {"Stripe-Signature": header, "Content-Type": "application/json"}
        assert _status(port, "POST", PLATFORM_URL, body, headers) == 200
    # What beat does: events committed but cut off from their processing are processed now.
    subprocess.run(
        [sys.executable, "manage.py", "stripe_events", "sweep", "--older-than", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": pg.url("marketplace"),
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "WEBHOOK_HANDLER_MODULES": "tests.webhooks.handlers",
        },
        check=True,
        timeout=120,
    )

    answered = {event_id for event_id, status, _ in load.answers}
    with psycopg.connect(pg.url("marketplace")) as conn:
        rows = dict(conn.execute("SELECT id, status FROM webhooks_webhookevent").fetchall())
        effects = collections.Counter(
            name.split(":")[1] for (name,) in conn.execute("SELECT name FROM auth_group WHERE name LIKE 'effect:%'")
        )
    assert answered <= set(rows), "an event answered 2xx (now or on Stripe's retry) is stored"
    assert {rows[event_id] for event_id in answered} == {"processed"}
    assert all(effects[event_id] == 1 for event_id in answered), "each processed exactly once"
    assert statuses[503] >= 20 and statuses[200] >= 200
