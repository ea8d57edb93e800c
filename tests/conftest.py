"""Thin shared fixtures. Real parts: Postgres (CI), Redis, the sandbox over HTTP, Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-django's live_server + Playwright's sync API run Django ORM calls from inside an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


def pytest_configure(config: pytest.Config) -> None:
    """Drop test databases left by killed runs (config/settings/test.py names one per process)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    from urllib.parse import urlsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    prefix = f"test_{parts.path.lstrip('/')}_"
    server = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            query = "SELECT datname FROM pg_database WHERE datname LIKE %s"
            for (name,) in conn.execute(query, [prefix + "%"]).fetchall():
                pid = name.removeprefix(prefix)
                if pid.isdigit() and not _alive(int(pid)):
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error:
        pass  # no server yet: pytest-django reports that more clearly


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--disable-gpu", "--disable-quic"]}


AXE_JS = Path(__file__).resolve().parents[1] / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_js() -> Path:
    """axe-core from npm for the accessibility checks: `make axe` (a step of `make pytest`) puts it
    under .cache/, so no test fetches it, from a CDN or anywhere else."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing ({AXE_JS}): run `make axe` (npm installs it into .cache/axe)", pytrace=False)
    return AXE_JS


@pytest.fixture(autouse=True)
def _celery_results_joinable() -> None:
    """Celery's eager `apply` sets a process-wide "joining would block" flag while a task runs and puts
    the old value back after; eager tasks running at once in the live server's threads (webhook
    deliveries) can leave it set, and a later test's `result.get()` then raises "Never call
    result.get() within a task". Each test starts with it cleared."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _ledger_accounts_forgotten() -> None:
    """Every test starts with no ledger account ids kept by the process (`ledger.services`): a
    flush between tests empties the accounts' table, which a posting notices at the cost of a
    statement that a test counting its statements would not expect."""
    from marketplace.ledger.services import ledger_forget_known_accounts

    ledger_forget_known_accounts()


@pytest.fixture(autouse=True)
def clean_cache() -> None:
    """Every test starts with no rate-limit counters. allauth counts logins per client address, and
    every test client is 127.0.0.1: left to add up across tests, a run that signs in often enough
    in a minute got 429s in tests that never meant to hit a limit. Only this run's keys go (their
    prefix is its own, config/settings/test.py): the Redis database is shared with the broker and
    other runs, so it is not flushed."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.clear()  # in this process's memory: nobody else's
        return
    client = backend._cache.get_client(write=True)
    keys = list(client.scan_iter(match=backend.make_key("*"), count=1000))
    if keys:
        client.delete(*keys)
    fallback = getattr(backend, "_fallback", None)  # marketplace.cache: the counters kept while Redis was down
    if fallback is not None:
        fallback.clear()


# --- The Stripe sandbox -----------------------------------------------------------------------
# One sandbox per test session, over HTTP; each test that uses it starts from an empty Stripe
# and points the gateway at it through settings only (nothing inside the gateway is patched).


@pytest.fixture(autouse=True)
def _site_url_is_the_live_server(request: pytest.FixtureRequest) -> None:
    """A browser test's site is the live server: the links of its emails (`SITE_URL`, never the
    request's Host: `marketplace.account_adapter`) must open there."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("settings").SITE_URL = request.getfixturevalue("live_server").url


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from stripe_sandbox import Sandbox

    with Sandbox(retry_base=0.05, max_attempts=3) as server:
        yield server


@pytest.fixture
def sb(sandbox_server: Any) -> Any:
    """The shared sandbox, emptied, with webhook deliveries off unless a test turns them on.

    Needs no Django: the sandbox's own tests and the contract tests use it as it is."""
    sandbox_server.reset()
    sandbox_server.configure_webhooks(
        webhook_url=None,
        webhook_secret=None,
        connect_webhook_url=None,
        connect_webhook_secret=None,
        retry_base=0.05,
        max_attempts=3,
    )
    return sandbox_server


@pytest.fixture
def sandbox(sb: Any, settings: Any) -> Any:
    """The emptied sandbox with the gateway pointed at it through settings."""
    sb.configure_webhooks(max_attempts=4)
    settings.STRIPE_API_BASE = sb.url
    settings.STRIPE_SECRET_KEY = "sk_test_marketplace"
    return sb


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once the socket is closed


@pytest.fixture
def stripe_down(sandbox: Any, settings: Any) -> Any:
    """Turn Stripe off and on again through settings only: `stripe_down(True)` points the gateway
    at a port nobody listens on (no retries), `stripe_down(False)` back at the sandbox."""
    closed_port = _closed_port()

    def switch(down: bool) -> None:
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port}" if down else sandbox.url
        settings.STRIPE_MAX_NETWORK_RETRIES = 0

    return switch


@pytest.fixture
def redis_down(settings: Any) -> Any:
    """Turn the cache's Redis off and on again through settings only: `redis_down(True)` points it
    at a port nobody listens on (each process then uses its own memory, `marketplace.cache`),
    `redis_down(False)` back at the test's Redis."""
    up, closed = settings.CACHES, f"redis://127.0.0.1:{_closed_port()}/0"

    def switch(down: bool) -> None:
        settings.CACHES = {"default": {**up["default"], "LOCATION": closed}} if down else up

    return switch


@pytest.fixture
def sandbox_webhooks(sandbox: Any, live_server: Any, settings: Any) -> Iterator[Any]:
    """The sandbox delivering signed webhooks to this test's live server.

    At the end, deliveries still queued or waiting for a retry are dropped and the one in flight
    is let finish, while this test's database is still there: the live server lives for the whole
    session, and a late delivery would otherwise land in a later test (a 500 where the database
    is closed to it, or a stray event row where it is not)."""
    sandbox.configure_webhooks(
        webhook_url=f"{live_server.url}/webhooks/stripe/",
        webhook_secret=settings.STRIPE_WEBHOOK_SECRETS[0],
        connect_webhook_url=f"{live_server.url}/webhooks/stripe/connect/",
        connect_webhook_secret=settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
    )
    yield sandbox
    sandbox.configure_webhooks(webhook_url=None, connect_webhook_url=None)
    sandbox.reset()
    assert sandbox.wait_for_webhooks(), "a webhook delivery was still running after the test"
