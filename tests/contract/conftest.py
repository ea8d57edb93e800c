"""Contract tests: the sandbox's objects against Stripe's OpenAPI spec and the SDK's annotations."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox
from tests.sandbox.helpers import client_for


@pytest.fixture
def client(sb: Sandbox) -> stripe.StripeClient:
    return client_for(sb)
