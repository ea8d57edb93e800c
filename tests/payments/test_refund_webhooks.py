"""Refund events, as the sandbox sends them, through the webhook pipeline (store, then process): in
any order and any number of times, a refund, its transfer reversal and its fee refund are recorded
and posted once; a refund made in the Stripe Dashboard is recorded and flagged when the platform
paid it all; a refund that fails later reopens its amount with a reversing posting. After each, the
ledger equals Stripe for the platform and the seller. USD and JPY."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.test import Client

from marketplace.ledger.models import LedgerTransaction
from payments.models import Payment, Refund, RefundOrigin, RefundStatus
from payments.services import payment_refundable
from payouts.models import ApplicationFeeRefund, TransferReversal
from tests.factories import make_platform_admin
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances
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
    assert "Refund the buyer again without taking it from the seller" in sent.attention
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
