"""Handlers through the webhook pipeline (store, then process), for what the sandbox does not emit
(delayed payment methods) and for deliveries in the wrong order."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from catalog.models import Listing
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import Charge, PaymentIntent
from marketplace.ledger.models import LedgerTransaction
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from orders import services
from orders.models import Order, OrderStatus
from payouts.models import ApplicationFee
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db


def deliver(event_type: str, obj: dict[str, Any]) -> str:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    webhook_event_store(payload=event, source="platform")
    return webhook_event_process(event_id=event["id"]).status


def pending_order(sandbox: Any, stock: int = 1) -> Order:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=3_000, stock=stock)
    buyer = UserFactory()
    return services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency="usd", **URLS
    ).order


def session_obj(sandbox: Any, order: Order, **fields: Any) -> dict[str, Any]:
    """The order's session as the sandbox has it, with `fields` as the event says they were."""
    session = client_for(sandbox).v1.checkout.sessions.retrieve(str(order.checkout_session_id))
    return {**session.to_dict(), **fields}


def test_async_payment_failed_closes_the_order_and_releases_stock(sandbox: Any) -> None:
    order = pending_order(sandbox)
    status = deliver("checkout.session.async_payment_failed", session_obj(sandbox, order, payment_status="unpaid"))
    assert status == "processed"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_FAILED and "did not complete" in order.status_message
    assert Listing.objects.get(pk=order.lines.get().listing_id).stock == 1


def test_an_expired_event_arriving_after_payment_changes_nothing(sandbox: Any) -> None:
    order = pending_order(sandbox)
    pay(sandbox, str(order.checkout_session_id))
    assert deliver("checkout.session.completed", session_obj(sandbox, order, payment_status="paid", status="complete"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert deliver("checkout.session.expired", session_obj(sandbox, order, payment_status="unpaid", status="expired"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.stock_reserved
    assert Listing.objects.get(pk=order.lines.get().listing_id).stock == 0


def test_a_completed_event_still_unpaid_waits_for_the_async_result(sandbox: Any) -> None:
    order = pending_order(sandbox)
    deliver("checkout.session.completed", session_obj(sandbox, order, payment_status="unpaid", status="complete"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.stock_reserved


def test_an_application_fee_event_before_the_charge_posts_once_and_links_to_the_payment(sandbox: Any) -> None:
    """Out of order: `application_fee.created` comes before the payment is recorded. On a destination
    charge the fee's `charge` is the seller's py_ payment; its payment is found later by
    `originating_transaction`, the platform's charge, and the fee is posted once."""
    order = pending_order(sandbox)
    pay(sandbox, str(order.checkout_session_id))
    session = gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id))
    intent = session.payment_intent
    assert isinstance(intent, PaymentIntent) and isinstance(intent.latest_charge, Charge)
    fee = client_for(sandbox).v1.application_fees.retrieve(str(intent.latest_charge.application_fee)).to_dict()
    assert fee["charge"].startswith("py_") and fee["originating_transaction"] == intent.latest_charge.id
    assert deliver("application_fee.created", fee) == "processed"
    assert ApplicationFee.objects.get(stripe_id=fee["id"]).payment is None  # no payment recorded yet

    paid = services.order_sync_from_stripe(order=order)
    assert paid.payment is not None and ApplicationFee.objects.get(stripe_id=fee["id"]).payment == paid.payment
    assert deliver("application_fee.created", fee) == "processed"
    assert LedgerTransaction.objects.filter(source_id=fee["id"], kind="application_fee").count() == 1
