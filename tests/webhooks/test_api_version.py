"""Events rendered in another Stripe API version than ours are stored, held and shown, never
processed silently in a shape the code was not written for; an admin's replay processes them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent
from tests.factories import make_platform_admin
from tests.webhooks.conftest import PLATFORM_URL, make_event, signed
from tests.webhooks.handlers import EFFECT, effects

OTHER_VERSION = "2024-04-10"


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(make_platform_admin())
    return client


@pytest.mark.django_db
@pytest.mark.usefixtures("handlers")
@pytest.mark.parametrize(("version", "shown"), [(OTHER_VERSION, OTHER_VERSION), (None, "unknown")])
def test_an_event_of_another_api_version_is_stored_held_logged_and_shown(
    admin_client: Client, django_capture_on_commit_callbacks: Any, caplog: Any, version: str | None, shown: str
) -> None:
    event = make_event(EFFECT)
    event["api_version"] = version
    body, header = signed(event)
    with caplog.at_level(logging.ERROR, logger="marketplace.webhooks"), django_capture_on_commit_callbacks() as sent:
        response = admin_client.post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        )

    assert response.status_code == 200 and response.json()["status"] == "held"  # stored: Stripe need not retry
    row = WebhookEvent.objects.get(pk=event["id"])
    assert (row.status, row.api_version) == ("held", version or "")
    assert row.ignored_reason == f"API version {shown} is not ours (2026-10-28.endive): held for an admin"
    assert sent == [] and effects(event["id"]) == 0, "nothing is processed, nothing is enqueued"
    assert any("held" in r.getMessage() and event["id"] in r.getMessage() for r in caplog.records)
    assert services.webhook_event_process(event_id=event["id"]).status == "held"  # a stray task changes nothing
    assert effects(event["id"]) == 0

    listing = admin_client.get("/console/events/?status=held").content.decode()
    assert event["id"] in listing and "Held: other API version" in listing and row.ignored_reason in listing
    detail = admin_client.get(f"/console/events/{event['id']}/").content.decode()
    assert f"<code>{shown}</code> · not ours (<code>2026-10-28.endive</code>)" in detail

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/console/events/{event['id']}/replay/")
    row.refresh_from_db()
    assert (row.status, row.ignored_reason, effects(event["id"])) == ("processed", "", 1), "the admin's replay runs it"


@pytest.mark.django_db
@pytest.mark.usefixtures("handlers")
def test_an_event_of_our_api_version_is_processed_and_not_flagged(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    event = make_event(EFFECT)
    services.webhook_event_store(payload=event, source="platform")
    row = WebhookEvent.objects.get(pk=event["id"])
    assert (row.status, row.api_version, row.ignored_reason) == ("pending", "2026-10-28.endive", "")
    detail = admin_client.get(f"/console/events/{event['id']}/").content.decode()
    assert "<code>2026-10-28.endive</code>" in detail and "not ours" not in detail


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_sandbox_endpoint_on_another_version_holds_the_payment_until_an_admin_replays_it(
    sandbox_webhooks: Any,
) -> None:
    from orders import services as order_services
    from orders.models import Order, OrderStatus
    from tests.factories import UserFactory
    from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
    from tests.orders.test_webhooks import wait_until

    seller = active_seller(sandbox_webhooks)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing_of(seller, price=2_000), 1))
    order = order_services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS).order
    sandbox_webhooks.configure_webhooks(api_version=OTHER_VERSION)  # the endpoint at Stripe pinned elsewhere
    try:
        pay(sandbox_webhooks, str(order.checkout_session_id))
        assert sandbox_webhooks.wait_for_webhooks(10)
    finally:
        sandbox_webhooks.configure_webhooks(api_version="2026-10-28.endive")
    sent = {d["event"] for d in sandbox_webhooks.deliveries if d["type"] == "checkout.session.completed"}
    assert len(sent) == 1
    [completed] = WebhookEvent.objects.filter(pk__in=sent)
    assert (completed.status, completed.api_version) == ("held", OTHER_VERSION)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT, "not processed in another shape"

    client = Client()
    client.force_login(make_platform_admin())
    client.post(f"/console/events/{completed.pk}/replay/")
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID)
    completed.refresh_from_db()
    assert completed.status == "processed"
