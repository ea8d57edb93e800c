"""Refunds move the right money back, against the sandbox over HTTP through the real SDK.

The worked example of the reference (connect-behaviour.md, section a): a destination charge of
10000 with a 1000 application fee and Stripe's fee of 320 (¥360 in JPY); a 3000 refund that
reverses the transfer and refunds the fee leaves the platform 380 and the seller 6300; refunding
the rest leaves the platform -320 (it lost Stripe's fee) and the seller 0. After every step the
ledger equals Stripe's balances for the platform and the seller.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
import requests
from django.db import connection

from fees.services import fee_rule_set
from marketplace.errors import InvalidInput, PaymentProviderError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.ledger.models import LedgerTransaction
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from orders import services as order_services
from orders.models import Order
from payments.models import Payment, Refund, RefundOrigin, RefundStatus
from payments.services import payment_refundable, refund_create, refund_submit
from payouts.models import ApplicationFeeRefund, TransferReversal
from sellers.models import Seller
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances

STRIPE_FEE = {"usd": 320, "jpy": 360}


def paid_order(sandbox: Any, currency: str, *, price: int = 10_000, card: str = "4242424242424242") -> Order:
    """A paid destination charge of `price` with a 10% application fee, recorded by the app."""
    fee_rule_set(currency=currency, basis_points=1000, fixed_amount=0)
    seller = Seller.objects.filter(default_currency=currency).first() or active_seller(sandbox, currency=currency)
    buyer = UserFactory()
    listing = listing_of(seller, price=price)
    order = order_services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id), card=card)
    order = order_services.order_sync_from_stripe(order=order)
    assert order.payment is not None
    return order


def refund(order: Order, amount: int, **kwargs: Any) -> Refund:
    assert order.payment is not None
    row = refund_create(payment=order.payment, amount=amount, origin=RefundOrigin.SELLER, order_id=order.pk, **kwargs)
    return refund_submit(refund_id=row.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_worked_example_partial_then_full_refund(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    fee = STRIPE_FEE[currency]
    assert stripe_balances() == {currency: 1_000 - fee} and stripe_balances(account) == {currency: 9_000}

    partial = refund(order, 3_000)

    assert (partial.status, partial.amount, partial.reverse_transfer, partial.refund_application_fee) == (
        RefundStatus.SUCCEEDED,
        3_000,
        True,
        True,
    )
    assert partial.stripe_refund_id and partial.stripe_transfer_reversal_id
    assert TransferReversal.objects.get().amount == 3_000
    assert ApplicationFeeRefund.objects.get().amount == 300
    assert stripe_balances() == {currency: 700 - fee} and stripe_balances(account) == {currency: 6_300}
    assert_ledger_equals_stripe()
    payment = Payment.objects.get()
    assert (payment.amount_refunded, payment_refundable(payment=payment)) == (3_000, 7_000)

    rest = refund(order, 7_000)

    assert rest.status == RefundStatus.SUCCEEDED
    assert sorted(TransferReversal.objects.values_list("amount", flat=True)) == [3_000, 7_000]
    assert sorted(ApplicationFeeRefund.objects.values_list("amount", flat=True)) == [300, 700]
    assert stripe_balances() == {currency: -fee} and stripe_balances(account) == {}
    assert_ledger_equals_stripe()
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.status, payment_refundable(payment=payment)) == (10_000, "refunded", 0)

    # Submitting again (a retry, a double click reaching the outbox and the page) changes nothing.
    assert refund_submit(refund_id=rest.pk).stripe_refund_id == rest.stripe_refund_id
    assert gateway_checkout.charge_retrieve(payment.stripe_charge_id).amount_refunded == 10_000
    kinds = sorted(LedgerTransaction.objects.values_list("kind", flat=True))
    assert kinds.count("refund") == 2 and kinds.count("transfer_reversal") == 2
    assert kinds.count("application_fee_refund") == 2


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_more_than_what_is_left_is_refused_before_stripe_is_called(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency)
    refund(order, 6_000)
    with pytest.raises(InvalidInput) as refused:
        refund(order, 4_001)
    assert refused.value.code == "refund_exceeds_remaining"
    assert "4,000" in refused.value.message or "40.00" in refused.value.message
    assert Refund.objects.count() == 1
    assert gateway_checkout.charge_retrieve(str(Payment.objects.get().stripe_charge_id)).amount_refunded == 6_000


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_platform_can_absorb_a_refund_without_taking_it_from_the_seller(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    absorbed = refund(order, 3_000, reverse_transfer=False)
    assert (absorbed.status, absorbed.reverse_transfer, absorbed.refund_application_fee) == ("succeeded", False, False)
    assert not TransferReversal.objects.exists() and not ApplicationFeeRefund.objects.exists()
    assert stripe_balances() == {currency: 1_000 - STRIPE_FEE[currency] - 3_000}
    assert stripe_balances(account) == {currency: 9_000}
    assert_ledger_equals_stripe()


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_seller_balance_too_low_for_the_reversal_is_refused_with_a_sentence(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    # The seller's 9000 is paid out to their bank: nothing is left to take the share back from.
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 4 * 86400}, timeout=10).raise_for_status()
    assert stripe_balances(account) == {}

    refused = refund(order, 5_000)

    assert (refused.status, refused.failure_code) == (RefundStatus.FAILED, "balance_insufficient")
    assert "seller's Stripe balance is too low" in refused.failure_message
    assert not refused.stripe_refund_id and not LedgerTransaction.objects.filter(kind="refund").exists()
    payment = Payment.objects.get()
    assert gateway_checkout.charge_retrieve(payment.stripe_charge_id).amount_refunded == 0
    assert payment_refundable(payment=payment) == 10_000, "nothing is recorded as refunded"

    # The admin refunds from the platform alone.
    absorbed = refund(order, 5_000, reverse_transfer=False)
    assert absorbed.status == RefundStatus.SUCCEEDED
    assert gateway_checkout.charge_retrieve(payment.stripe_charge_id).amount_refunded == 5_000


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_stripe_refused_for_the_sellers_balance_reads_to_each_as_theirs(sandbox: Any, currency: str) -> None:
    """The seller whose balance was too low read a sentence for the admin ("The seller's Stripe balance is
    too low ... A platform admin can refund it"), and the buyer a "Failed" refund that never left. The seller
    now reads what happened and what they can do; the buyer sees nothing of a refund Stripe never made.
    Their money here is paid out, nothing pending: "Refund again once your pending funds are available"
    promised funds that were not there, so the sentence names what can cover it, which is always true."""
    order = paid_order(sandbox, currency)
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 4 * 86400}, timeout=10).raise_for_status()
    seller = signed_in(order.seller.user)
    page = seller.post(
        f"/sell/orders/{order.pk}/refund/",
        {"amount": "20" if currency == "jpy" else "0.20", "reason": "Goodwill", "form_token": "t1"},
        follow=True,
    ).content.decode()
    refused = Refund.objects.get()
    assert (refused.status, refused.failure_code, refused.stripe_refund_id) == ("failed", "balance_insufficient", None)
    told = (
        "Stripe refused this refund: your Stripe balance is too low to give back your share of it, so nothing "
        "was refunded. Refund again once your available balance can cover it (money from a sale becomes available "
        "a few days after it), or ask the marketplace to refund it from its own balance."
    )
    assert stripe_balances(str(order.seller.stripe_account_id)) == {}  # paid out: nothing pending
    assert page.count(told) == 2  # the message at the top, and the refund's row
    assert "The seller's" not in page and "A platform admin" not in page

    buyer_page = signed_in(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="refund-row"' not in buyer_page and "Failed" not in buyer_page
    assert "nothing was refunded" not in buyer_page
    # Nor through the API, which listed it to the buyer as a failed refund; the shop still reads it.
    assert signed_in(order.buyer).get(f"/api/v1/orders/{order.pk}").json()["refunds"] == []
    [shop_sees] = seller.get(f"/api/v1/orders/{order.pk}").json()["refunds"]
    assert (shop_sees["status"], shop_sees["amount"]) == ("failed", refused.amount)


@pytest.mark.django_db(transaction=True)
def test_ten_refunds_at_once_never_exceed_the_payment(sandbox: Any) -> None:
    order = paid_order(sandbox, "usd")
    assert order.payment is not None
    payment = order.payment
    made: list[int] = []
    refused: list[str] = []
    start = threading.Barrier(10)

    def one() -> None:
        try:
            start.wait()
            row = refund_create(payment=payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=order.pk)
            made.append(row.pk)
        except InvalidInput as exc:
            refused.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(made), refused) == (3, ["refund_exceeds_remaining"] * 7)
    for refund_id in made:
        assert refund_submit(refund_id=refund_id).status == RefundStatus.SUCCEEDED
    assert gateway_checkout.charge_retrieve(payment.stripe_charge_id).amount_refunded == 9_000
    assert payment_refundable(payment=Payment.objects.get()) == 1_000
    assert_ledger_equals_stripe()


@pytest.mark.django_db
def test_stripe_unreachable_leaves_the_refund_to_the_outbox_which_makes_one_stripe_refund(
    sandbox: Any, settings: Any
) -> None:
    order = paid_order(sandbox, "usd")
    assert order.payment is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES = f"http://127.0.0.1:{closed_port}", 0
    row = refund_create(payment=order.payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=order.pk)
    with pytest.raises(PaymentProviderError):
        refund_submit(refund_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.stripe_refund_id) == (RefundStatus.CREATED, None)
    assert payment_refundable(payment=order.payment) == 7_000, "a refund being sent still counts"

    settings.STRIPE_API_BASE = sandbox.url
    message = OutboxMessage.objects.get(name="payments.refund_submit")
    assert outbox_deliver(message_id=message.pk) == "delivered"
    row.refresh_from_db()
    assert row.status == RefundStatus.SUCCEEDED and row.stripe_refund_id
    assert refund_submit(refund_id=row.pk).stripe_refund_id == row.stripe_refund_id
    assert gateway_checkout.charge_retrieve(order.payment.stripe_charge_id).amount_refunded == 3_000
    assert_ledger_equals_stripe()
