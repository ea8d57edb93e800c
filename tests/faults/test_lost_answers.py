"""Stripe does the work and its answer never reaches us (`HangingProxy` in `swallow` mode): the retry
must reach the same result, by sending the same idempotency key (Stripe replays its first answer) or
by reading what Stripe has, and our rows must end as Stripe's. Against a private sandbox, through
the real SDK; nothing inside the gateway is patched."""

from __future__ import annotations

import html
from typing import Any

import pytest
import requests

from marketplace.errors import PaymentProviderError
from marketplace.money import format_money
from payments.disputes import ALREADY_SUBMITTED_AT_STRIPE, ANSWER_LOST_SUBMISSION
from payments.models import Dispute, DisputeStatus, RefundOrigin, RefundStatus, SellerDebt
from payments.recovery import dispute_recover, seller_debts_collect
from payments.services import refund_create, refund_submit
from payouts.models import Payout, Transfer, TransferReversal
from payouts.services import NOTHING_TO_PAY_OUT, PAYOUT_ANSWER_LOST
from tests.factories import make_platform_admin
from tests.faults.conftest import PrivateSandbox
from tests.orders.conftest import active_seller, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process
from tests.payments.test_disputes import control, disputed_order
from tests.payouts.helpers import paid_order, process_connect
from tests.payouts.test_money_pages import NOW as FUNDS_AVAILABLE_AT_ONCE

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TYPED = {"uncategorized_text": "Signed for at the door on the 3rd.", "shipping_carrier": "UPS"}
SUBMIT = {**TYPED, "action": "submit", "confirm": "yes"}


