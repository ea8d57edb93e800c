"""Handlers through the webhook pipeline (store, then process), for what the sandbox does not emit
(delayed payment methods) and for deliveries in the wrong order."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from catalog.models import Listing
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from orders import services
from orders.models import Order, OrderStatus
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


def test_a_late_application_fee_event_finds_the_order_by_the_platform_charge(sandbox: Any) -> None:
    """On a destination charge the fee's `charge` is the seller's py_ payment; the order is found by
    `originating_transaction`, the platform's charge."""
    order = pending_order(sandbox)
    pay(sandbox, str(order.checkout_session_id))
    paid = services.order_sync_from_stripe(order=order)
    fee_id = paid.application_fee_id
    Order.objects.filter(pk=order.pk).update(application_fee_id="")  # as if the session read had not said it
    fee = client_for(sandbox).v1.application_fees.retrieve(fee_id).to_dict()
    assert fee["charge"].startswith("py_") and fee["originating_transaction"] == paid.charge_id
    assert deliver("application_fee.created", fee) == "processed"
    assert Order.objects.get(pk=order.pk).application_fee_id == fee_id
