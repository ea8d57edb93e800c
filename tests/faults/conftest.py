"""Fault tests: each starts the real service it breaks (a private redis-server, a private sandbox,
a private Postgres cluster) so that killing it disturbs no other test run on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stripe_sandbox import Sandbox
from tests.faults.proxy import HangingProxy
from tests.orders.conftest import default_fees  # noqa: F401 - autouse: the platform's fee rules
from tests.webhooks.conftest import redis_broker  # noqa: F401 - a private Redis as the broker


class PrivateSandbox:
    """A sandbox of this test's own, that can be killed and started again on the same port with its
    state (a state file), behind a proxy that can make it hang."""

    def __init__(self, state: Path) -> None:
        self.state = str(state)
        self.server: Sandbox = Sandbox(state_file=self.state, retry_base=0.05, max_attempts=3).start()
        self.port = self.server.port
        self.url = self.server.url  # where buyers and the control API reach it
        self.proxy = HangingProxy(self.port).start()

    def kill(self) -> None:
        self.server.stop()
        self.proxy.cut()  # its handler threads would go on serving kept-alive connections

    def restart(self) -> None:
        self.server = Sandbox(state_file=self.state, port=self.port, retry_base=0.05, max_attempts=3).start()

    def close(self) -> None:
        self.proxy.stop()
        self.server.stop()


@pytest.fixture
def private_sandbox(tmp_path: Path, settings: Any) -> Iterator[PrivateSandbox]:
    """The gateway talks to a private sandbox through a proxy (`.proxy.mode` makes it hang), with
    short timeouts so that a hang costs seconds, and no SDK retries unless a test asks."""
    sandbox = PrivateSandbox(tmp_path / "sandbox.json")
    settings.STRIPE_API_BASE = sandbox.proxy.url
    settings.STRIPE_SECRET_KEY = "sk_test_marketplace"
    settings.STRIPE_CONNECT_TIMEOUT = 1.0
    settings.STRIPE_READ_TIMEOUT = 1.0
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    try:
        yield sandbox
    finally:
        sandbox.close()
