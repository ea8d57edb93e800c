"""A shop that stops selling (paused by an admin, disabled by Stripe) with Checkout Sessions open:
they are expired at Stripe, so none can be paid; a payment that lands anyway is refunded in full,
with a sentence on the order page and an email. Against the sandbox, USD and JPY."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core import mail
from django.urls import reverse

from catalog.models import Listing
from marketplace.errors import Conflict
from marketplace.gateway import checkout as gateway_checkout
from orders import services
from orders.models import Order, OrderStatus
from payments.models import Refund, RefundOrigin, RefundStatus
from payouts.models import ApplicationFeeRefund, TransferReversal
from sellers.models import Seller
from sellers.services import seller_pause, seller_refresh_from_stripe
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.sellers.conftest import set_requirements

pytestmark = pytest.mark.django_db

SHOP_STOPPED = "This shop stopped taking orders before you paid, so the order was canceled. Nothing was charged."
SHOP_STOPPED_REFUNDED = (
    "Your payment arrived after this shop stopped taking orders, so we refunded you in full; "
    "the refund shows on your statement within 5 to 10 days."
)


def _open_order(sandbox: Any, currency: str, price: int) -> tuple[Any, Any, Listing, Order]:
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=price, stock=3)
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 2)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    return seller, buyer, listing, order


def _session(order: Order) -> dict[str, Any]:
    return gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id), expand_payment=False)


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_pausing_a_seller_expires_their_open_sessions_so_they_cannot_be_paid(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, price: int
) -> None:
    seller, buyer, listing, order = _open_order(sandbox, currency, price)
    assert Listing.objects.get(pk=listing.pk).stock == 1
    with django_capture_on_commit_callbacks(execute=True):
        seller_pause(seller=seller, actor=make_platform_admin(), reason="Counterfeit reports")
    assert _session(order).status == "expired"
    order.refresh_from_db()
    assert (order.status, order.status_message) == (OrderStatus.CANCELED, SHOP_STOPPED)
    assert Listing.objects.get(pk=listing.pk).stock == 3
    paid = requests.post(
        f"{sandbox.url}/_sandbox/checkout/sessions/{order.checkout_session_id}/pay", json={"card": "4242424242424242"}
    )
    assert paid.status_code >= 400, "an expired session cannot be paid"
    assert services.orders_close_checkouts_of_seller(seller_id=seller.pk) == 0  # run twice: nothing more
    page = signed_in(buyer).get(reverse("order_detail", args=[order.pk])).content.decode()
    assert SHOP_STOPPED in page


@pytest.mark.parametrize(("currency", "price"), [("usd", 4_000), ("jpy", 4_000)])
def test_a_payment_that_lands_after_the_pause_is_refunded_in_full_with_a_sentence_and_an_email(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, price: int
) -> None:
    seller, buyer, listing, order = _open_order(sandbox, currency, price)
    # The buyer pays in the moment between the pause and the expiry reaching Stripe.
    seller_pause(seller=seller, actor=make_platform_admin(), reason="Paused during payment")
    pay(sandbox, str(order.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(buyer).get(
            reverse("checkout_success"), {"session_id": order.checkout_session_id}, follow=True
        )
    assert response.status_code == 200
    assert SHOP_STOPPED_REFUNDED in response.content.decode()
    assert "Thank you" not in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.payment.amount_refunded, order.status_message) == (
        OrderStatus.REFUNDED,
        2 * price,
        SHOP_STOPPED_REFUNDED,
    )
    charge = gateway_checkout.payment_intent_retrieve(order.payment.stripe_payment_intent_id).latest_charge
    assert (charge.amount_refunded, charge.currency) == (2 * price, currency)
    assert Listing.objects.get(pk=listing.pk).stock == 3, "nothing is held for a refunded order"
    assert [m.to for m in mail.outbox] == [[buyer.email]]
    assert "refunded" in mail.outbox[0].subject and SHOP_STOPPED_REFUNDED in mail.outbox[0].body

    # The expiry follow-up and a retried webhook come later: nothing is refunded twice.
    with django_capture_on_commit_callbacks(execute=True):
        services.orders_close_checkouts_of_seller(seller_id=seller.pk)
        services.order_sync_from_stripe(order=order)
    charge = gateway_checkout.payment_intent_retrieve(order.payment.stripe_payment_intent_id).latest_charge
    assert charge.amount_refunded == 2 * price and len(mail.outbox) == 1

    # The refund went through the one refund path: a Refund row, the seller's share and the fee
    # taken back and posted, so the ledger still equals Stripe for the platform and the seller.
    refund = Refund.objects.get()
    assert (refund.origin, refund.status, refund.amount, refund.order_id) == (
        RefundOrigin.LATE_PAYMENT,
        RefundStatus.SUCCEEDED,
        2 * price,
        order.pk,
    )
    assert TransferReversal.objects.get().amount == 2 * price
    assert ApplicationFeeRefund.objects.get().amount == order.application_fee_amount
    assert stripe_balances(str(seller.stripe_account_id)) == {}
    assert_ledger_equals_stripe()


def test_a_seller_disabled_by_stripe_has_their_open_sessions_expired(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seller, _, listing, order = _open_order(sandbox, "usd", 1_800)
    set_requirements(
        sandbox,
        str(seller.stripe_account_id),
        currently_due=["individual.verification.document"],
        disabled_reason="requirements.past_due",
    )
    with django_capture_on_commit_callbacks(execute=True):
        seller_refresh_from_stripe(seller=seller)  # what the account.updated webhook does
    seller.refresh_from_db()
    assert not seller.charges_enabled
    assert _session(order).status == "expired"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED and Listing.objects.get(pk=listing.pk).stock == 3


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_stripe_refusing_a_shop_our_row_still_calls_able_tells_the_buyer_about_the_shop(
    sandbox: Any, currency: str, price: int
) -> None:
    """Stripe disabled the shop and its account.updated is late (or lost): our row still says it sells.
    Paying (the cart's Checkout, Buy now with a saved card) flashed Stripe's sentence for developers,
    "Your destination account needs to have at least one of the following capabilities enabled:
    transfers, crypto_transfers, legacy_payments", and the listing stayed on sale. The shop's account
    is read again (its listings hide) and the buyer reads that the shop can't take orders."""
    from tests.orders.test_saved_cards import buy_now, saved_card

    seller = active_seller(sandbox, currency=currency, shop="Stale Studio")
    listing = listing_of(seller, price=price, stock=5)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))
    due = ["individual.verification.document"]
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=due, past_due=due)  # no webhook here
    seller.refresh_from_db()
    assert seller.charges_enabled, "our row has not heard yet"

    with pytest.raises(Conflict) as refused:
        services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency=currency, **URLS)
    assert refused.value.code == "seller_cannot_sell"
    assert refused.value.message.startswith("Stale Studio can't take orders right now")
    seller.refresh_from_db()
    assert not seller.charges_enabled
    assert not Listing.objects.visible().filter(pk=listing.pk).exists()
    listing.refresh_from_db()
    assert listing.stock == 5, "the reservation is released"

    # Buy now, from a page drawn before: the row is stale again (as it was for the cart).
    Seller.objects.filter(pk=seller.pk).update(charges_enabled=True, status="active")
    card = saved_card(sandbox, buyer, "pm_card_visa")
    with pytest.raises(Conflict) as refused:
        buy_now(buyer, listing, card, "c" * 32)
    assert refused.value.message.startswith("Stale Studio can't take orders right now")
    assert not Seller.objects.get(pk=seller.pk).charges_enabled
    assert not Order.objects.filter(status=OrderStatus.PENDING_PAYMENT).exists()

    # Subscribe, the listing now sold by subscription, the row stale once more.
    from subscriptions import services as subscription_services

    Seller.objects.filter(pk=seller.pk).update(charges_enabled=True, status="active")
    subscription_services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    with pytest.raises(Conflict) as refused:
        subscription_services.subscription_checkout_start(
            buyer=buyer, listing_id=listing.pk, attempt="d" * 32, success_url="http://a/ok", cancel_url="http://a/"
        )
    assert refused.value.message.startswith("Stale Studio can't take orders right now")
    assert not Seller.objects.get(pk=seller.pk).charges_enabled
