"""Sandbox tests: pure HTTP against an embedded sandbox through the real SDK; no Django involved."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import client_for


@pytest.fixture
def client(sb: Sandbox) -> stripe.StripeClient:
    return client_for(sb)
