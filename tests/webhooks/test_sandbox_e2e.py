"""End to end with the Stripe sandbox: an API call makes Stripe (the sandbox) emit an event, deliver
it signed over HTTP to our live server, and the pipeline stores and processes it."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from marketplace.webhooks.models import WebhookEvent
from tests.webhooks.conftest import make_seller
from tests.webhooks.handlers import effects

pytestmark = [pytest.mark.usefixtures("handlers"), pytest.mark.slow]


def wait_for_event(event_type: str, timeout: float = 15) -> WebhookEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = WebhookEvent.objects.filter(type=event_type, status="processed").first()
        if event is not None:
            return event
        time.sleep(0.05)
    raise AssertionError(f"no processed {event_type}: {list(WebhookEvent.objects.values('type', 'status'))}")


def test_an_account_change_in_the_sandbox_is_delivered_signed_and_processed(
    sandbox_webhooks: Any, settings: Any
) -> None:
    sdk = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": sandbox_webhooks.url},  # type: ignore[typeddict-item]
    )
    account = sdk.v1.accounts.create({"type": "express", "country": "US", "email": "shop@example.com"})
    make_seller(account.id)
    sdk.v1.accounts.update(account.id, {"metadata": {"shop": "Blue Mugs"}})
    assert sandbox_webhooks.wait_for_webhooks()

    event = wait_for_event("account.updated")
    assert (event.source, event.account, event.attempts) == ("connect", account.id, 1)
    assert event.data_object["metadata"] == {"shop": "Blue Mugs"}  # the change we made, as Stripe sent it
    assert effects(event.pk) == 1
    deliveries = [d for d in sandbox_webhooks.deliveries if d["event"] == event.pk]
    assert deliveries and all(d["status"] == 200 for d in deliveries)
