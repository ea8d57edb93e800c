"""Sandbox tests: pure HTTP against an embedded sandbox through the real SDK; no Django involved."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import client_for

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--disable-gpu", "--disable-quic"],
    }


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
