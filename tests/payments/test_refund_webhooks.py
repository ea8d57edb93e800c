"""Refund events, as the sandbox sends them, through the webhook pipeline (store, then process): in
any order and any number of times, a refund, its transfer reversal and its fee refund are recorded
and posted once; a refund made in the Stripe Dashboard is recorded and flagged when the platform
paid it all; a refund that fails later reopens its amount with a reversing posting. After each, the
ledger equals Stripe for the platform and the seller. USD and JPY."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse

from marketplace.errors import InvalidInput
from marketplace.ledger.models import LedgerTransaction
from marketplace.money import format_money
from payments.models import Dispute, Payment, Refund, RefundOrigin, RefundStatus
from payments.services import payment_refundable
from payouts.models import ApplicationFeeRefund, TransferReversal
from tests.factories import make_platform_admin
from tests.orders.conftest import signed_in
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    lose_dispute,
    money_page_row,
    new_events,
    process,
    revenue_lines,
    row_net,
    stripe_balances,
)
from tests.payments.test_refunds import STRIPE_FEE, paid_order, refund
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db

REFUND_EVENTS = {
    "refund.created",
    "charge.refunded",
    "transfer.reversed",
    "application_fee.refunded",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
}


def _advance(sandbox: Any, seconds: int) -> None:
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=10).raise_for_status()


def _kinds() -> list[str]:
    return sorted(LedgerTransaction.objects.values_list("kind", flat=True))


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dashboard_refund_with_reversal_arrives_in_any_order_and_posts_once(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency)
    payment = Payment.objects.get()
    seen = {e["id"] for e in new_events(set())}
    client_for(sandbox, "sk_test_marketplace").v1.refunds.create(
        params={
            "charge": payment.stripe_charge_id,
            "amount": 3_000,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    events = [e for e in new_events(seen) if e["type"] in REFUND_EVENTS]
    assert {e["type"] for e in events} == {
        "refund.created",
        "charge.refunded",
        "transfer.reversed",
        "application_fee.refunded",
    }

    assert set(process(reversed(events))) == {"processed"}
    assert set(process(events, copy=True)) == {"processed"}

    row = Refund.objects.get()
    assert (row.origin, row.status, row.amount, row.order_id, row.attention) == (
        RefundOrigin.DASHBOARD,
        RefundStatus.SUCCEEDED,
        3_000,
        order.pk,
        "",
    )
    assert TransferReversal.objects.get().amount == 3_000 and ApplicationFeeRefund.objects.get().amount == 300
    assert _kinds().count("refund") == 1 and _kinds().count("transfer_reversal") == 1
    assert stripe_balances(str(order.seller.stripe_account_id)) == {currency: 6_300}
    assert_ledger_equals_stripe()
    assert payment_refundable(payment=payment) == 7_000


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dashboard_refund_that_took_nothing_from_the_seller_is_flagged(sandbox: Any, currency: str) -> None:
    paid_order(sandbox, currency)
    payment = Payment.objects.get()
    seen = {e["id"] for e in new_events(set())}
    client_for(sandbox, "sk_test_marketplace").v1.refunds.create(
        params={"charge": payment.stripe_charge_id, "amount": 2_000}
    )
    [charge_refunded] = [e for e in new_events(seen) if e["type"] == "charge.refunded"]
    assert process([charge_refunded]) == ["processed"]  # the charge's event alone finds the refund

    row = Refund.objects.get()
    assert (row.origin, row.reverse_transfer, row.status) == (RefundOrigin.DASHBOARD, False, RefundStatus.SUCCEEDED)
    assert "without taking the seller's share back" in row.attention and "the platform paid" in row.attention
    assert stripe_balances() == {currency: 1_000 - STRIPE_FEE[currency] - 2_000}
    assert_ledger_equals_stripe()

    # The admin sees it under "Refunds to look at" until marking it handled (twice: a double click).
    admin = make_platform_admin()
    client = Client()
    client.force_login(admin)
    assert client.get("/console/refunds/").content.decode().count('data-testid="attention-refund"') == 1
    for said in ("is marked as handled", "was already marked as handled"):
        page = client.post(f"/console/refunds/{row.pk}/handled/", follow=True).content.decode()
        assert said in page and 'data-testid="attention-refund"' not in page and "Nothing to look at." in page
    row.refresh_from_db()
    assert (row.attention_handled_by, row.attention != "") == (admin, True)  # the reason stays
    assert client.post("/console/refunds/999999/handled/").status_code == 404


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_that_fails_later_reopens_its_amount_with_a_reversing_posting(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency, card="4000000000005126")
    sent = refund(order, 2_000)
    assert sent.status == RefundStatus.SUCCEEDED
    seen = {e["id"] for e in new_events(set())}

    _advance(sandbox, 120)
    events = [e for e in new_events(seen) if e["type"] in REFUND_EVENTS]
    assert {e["type"] for e in events} == {"refund.updated", "charge.refund.updated", "refund.failed"}
    assert set(process(reversed(events))) == {"processed"}
    assert set(process(events, copy=True)) == {"processed"}

    sent.refresh_from_db()
    assert (sent.status, sent.failure_code) == (RefundStatus.FAILED, "expired_or_canceled_card")
    assert "failed after it was sent" in sent.failure_message and "open again" in sent.failure_message
    # Read by the buyer too (the order page): the card, not "the buyer's card".
    assert "the card it was going back to has expired or was canceled" in sent.failure_message
    assert "not taken from the seller a second time" in sent.attention
    assert _kinds().count("refund_failure") == 1 and _kinds().count("refund") == 1
    payment = Payment.objects.get()
    assert (payment.amount_refunded, payment_refundable(payment=payment)) == (0, 10_000)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_pending_refund_shows_pending_then_succeeds(sandbox: Any, currency: str) -> None:
    order = paid_order(sandbox, currency, card="4000000000007726")
    sent = refund(order, 2_000)
    assert sent.status == RefundStatus.PENDING
    assert_ledger_equals_stripe()  # Stripe takes a pending refund's money at once
    seen = {e["id"] for e in new_events(set())}
    _advance(sandbox, 120)
    events = [e for e in new_events(seen) if e["type"] in REFUND_EVENTS]
    assert set(process(events)) == {"processed"}
    sent.refresh_from_db()
    assert sent.status == RefundStatus.SUCCEEDED
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("retries", [(3_000, 7_000), (10_000,)], ids=["same-then-rest", "whole"])
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_that_failed_after_taking_the_sellers_share_is_retried_without_taking_it_twice(
    sandbox: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any, currency: str, retries: tuple[int, ...]
) -> None:
    """Card 5126: the refund of 3000 reverses the transfer (3000) and refunds the fee (300) with it,
    then fails at the buyer's bank. Stripe gives the refund's money back to the platform and leaves
    the reversal and the fee refund as they are (nothing documents otherwise; the sandbox keeps them):
    the seller's share sits on the platform's balance. Refunding the 3000 again with
    `reverse_transfer` used to reverse 3000 more (the seller paid twice). The retry now goes without
    `reverse_transfer` and uses the kept reversal; refunding the rest (or everything at once, where
    Stripe reverses only what is left of the transfer) ends with the seller at 0, the platform at
    minus Stripe's fee, each as after one successful refund, and the ledger equal to Stripe."""
    from payouts.selectors import earnings_per_order, order_net

    order = paid_order(sandbox, currency, card="4000000000005126")
    account = str(order.seller.stripe_account_id)
    fee = STRIPE_FEE[currency]
    failed = refund(order, 3_000)
    assert failed.status == RefundStatus.SUCCEEDED and failed.stripe_transfer_reversal_id
    seen = {e["id"] for e in new_events(set())}
    _advance(sandbox, 120)
    with django_capture_on_commit_callbacks(execute=True):
        assert set(process(new_events(seen))) <= {"processed", "ignored"}
    failed.refresh_from_db()
    assert failed.status == RefundStatus.FAILED
    assert "not taken from the seller a second time" in failed.attention
    [to_seller] = [m for m in mailoutbox if m.to == [order.seller.user.email]]
    assert f"Your share of it ({format_money(3_000, currency)})" in to_seller.body
    assert "stays taken back" in to_seller.body and "not taken from you a second time" in to_seller.body
    [to_buyer] = [m for m in mailoutbox if m.to == [order.buyer.email]]
    assert "share" not in to_buyer.body
    seller_page = Client()
    seller_page.force_login(order.seller.user)
    page = seller_page.get(reverse("sell_order_detail", args=[order.pk])).content.decode()
    assert "Your share of it stays taken back: refunding again uses it" in page
    assert stripe_balances(account) == {currency: 6_300}, "the reversal and the fee refund stay"
    assert stripe_balances() == {currency: 3_700 - fee}
    assert_ledger_equals_stripe()
    row = money_page_row(order.seller.user, order.pk)  # the money page says what Stripe's balance says
    assert row_net(row) == format_money(6_300, currency)
    assert "taken back for a refund that failed; the next refund uses it" in row

    first = refund(order, retries[0])
    assert first.status == RefundStatus.SUCCEEDED and first.reverse_transfer
    page = seller_page.get(reverse("sell_order_detail", args=[order.pk])).content.decode()
    assert "refunding again uses it" not in page, "the retry used the kept share: a next refund takes it anew"
    assert "Your share of it was taken back then, and a later refund or a lost dispute used it" in page
    if retries[0] == 3_000:
        assert (first.share_reused, first.stripe_transfer_reversal_id) == (3_000, "")
        assert stripe_balances(account) == {currency: 6_300}, "nothing more taken from the seller"
        assert stripe_balances() == {currency: 700 - fee}
        assert_ledger_equals_stripe()
        [earning] = earnings_per_order(seller_id=order.seller_id)
        assert order_net(earning) == 6_300
        row = money_page_row(order.seller.user, order.pk)
        assert row_net(row) == format_money(6_300, currency) and "refund that failed" not in row
    for amount in retries[1:]:
        assert refund(order, amount).status == RefundStatus.SUCCEEDED
    assert sorted(TransferReversal.objects.values_list("amount", flat=True)) == [3_000, 7_000]
    assert sorted(ApplicationFeeRefund.objects.values_list("amount", flat=True)) == [300, 700]
    assert stripe_balances(account) == {} and stripe_balances() == {currency: -fee}
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=order.seller_id)
    assert order_net(earning) == 0


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_retry_bigger_than_the_kept_reversal_is_refused_with_a_sentence(sandbox: Any, currency: str) -> None:
    """A kept reversal of 3000 covers a retry of up to 3000, and Stripe's refund of everything left
    reverses only what is left of the transfer; a partial refund between the two would need a
    reversal Stripe's refund cannot make alongside the kept one, so it is refused, saying what works."""
    order = paid_order(sandbox, currency, card="4000000000005126")
    refund(order, 3_000)
    seen = {e["id"] for e in new_events(set())}
    _advance(sandbox, 120)
    process(new_events(seen))
    with pytest.raises(InvalidInput) as refused:
        refund(order, 5_000)
    assert refused.value.code == "refund_after_kept_reversal"
    assert "3,000" in refused.value.message or "30.00" in refused.value.message
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_after_a_failed_refund_counts_the_share_that_refund_kept(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The refund of 3000 fails after taking the seller's 3000 back (with 300 of the fee given back);
    then the buyer's bank disputes 5000 and the dispute is lost. The seller owes the dispute's part of
    the sale once: 5000 less its fee's share, 4500. The kept reversal counts first, so the recovery
    reverses 2000 (fee share 200), where it used to reverse all 5000 again (the seller gave back 8000
    less 800). The seller ends at 4500, its money page says so (and why), and the ledger equals Stripe.
    The revenue report counts the kept reversal as recovered for the dispute, not as taken back for
    a refund (the refund failed: nothing was refunded): 5000 lost, 5000 recovered, 500 of the fee
    given back, and its net revenue is the platform's Stripe balance."""
    from payouts.selectors import earnings_per_order, order_net

    order = paid_order(sandbox, currency, card="4000000000005126")
    account = str(order.seller.stripe_account_id)
    failed = refund(order, 3_000)
    seen = {e["id"] for e in new_events(set())}
    _advance(sandbox, 120)
    with django_capture_on_commit_callbacks(execute=True):
        process(new_events(seen))
    failed.refresh_from_db()
    assert failed.status == RefundStatus.FAILED and stripe_balances(account) == {currency: 6_300}
    assert row_net(money_page_row(order.seller.user, order.pk)) == format_money(6_300, currency)

    assert order.payment is not None
    charge = order.payment.stripe_charge_id
    lose_dispute(sandbox, charge_id=charge, amount=5_000, on_commit=django_capture_on_commit_callbacks)

    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert sorted(TransferReversal.objects.values_list("amount", flat=True)) == [2_000, 3_000]
    assert sorted(ApplicationFeeRefund.objects.values_list("amount", flat=True)) == [200, 300]
    assert set(TransferReversal.objects.values_list("for_dispute", flat=True)) == {dispute.stripe_id}
    assert stripe_balances(account) == {currency: 4_500}
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=order.seller_id)
    assert (earning.disputed, order_net(earning)) == (5_000, 4_500)
    row = money_page_row(order.seller.user, order.pk)
    assert row_net(row) == format_money(4_500, currency) and "the lost dispute counted it" in row
    lines = revenue_lines(currency)
    assert (lines["refunds_to_buyers"], lines["refunds_paid_by_platform"]) == (0, 0)
    assert (lines["dispute_losses"], lines["dispute_recoveries"], lines["fees_refunded"]) == (5_000, 5_000, 500)
    assert lines["net_revenue"] == stripe_balances()[currency]
    admin = signed_in(make_platform_admin(email="root@example.com"))  # the console's report says the same
    report = admin.get("/console/revenue.csv").content.decode()
    rows = [r for r in csv.DictReader(io.StringIO(report)) if r["currency"] == currency]
    for line in ("refunds_paid_by_platform", "dispute_recoveries", "net_revenue"):
        assert sum(int(r[line]) for r in rows) == lines[line]
