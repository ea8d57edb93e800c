"""Contract tests: the sandbox's objects against Stripe's OpenAPI spec and the SDK's annotations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from stripe_sandbox import Sandbox
from tests.sandbox.helpers import client_for


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox(retry_base=0.05, max_attempts=3) as sb:
        yield sb


@pytest.fixture
def sb(sandbox_server: Sandbox) -> Sandbox:
    """The shared sandbox, emptied, with webhook deliveries off unless a test turns them on."""
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
def client(sb: Sandbox) -> stripe.StripeClient:
    return client_for(sb)
