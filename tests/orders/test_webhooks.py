"""The order lifecycle driven by Stripe's signed webhooks, delivered by the sandbox to the live server."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core import mail

from catalog.models import CartItem
from marketplace.webhooks.models import WebhookEvent
from orders import services
from orders.models import Order, OrderStatus
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def order_mails() -> list[Any]:
    """Order emails only (the seller's onboarding email is also in the outbox)."""
    return [m for m in mail.outbox if "order" in m.subject.lower()]


def status_of(order: Order) -> str:
    return str(Order.objects.get(pk=order.pk).status)


def test_paid_by_webhook_alone_with_all_ids_and_one_pair_of_emails(sandbox_webhooks: Any) -> None:
    seller = active_seller(sandbox_webhooks)
    listing = listing_of(seller, price=10_000)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))
    order = services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS).order

    pay(sandbox_webhooks, str(order.checkout_session_id))
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: status_of(order) == OrderStatus.PAID)
    paid = Order.objects.get(pk=order.pk)
    assert (
        paid.payment.stripe_charge_id
        and paid.payment.transfers.get().stripe_id
        and paid.payment.application_fees.get().stripe_id
        and paid.payment.stripe_payment_intent_id
    )
    assert (paid.amount_total, paid.application_fee_amount, paid.seller_net) == (10_000, 1_030, 8_970)
    assert not CartItem.objects.filter(cart=cart).exists()
    assert sorted(m.to[0] for m in order_mails()) == sorted([buyer.email, seller.user.email])
    processed = WebhookEvent.objects.filter(type="checkout.session.completed", status="processed")
    assert processed.count() == 1

    # Stripe redelivers: nothing moves, no email is sent twice.
    for event_id in WebhookEvent.objects.values_list("id", flat=True):
        requests.post(f"{sandbox_webhooks.url}/_sandbox/events/{event_id}/redeliver", timeout=10).raise_for_status()
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert status_of(order) == OrderStatus.PAID and len(order_mails()) == 2


def test_declined_card_keeps_the_cart_and_the_order_says_why(sandbox_webhooks: Any) -> None:
    seller = active_seller(sandbox_webhooks)
    listing = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))
    order = services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS).order

    result = pay(sandbox_webhooks, str(order.checkout_session_id), card="4000000000000002")
    assert result["status"] == "declined"
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: bool(Order.objects.get(pk=order.pk).payment_error))
    declined = Order.objects.get(pk=order.pk)
    assert declined.status == OrderStatus.PENDING_PAYMENT and "declined" in declined.payment_error.lower()
    assert CartItem.objects.get(cart=cart).quantity == 1
    assert order_mails() == []


def test_failed_authentication_tells_the_buyer_in_plain_words(sandbox_webhooks: Any) -> None:
    """Stripe's message for a failed 3-D Secure step is written for developers ("The provided
    PaymentMethod has failed authentication..."): the buyer reads our sentence instead."""
    seller = active_seller(sandbox_webhooks)
    listing = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency="usd", **URLS
    ).order
    session_id = str(order.checkout_session_id)

    assert pay(sandbox_webhooks, session_id, card="4000002500003155")["status"] == "requires_action"
    requests.post(
        f"{sandbox_webhooks.url}/_sandbox/checkout/sessions/{session_id}/authenticate",
        json={"outcome": "fail"},
        timeout=10,
    ).raise_for_status()
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: bool(Order.objects.get(pk=order.pk).payment_error))
    failed = Order.objects.get(pk=order.pk)
    assert failed.status == OrderStatus.PENDING_PAYMENT
    assert (
        failed.payment_error == "Your bank could not confirm it was you (3-D Secure). Try again, or use another card."
    )


def test_session_expiry_releases_the_stock(sandbox_webhooks: Any) -> None:
    seller = active_seller(sandbox_webhooks)
    listing = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency="usd", **URLS
    ).order
    listing.refresh_from_db()
    assert listing.stock == 0

    sandbox_webhooks.advance(31 * 60 + 60)
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: status_of(order) == OrderStatus.EXPIRED)
    listing.refresh_from_db()
    assert listing.stock == 1
