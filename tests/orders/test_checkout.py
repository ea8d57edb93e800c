"""Checkout against the sandbox: destination charge, fee snapshot, idempotency, stock, the paid path."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from catalog.models import CartItem, Listing
from marketplace.errors import Conflict, InvalidInput
from marketplace.gateway import checkout as gateway_checkout
from orders import services
from orders.models import Order, OrderStatus, StripeCustomer
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in

pytestmark = pytest.mark.django_db


def start(buyer: Any, cart: Any, seller: Any) -> services.CheckoutStart:
    return services.checkout_start(
        buyer=buyer, cart=cart, seller_id=seller.pk, currency=seller.default_currency, **URLS
    )


@pytest.mark.parametrize(
    ("currency", "price", "fee", "net"),
    [("usd", 10_000, 1_030, 8_970), ("jpy", 10_000, 1_000, 9_000)],
    ids=["usd-10000-cents", "jpy-10000-yen"],
)
def test_worked_example_destination_charge_with_fee_snapshot(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, price: int, fee: int, net: int
) -> None:
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=price, stock=3)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))

    started = start(buyer, cart, seller)
    order = started.order
    assert (order.amount_total, order.application_fee_amount, order.seller_net) == (price, fee, net)
    assert [line.fee_amount for line in order.lines.all()] == [fee]
    listing.refresh_from_db()
    assert listing.stock == 2, "one unit is reserved while the buyer pays"

    session = gateway_checkout.checkout_session_retrieve(order.checkout_session_id, expand_payment=False)
    assert started.url == session.url
    assert session.client_reference_id == str(order.pk)
    assert session.metadata["order_id"] == str(order.pk)
    assert session.customer == StripeCustomer.objects.get(user=buyer).stripe_customer_id
    assert session.amount_total == price and session.currency == currency
    assert 30 * 60 <= session.expires_at - int(time.time()) <= 32 * 60

    pay(sandbox, session.id)
    with django_capture_on_commit_callbacks(execute=True):
        paid = services.order_sync_from_stripe(order=order)
    assert paid.status == OrderStatus.PAID
    assert paid.payment.stripe_charge_id.startswith("ch_") and paid.payment.transfers.get().stripe_id.startswith("tr_")
    assert paid.payment.application_fees.get().stripe_id.startswith("fee_") and paid.payment.amount == price
    pi = gateway_checkout.payment_intent_retrieve(paid.payment.stripe_payment_intent_id)
    assert pi.application_fee_amount == fee
    assert pi.transfer_data.destination == seller.stripe_account_id
    assert not CartItem.objects.filter(cart=cart).exists(), "what was paid leaves the cart"
    assert sorted(m.to[0] for m in mail.outbox) == sorted([buyer.email, seller.user.email])


def test_fee_is_split_over_lines_by_largest_remainder(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    a, b, c = (listing_of(seller, price=p, title=f"Item {p}") for p in (333, 333, 334))
    buyer = UserFactory()
    order = start(buyer, cart_with(buyer, (a, 1), (b, 1), (c, 1)), seller).order
    assert order.amount_total == 1000 and order.application_fee_amount == 130  # 10 % + 30
    parts = [line.fee_amount for line in order.lines.order_by("id")]
    assert sum(parts) == 130 and max(parts) - min(parts) <= 1


def test_double_click_gives_one_session_and_a_changed_cart_a_new_one(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=2500, stock=5)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))

    first, second = start(buyer, cart, seller), start(buyer, cart, seller)
    assert first.order.pk == second.order.pk and first.url == second.url
    listing.refresh_from_db()
    assert listing.stock == 4, "a double click reserves once"

    cart_with(buyer, (listing, 2))
    changed = start(buyer, cart, seller)
    assert changed.order.pk != first.order.pk and changed.url != first.url
    assert changed.order.amount_total == 5000
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.CANCELED
    listing.refresh_from_db()
    assert listing.stock == 3, "the replaced order's unit went back; the new order holds two"
    assert StripeCustomer.objects.filter(user=buyer).count() == 1


def test_paid_twice_is_one_order_and_one_pair_of_emails(sandbox: Any, django_capture_on_commit_callbacks: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1200)
    buyer = UserFactory()
    order = start(buyer, cart_with(buyer, (listing, 1)), seller).order
    pay(sandbox, str(order.checkout_session_id))
    session = gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(session=session)  # the success page
        services.order_mark_paid(session=session)  # the webhook, a moment later
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert len(mail.outbox) == 2


def test_seller_who_cannot_sell_is_refused_with_a_clear_message(sandbox: Any) -> None:
    seller = active_seller(sandbox, shop="Paused Pottery")
    listing = listing_of(seller, price=1200)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))
    seller.paused_at = timezone.now()
    seller.save(update_fields=["paused_at"])
    with pytest.raises(Conflict) as exc:
        start(buyer, cart, seller)
    assert "Paused Pottery can't take orders right now" in exc.value.message
    assert not Order.objects.exists()


@pytest.mark.parametrize(("currency", "most"), [("usd", "$999,999.99"), ("jpy", "¥99,999,999")], ids=["usd", "jpy"])
def test_a_group_over_the_largest_card_payment_is_refused_before_stripe_is_asked(
    sandbox: Any, currency: str, most: str
) -> None:
    """Each listing's price is capped at Stripe's largest amount, but two of them are not: Stripe
    refuses a charge of more than 8 digits in minor units, so the buyer reads why here, nothing is
    reserved and the cart is kept."""
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=60_000_000, stock=5)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 2))
    with pytest.raises(InvalidInput) as exc:
        start(buyer, cart, seller)
    assert f"more than one card payment can be ({most})" in exc.value.message
    assert not Order.objects.exists()
    listing.refresh_from_db()
    assert listing.stock == 5 and CartItem.objects.get(cart=cart).quantity == 2


def test_short_stock_is_refused_and_the_cart_kept(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1200, stock=3)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 3))
    Listing.objects.filter(pk=listing.pk).update(stock=1)
    with pytest.raises(InvalidInput) as exc:
        start(buyer, cart, seller)
    assert "Only 1 left" in exc.value.message
    assert CartItem.objects.get(cart=cart).quantity == 3


def test_expired_session_releases_stock_and_a_late_payment_is_re_reserved(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1500, stock=1)
    buyer = UserFactory()
    order = start(buyer, cart_with(buyer, (listing, 1)), seller).order
    session = gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id), expand_payment=False)
    pay(sandbox, session.id)
    # The expiry was applied first (the sweeper or an event), the payment comes after.
    services.order_expire(session=session)
    listing.refresh_from_db()
    assert listing.stock == 1 and Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    with django_capture_on_commit_callbacks(execute=True):
        paid = services.order_sync_from_stripe(order=Order.objects.get(pk=order.pk))
    assert paid.status == OrderStatus.PAID
    listing.refresh_from_db()
    assert listing.stock == 0


def test_a_late_payment_for_sold_out_stock_is_refunded_with_a_message(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1500, stock=1)
    late_buyer, other_buyer = UserFactory(), UserFactory()
    order = start(late_buyer, cart_with(late_buyer, (listing, 1)), seller).order
    services.order_expire(
        session=gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id), expand_payment=False)
    )
    other = start(other_buyer, cart_with(other_buyer, (listing, 1)), seller).order  # takes the last unit
    assert other.stock_reserved
    pay(sandbox, str(order.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=True):
        refunded = services.order_sync_from_stripe(order=Order.objects.get(pk=order.pk))
        again = services.order_sync_from_stripe(order=Order.objects.get(pk=order.pk))  # a retried webhook
    assert refunded.status == again.status == OrderStatus.REFUNDED
    refunded.payment.refresh_from_db()  # the refund is sent and recorded once the order's change commits
    assert refunded.payment.amount_refunded == 1500 and "sold out" in refunded.status_message
    charge = gateway_checkout.payment_intent_retrieve(refunded.payment.stripe_payment_intent_id).latest_charge
    assert charge.amount_refunded == 1500, "refunded once, in full"
    assert [m.to for m in mail.outbox] == [[late_buyer.email]] and "refunded" in mail.outbox[0].subject
    listing.refresh_from_db()
    assert listing.stock == 0


def test_canceling_closes_the_session_and_releases_stock(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1500, stock=2)
    buyer = UserFactory()
    order = start(buyer, cart_with(buyer, (listing, 1)), seller).order
    canceled = services.order_cancel(order=order, buyer=buyer)
    assert canceled.status == OrderStatus.CANCELED
    session = gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id), expand_payment=False)
    assert session.status == "expired"
    listing.refresh_from_db()
    assert listing.stock == 2


def test_sweeper_settles_overdue_orders(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1500, stock=2)
    buyer = UserFactory()
    order = start(buyer, cart_with(buyer, (listing, 1)), seller).order
    later = timezone.now() + services.CHECKOUT_LIFETIME + services.SWEEP_GRACE + timezone.timedelta(minutes=5)
    assert services.orders_sweep_expired(now=later) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    listing.refresh_from_db()
    assert listing.stock == 2


def test_the_cart_says_a_group_is_over_the_largest_card_payment_before_pay_is_pressed(sandbox: Any) -> None:
    seller = active_seller(sandbox, currency="jpy")
    listing = listing_of(seller, price=60_000_000, stock=5)
    buyer = UserFactory()
    cart_with(buyer, (listing, 2))
    client = signed_in(buyer)
    (group,) = client.get("/api/v1/cart").json()["groups"]
    assert group["payable"] is False
    page = client.get(reverse("cart")).content.decode()
    assert "more than one card payment can be (¥99,999,999)" in page
    assert 'data-testid="pay-button"' not in page


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_600), ("jpy", 1_600)])
def test_a_cart_line_its_seller_since_sold_by_subscription_is_not_paid_once(
    sandbox: Any, currency: str, price: int
) -> None:
    """The towel was in the cart before its seller made it monthly: paying it once through the cart
    would sell what the seller now sells only by subscription. The cart says so; nothing is made."""
    from subscriptions.services import plan_set

    seller = active_seller(sandbox, currency=currency)
    towel = listing_of(seller, price=price, stock=3, title="Linen tea towel")
    buyer = UserFactory()
    cart = cart_with(buyer, (towel, 1))
    plan_set(seller=seller, listing_id=towel.pk, interval="month")

    with pytest.raises(InvalidInput) as exc:
        start(buyer, cart, seller)
    said = "Now sold by subscription: remove it, and press Subscribe on its page."
    assert exc.value.code == "cart_not_payable" and said in exc.value.message
    assert not Order.objects.exists() and Listing.objects.get(pk=towel.pk).stock == 3
    page = signed_in(buyer).get(reverse("cart")).content.decode()
    assert said in page
