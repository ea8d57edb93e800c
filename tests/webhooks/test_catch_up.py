"""The catch-up job: events Stripe still lists but we never received are stored and processed."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.gateway import accounts as gateway_accounts
from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent
from tests.sandbox.helpers import control
from tests.webhooks.conftest import make_seller

pytestmark = pytest.mark.django_db


def test_events_lost_in_delivery_are_stored_and_processed_by_the_catch_up(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Webhook delivery is off in this fixture: whatever Stripe emits now never reaches us.
    account = gateway_accounts.account_create_express(
        seller_id=1, country="US", default_currency="usd", email="shop@example.com", business_name="Blue Mugs"
    )
    seller = make_seller(account.id)
    control(sandbox, f"accounts/{account.id}/requirements", currently_due="individual.id_number")
    assert not WebhookEvent.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):  # the enqueue happens on commit
        stored = services.webhook_events_catch_up(days=30)

    caught = WebhookEvent.objects.filter(type="account.updated", account=account.id)
    assert stored >= 1 and caught.exists()
    assert set(caught.values_list("source", "status")) == {("connect", "processed")}
    seller.refresh_from_db()  # the sellers' handler re-read the account: the missed change is here
    assert seller.currently_due == ["individual.id_number"]
    # Running it again stores nothing new: the inbox is unique on Stripe's event id.
    assert services.webhook_events_catch_up(days=30) == 0
    assert WebhookEvent.objects.count() == stored