def at_stripe(sandbox: PrivateSandbox, path: str) -> dict[str, Any]:
    """Stripe's object as it is, read past the proxy (whatever its mode)."""
    r = requests.get(f"{sandbox.url}/v1/{path}", headers={"Authorization": "Bearer sk_test_marketplace"}, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def at_stripe_as(sandbox: PrivateSandbox, path: str, account: str) -> dict[str, Any]:
    """A connected account's objects as they are at Stripe, read past the proxy."""
    headers = {"Authorization": "Bearer sk_test_marketplace", "Stripe-Account": account}
    r = requests.get(f"{sandbox.url}/v1/{path}", headers=headers, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def _opened(sandbox: PrivateSandbox, currency: str) -> tuple[Dispute, set[str]]:
    seen: set[str] = set()
    _, _, events = disputed_order(sandbox, currency)
    assert "failed" not in process(events)
    new_events(seen)
    return Dispute.objects.get(), seen


def _page(response: Any) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_submission_whose_answer_was_lost_is_sent_again_with_its_key_and_stripe_replays_it(
    private_sandbox: PrivateSandbox, currency: str
) -> None:
    """The defect: the answer lost, we cleared our "submitted" mark and the retry went with a new key,
    which Stripe refused (the dispute was under review) until its webhook came."""
    dispute, seen = _opened(private_sandbox, currency)
    admin = signed_in(make_platform_admin())
    url = f"/console/disputes/{dispute.pk}/evidence/"

    private_sandbox.proxy.mode = "swallow"
    page = _page(admin.post(url, SUBMIT, follow=True))
    assert ANSWER_LOST_SUBMISSION in page
    assert "Signed for at the door on the 3rd." in page  # kept in the form, to send again
    assert at_stripe(private_sandbox, f"disputes/{dispute.stripe_id}")["evidence_details"]["submission_count"] == 1
    row = Dispute.objects.get()
    assert (row.status, row.submitted_at, row.evidence["shipping_carrier"]) == ("needs_response", None, "UPS")

    private_sandbox.proxy.mode = "forward"
    page = _page(admin.post(url, SUBMIT, follow=True))
    assert "Evidence submitted to the bank." in page and "Stripe refused" not in page
    remote = at_stripe(private_sandbox, f"disputes/{dispute.stripe_id}")
    assert (remote["status"], remote["evidence_details"]["submission_count"]) == ("under_review", 1)
    row = Dispute.objects.get()
    assert (row.status, row.submission_count) == (DisputeStatus.UNDER_REVIEW, 1) and row.submitted_at is not None
    assert "failed" not in process(new_events(seen))
    assert_ledger_equals_stripe()  # the countered fee, charged once, is in the ledger once


@pytest.mark.parametrize(("currency", "retry"), [("usd", "changed"), ("jpy", "draft")])
def test_after_a_lost_submission_another_request_reads_stripes_state_and_says_so(
    private_sandbox: PrivateSandbox, currency: str, retry: str
) -> None:
    """A retry that is not the same request (the text changed, or saved as a draft) cannot be
    replayed; Stripe refuses it, and the page says what happened from Stripe's own state instead of
    passing on Stripe's refusal, and shows what the bank received."""
    dispute, seen = _opened(private_sandbox, currency)
    admin = signed_in(make_platform_admin())
    url = f"/console/disputes/{dispute.pk}/evidence/"
    private_sandbox.proxy.mode = "swallow"
    assert ANSWER_LOST_SUBMISSION in _page(admin.post(url, SUBMIT, follow=True))

    private_sandbox.proxy.mode = "forward"
    again = {**SUBMIT, "shipping_carrier": "UPS Ground"} if retry == "changed" else {**TYPED, "action": "save"}
    page = _page(admin.post(url, again, follow=True))
    assert ALREADY_SUBMITTED_AT_STRIPE in page
    assert "can no longer be updated" not in page and "Draft saved" not in page
    row = Dispute.objects.get()
    assert (row.status, row.submission_count) == (DisputeStatus.UNDER_REVIEW, 1) and row.submitted_at is not None
    assert row.evidence["shipping_carrier"] == "UPS"  # what the bank has, not what was refused
    remote = at_stripe(private_sandbox, f"disputes/{dispute.stripe_id}")
    assert (remote["evidence"]["shipping_carrier"], remote["evidence_details"]["submission_count"]) == ("UPS", 1)
    assert "failed" not in process(new_events(seen))
    assert_ledger_equals_stripe()


def test_accepting_after_a_lost_submission_does_not_close_the_dispute_under_review(
    private_sandbox: PrivateSandbox,
) -> None:
    """Stripe closes a dispute under review too: accepting after a lost submission answer would
    lose the dispute the evidence was just sent for."""
    dispute, seen = _opened(private_sandbox, "usd")
    admin = signed_in(make_platform_admin())
    private_sandbox.proxy.mode = "swallow"
    assert ANSWER_LOST_SUBMISSION in _page(admin.post(f"/console/disputes/{dispute.pk}/evidence/", SUBMIT, follow=True))

    private_sandbox.proxy.mode = "forward"
    page = _page(admin.post(f"/console/disputes/{dispute.pk}/accept/", {"confirm": "yes"}, follow=True))
    assert ALREADY_SUBMITTED_AT_STRIPE in page and "Dispute accepted" not in page
    assert at_stripe(private_sandbox, f"disputes/{dispute.stripe_id}")["status"] == "under_review"
    row = Dispute.objects.get()
    assert (row.status, row.accepted_at) == (DisputeStatus.UNDER_REVIEW, None)
    assert "failed" not in process(new_events(seen))
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "available"), [("usd", 8_970), ("jpy", 9_000)])
def test_a_payout_whose_answer_was_lost_is_found_by_the_next_press_not_said_to_be_nothing(
    private_sandbox: PrivateSandbox, currency: str, available: int
) -> None:
    """Stripe made the payout and its answer was lost: the page drew a new form, whose payout (new
    key, the balance now empty) said "Nothing is available to pay out" while the money was on its way,
    and no payout row until its webhook. The next press sends the lost request again, with its key."""
    seller = active_seller(private_sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    paid_order(private_sandbox, seller, 10_000, card=FUNDS_AVAILABLE_AT_ONCE)
    client = signed_in(seller.user)
    assert client.post("/sell/money/schedule/", {"interval": "manual", "form_token": "m1"}).status_code == 302

    private_sandbox.proxy.mode = "swallow_posts"
    page = _page(client.post("/sell/money/payout/", {"currency": currency, "form_token": "a" * 32}, follow=True))
    assert PAYOUT_ANSWER_LOST in page
    [made] = at_stripe_as(private_sandbox, "payouts", account)["data"]
    assert made["amount"] == available and not Payout.objects.exists()

    private_sandbox.proxy.mode = "forward"
    page = _page(client.post("/sell/money/payout/", {"currency": currency, "form_token": "b" * 32}, follow=True))
    assert f"{format_money(available, currency)} is on its way to your bank account" in page
    assert NOTHING_TO_PAY_OUT.format(currency=currency.upper()) not in page
    [payout] = Payout.objects.filter(account=account)
    assert (payout.stripe_id, payout.amount, payout.currency) == (made["id"], available, currency)
    assert len(at_stripe_as(private_sandbox, "payouts", account)["data"]) == 1
    assert "failed" not in process_connect(account, set())
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_recovery_reversal_whose_answer_was_lost_is_not_taken_twice_nor_owed(
    private_sandbox: PrivateSandbox, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """The seller holds exactly its share. Stripe reversed it and the answer was lost; the outbox's
    retry read the seller's balance again (empty now), reversed nothing and wrote a debt of the whole
    share, which the debt collection then took a second time from the next sale."""
    seller, _, events = disputed_order(private_sandbox, currency)
    account = str(seller.stripe_account_id)
    seen = {e["id"] for e in events}
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    control(private_sandbox, f"disputes/{dispute.stripe_id}/resolve", outcome="lost")
    private_sandbox.proxy.mode = "swallow_posts"
    with django_capture_on_commit_callbacks(execute=True):
        process(new_events(seen))  # the recovery's reversal: made at Stripe, its answer lost
    [made] = at_stripe(private_sandbox, f"transfers/{Transfer.objects.get().stripe_id}/reversals")["data"]
    assert made["amount"] == 10_000
    assert Dispute.objects.get().recovery == "" and not SellerDebt.objects.exists()

    private_sandbox.proxy.mode = "forward"
    dispute_recover(dispute_id=dispute.pk)  # the outbox's retry
    dispute.refresh_from_db()
    recovery = (dispute.recovery, dispute.recovered_amount, dispute.recovery_reversal_id)
    assert recovery == ("recovered", 9_000, made["id"])
    assert not SellerDebt.objects.exists()
    assert len(at_stripe(private_sandbox, f"transfers/{Transfer.objects.get().stripe_id}/reversals")["data"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    assert "failed" not in process_connect(account, set())
    assert TransferReversal.objects.count() == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_debt_collection_whose_answer_was_lost_is_not_collected_twice(
    private_sandbox: PrivateSandbox, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """A seller paid out owes its 9000 share; a later sale leaves it 10800. Stripe reversed 9000 and the
    answer was lost: the next run read the balance again (1800 now), reversed 1800 under a new key and
    still counted 7200 owed, to take again from the next sale."""
    seller, _, events = disputed_order(private_sandbox, currency)
    account = str(seller.stripe_account_id)
    seen = {e["id"] for e in events}
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    requests.post(f"{private_sandbox.url}/_sandbox/clock/advance", json={"seconds": 3 * 86400}, timeout=10)
    assert "failed" not in process_connect(account, set())  # its 9000, paid out to its bank
    control(private_sandbox, f"disputes/{Dispute.objects.get().stripe_id}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    debt = SellerDebt.objects.get()
    assert (debt.amount, debt.collected) == (9_000, 0)
    later = paid_order(private_sandbox, seller, 12_000)  # 10800 for the seller
    transfer = Transfer.objects.get(payment=later.payment)

    private_sandbox.proxy.mode = "swallow_posts"
    with pytest.raises(PaymentProviderError):
        seller_debts_collect(seller=seller)
    [made] = at_stripe(private_sandbox, f"transfers/{transfer.stripe_id}/reversals")["data"]
    assert made["amount"] == 9_000

    private_sandbox.proxy.mode = "forward"
    assert seller_debts_collect(seller=seller) == 9_000  # the next run (the beat job, a balance event)
    debt.refresh_from_db()
    assert (debt.collected, debt.settled_at is not None) == (9_000, True)
    assert len(at_stripe(private_sandbox, f"transfers/{transfer.stripe_id}/reversals")["data"]) == 1
    assert seller_debts_collect(seller=seller) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    assert "failed" not in process_connect(account, set())
    assert TransferReversal.objects.get().amount == 9_000
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_whose_answer_was_lost_is_sent_again_with_its_key_and_recorded_once(
    private_sandbox: PrivateSandbox, currency: str
) -> None:
    """The audit's check of a flow that already holds: the refund's row is written before Stripe is
    called and its key is the row, so the outbox's retry after a lost answer gets Stripe's first
    refund (one refund, one reversal, one fee refund) and the row ends as Stripe's."""
    seller = active_seller(private_sandbox, currency=currency)
    order = paid_order(private_sandbox, seller, 10_000, card=FUNDS_AVAILABLE_AT_ONCE)
    assert order.payment is not None
    row = refund_create(payment=order.payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=order.pk)

    private_sandbox.proxy.mode = "swallow_posts"
    with pytest.raises(PaymentProviderError):
        refund_submit(refund_id=row.pk)
    [made] = at_stripe(private_sandbox, f"refunds?charge={order.payment.stripe_charge_id}")["data"]
    row.refresh_from_db()
    assert made["amount"] == 3_000 and row.status == RefundStatus.CREATED and row.stripe_refund_id is None

    private_sandbox.proxy.mode = "forward"
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED  # the outbox's retry
    row.refresh_from_db()
    assert row.stripe_refund_id == made["id"]
    assert len(at_stripe(private_sandbox, f"refunds?charge={order.payment.stripe_charge_id}")["data"]) == 1
    assert TransferReversal.objects.count() == 1
    assert "failed" not in process(new_events(set()))
    assert_ledger_equals_stripe()
