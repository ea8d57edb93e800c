"""Every event the sandbox sends for the money flows reads as the gateway's typed objects: a seller
onboarded and asked for more, a checkout paid, a refund, a dispute, payouts. The events arrive
signed over HTTP at the live server; the handlers parse `data.object` with the same types, so none
may fail, and each `data.object` the app has a type for parses on its own too."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import types
from marketplace.webhooks.models import WebhookEvent
from orders import services
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
from tests.orders.test_webhooks import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def control(sandbox: Any, path: str, **data: Any) -> Any:
    response = requests.post(f"{sandbox.url}/_sandbox/{path}", json=data, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_every_event_of_the_money_flows_reads_as_typed_objects(sandbox_webhooks: Any, currency: str) -> None:
    sb = sandbox_webhooks
    seller = active_seller(sb, currency=currency)
    buyer = UserFactory()
    listing = listing_of(seller, price=10_000)
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sb, str(order.checkout_session_id))
    assert sb.wait_for_webhooks(10)
    assert wait_until(lambda: type(order).objects.get(pk=order.pk).payment_id is not None)
    order.refresh_from_db()
    gateway_checkout.refund_create(
        charge=order.payment.stripe_charge_id,
        idempotency_ids=("typed-events", order.pk),
        amount=1_000,
        reverse_transfer=True,
        refund_application_fee=True,
    )
    control(sb, f"charges/{order.payment.stripe_charge_id}/dispute")
    control(sb, f"accounts/{seller.stripe_account_id}/requirements", currently_due=["individual.id_number"])
    control(sb, "clock/advance", seconds=3 * 86400)
    assert sb.wait_for_webhooks(15)

    sent = {d["event"] for d in sb.deliveries}
    assert wait_until(lambda: WebhookEvent.objects.filter(pk__in=sent, status__in=["pending"]).count() == 0)
    events = list(WebhookEvent.objects.filter(pk__in=sent))
    assert len(events) == len(sent), "every delivered event is stored"
    assert [(e.type, e.status, e.error_summary) for e in events if e.status in ("failed", "dead")] == []

    seen: dict[str, set[str]] = {}
    for event in events:
        name = event.data_object.get("object")
        if name in types.PARSERS:
            parsed = types.parse_object(event.data_object)
            seen.setdefault(type(parsed).__name__, set()).add(event.type)
    assert set(seen) >= {
        "Account",
        "ApplicationFee",
        "Balance",
        "Capability",
        "Charge",
        "CheckoutSession",
        "Dispute",
        "PaymentIntent",
        "Payout",
        "Transfer",
    }, seen
    handled = {e.type for e in events if e.status == "processed"}
    assert {"checkout.session.completed", "charge.succeeded", "transfer.created", "application_fee.created"} <= handled
    assert {"account.updated", "capability.updated"} <= handled
