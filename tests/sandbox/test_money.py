"""Worked examples: every balance on both sides checked to the cent (and to the yen)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import stripe

from stripe_sandbox import Sandbox
from stripe_sandbox.money import processing_fee

from .helpers import RETURN_URL, balances, control, destination_session, onboarded_account

DAY = 86400


@pytest.mark.parametrize(
    ("currency", "country", "stripe_fee", "dispute_fee"),
    [("usd", "US", 320, 1500), ("jpy", "JP", 360, 1500)],
)
def test_destination_charge_refund_payout(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str, stripe_fee: int, dispute_fee: int
) -> None:
    seller = onboarded_account(client, sb, country=country)
    assert processing_fee(10_000, currency) == stripe_fee
    session = destination_session(client, seller, 10_000, 1_000, currency)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    assert result["status"] == "succeeded"
    assert result["redirect_url"] == f"http://app/success?session={session.id}"

    pi = client.v1.payment_intents.retrieve(result["payment_intent"])
    charge = client.v1.charges.retrieve(pi.latest_charge, params={"expand": ["balance_transaction"]})
    assert (pi.status, pi.amount_received, pi.application_fee_amount) == ("succeeded", 10_000, 1_000)
    txn = charge.balance_transaction
    assert (txn.amount, txn.fee, txn.net, txn.status) == (10_000, stripe_fee, 10_000 - stripe_fee, "pending")
    assert txn.fee_details[0].type == "stripe_fee"
    assert txn.available_on == txn.created + 2 * DAY

    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount, transfer.destination, transfer.source_transaction) == (10_000, seller, charge.id)
    fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount, fee.account, fee.originating_transaction) == (1_000, seller, charge.id)
    assert fee.charge == transfer.destination_payment
    payment = client.v1.charges.retrieve(transfer.destination_payment, options={"stripe_account": seller})
    assert payment.id.startswith("py_") and payment.amount == 10_000

    # Platform keeps fee minus Stripe's fee; the seller gets the rest; all pending for two days.
    assert balances(client, None, currency) == (0, 1_000 - stripe_fee)
    assert balances(client, seller, currency) == (0, 9_000)

    refund = client.v1.refunds.create(
        params={"charge": charge.id, "amount": 3_000, "reverse_transfer": True, "refund_application_fee": True}
    )
    assert refund.transfer_reversal is not None
    assert client.v1.transfers.retrieve(transfer.id).amount_reversed == 3_000
    assert client.v1.application_fees.retrieve(fee.id).amount_refunded == 300
    # Refunds debit the available balance right away.
    assert balances(client, None, currency) == (-300, 1_000 - stripe_fee)
    assert balances(client, seller, currency) == (-2_700, 9_000)

    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 7_001})
    assert exc.value.param == "amount" and "greater than unrefunded amount" in str(exc.value.user_message)

    control(sb, "clock/advance", seconds=3 * DAY)
    assert balances(client, None, currency) == (700 - stripe_fee, 0)
    payouts = client.v1.payouts.list(options={"stripe_account": seller})
    assert [(p.amount, p.status, p.automatic) for p in payouts.data] == [(6_300, "in_transit", True)]
    assert balances(client, seller, currency) == (0, 0)
    control(sb, "clock/advance", seconds=DAY)
    assert client.v1.payouts.retrieve(payouts.data[0].id, options={"stripe_account": seller}).status == "paid"
    types = [e.type for e in client.v1.events.list(params={"limit": 100}, options={"stripe_account": seller}).data]
    assert "payout.paid" in types and "payout.created" in types and "balance.available" in types


@pytest.mark.parametrize(("currency", "country", "stripe_fee"), [("usd", "US", 320), ("jpy", "JP", 360)])
def test_lost_dispute_recovered_from_seller(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str, stripe_fee: int
) -> None:
    seller = onboarded_account(client, sb, country=country)
    session = destination_session(client, seller, 10_000, 1_000, currency)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000259")
    assert result["status"] == "succeeded"
    pi = client.v1.payment_intents.retrieve(result["payment_intent"])
    disputes = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert len(disputes) == 1
    dispute = disputes[0]
    assert (dispute.status, dispute.amount, dispute.charge) == ("needs_response", 10_000, pi.latest_charge)
    assert dispute.evidence_details.due_by == dispute.created + 7 * DAY
    debit = dispute.balance_transactions[0]
    assert (debit.amount, debit.fee, debit.net) == (-10_000, 1_500, -11_500)
    assert sum(balances(client, None, currency)) == 1_000 - stripe_fee - 11_500

    upload = io.BytesIO(b"proof of delivery")
    upload.name = "receipt.txt"
    file = client.v1.files.create(params={"purpose": "dispute_evidence", "file": upload})
    assert (file.size, file.purpose, file.filename) == (17, "dispute_evidence", "receipt.txt")
    updated = client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "Delivered", "receipt": file.id}, "submit": True}
    )
    assert updated.status == "under_review" and updated.evidence.receipt == file.id
    countered = 1_500 if currency == "usd" else 0  # the US countered fee; JPY's amount is unconfirmed: none
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"charge": dispute.charge})
    assert refused.value.code == "charge_disputed"
    closed = control(sb, f"disputes/{dispute.id}/resolve", outcome="lost")
    assert closed["status"] == "lost"

    # The platform recovers the seller's share (amount - application fee) with a transfer reversal.
    charge = client.v1.charges.retrieve(pi.latest_charge)
    client.v1.transfers.reversals.create(charge.transfer, params={"amount": 9_000})
    assert sum(balances(client, None, currency)) == 1_000 - stripe_fee - 11_500 - countered + 9_000
    assert sum(balances(client, seller, currency)) == 0


def test_won_dispute_reinstates_funds(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 5_000, 500)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000259")
    dispute = client.v1.disputes.list(params={"payment_intent": result["payment_intent"]}).data[0]
    before = sum(balances(client))
    control(sb, f"disputes/{dispute.id}/resolve", outcome="won")
    assert sum(balances(client)) == before + 5_000
    assert client.v1.disputes.retrieve(dispute.id).status == "won"


def _disputed(client: stripe.StripeClient, sb: Sandbox, currency: str = "usd", amount: int = 5_000) -> Any:
    seller = onboarded_account(client, sb, country="JP" if currency == "jpy" else "US")
    session = destination_session(client, seller, amount, amount // 10, currency)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000259")
    return client.v1.disputes.list(params={"payment_intent": result["payment_intent"]}).data[0]


def test_an_update_without_submit_submits_and_a_draft_does_not(client: stripe.StripeClient, sb: Sandbox) -> None:
    """Stripe's `submit` defaults to true: only `submit=false` stages evidence."""
    dispute = _disputed(client, sb)
    staged = {"evidence": {"product_description": "A mug"}, "submit": False}
    draft = client.v1.disputes.update(dispute.id, params=staged)
    assert (draft.status, draft.evidence_details.submission_count, draft.evidence_details.has_evidence) == (
        "needs_response",
        0,
        True,
    )
    sent = client.v1.disputes.update(dispute.id, params={"evidence": {"shipping_carrier": "UPS"}})
    assert (sent.status, sent.evidence_details.submission_count) == ("under_review", 1)
    assert sent.evidence.product_description == "A mug" and sent.evidence_details.past_due is False
    with pytest.raises(stripe.InvalidRequestError, match="under review"):
        client.v1.disputes.update(dispute.id, params={"evidence": {"shipping_carrier": "DHL"}})


@pytest.mark.parametrize(
    ("currency", "magic", "status", "back", "countered"),
    [
        ("usd", "winning_evidence", "won", 5_000, 0),
        ("usd", "losing_evidence", "lost", 0, -1_500),
        ("jpy", "winning_evidence", "won", 5_000, 0),
        ("jpy", "losing_evidence", "lost", 0, 0),
    ],
)
def test_magic_evidence_decides_the_outcome_and_the_countered_fee_follows(
    client: stripe.StripeClient, sb: Sandbox, currency: str, magic: str, status: str, back: int, countered: int
) -> None:
    """Test mode: `winning_evidence` closes the submitted dispute won (the amount and the countered fee come back,
    the dispute fee does not), `losing_evidence` lost (the countered fee stays charged: USD only)."""
    dispute = _disputed(client, sb, currency)
    before = sum(balances(client, None, currency))
    closed = client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": magic}})
    assert closed.status == status
    assert sum(balances(client, None, currency)) == before + back + countered
    fees = client.v1.balance_transactions.list(params={"source": dispute.id, "type": "stripe_fee"}).data
    assert sorted(t.amount for t in fees) == ([] if currency == "jpy" else sorted({-1_500, 1_500 if back else -1_500}))
    types = [e.type for e in client.v1.events.list(params={"limit": 4}).data]
    assert types[0] == "charge.dispute.closed"
    assert ("charge.dispute.funds_reinstated" in types) is (status == "won")
    assert len(closed.balance_transactions) == (2 if back else 1)


def test_the_inquiry_card_opens_an_inquiry_that_moves_no_money(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 5_000, 500)
    before = sum(balances(client))
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000001976")
    inquiry = client.v1.disputes.list(params={"payment_intent": result["payment_intent"]}).data[0]
    assert (inquiry.status, inquiry.balance_transactions) == ("warning_needs_response", [])
    assert sum(balances(client)) == before + 500 - processing_fee(5_000, "usd")  # the sale only
    types = [e.type for e in client.v1.events.list(params={"limit": 10}).data]
    assert "charge.dispute.created" in types and "charge.dispute.funds_withdrawn" not in types
    answered = client.v1.disputes.update(inquiry.id, params={"evidence": {"uncategorized_text": "Delivered"}})
    assert answered.status == "warning_under_review"
    assert control(sb, f"disputes/{inquiry.id}/resolve", outcome="won")["status"] == "warning_closed"
    assert sum(balances(client)) == before + 500 - processing_fee(5_000, "usd")  # no countered fee either
    nr = destination_session(client, seller, 3_000, 300)
    nr_pi = control(sb, f"checkout/sessions/{nr.id}/pay", card="4000000000002685")["payment_intent"]
    assert client.v1.disputes.list(params={"payment_intent": nr_pi}).data[0].reason == "product_not_received"


@pytest.mark.parametrize(("currency", "amount"), [("usd", 5_000), ("jpy", 5_000)])
def test_an_inquirys_payment_can_still_be_refunded_and_a_full_refund_resolves_it(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int
) -> None:
    """stripe.com/docs/disputes, "Inquiries and retrievals": no funds were withdrawn and "the payment it
    relates to can still be refunded"; refunding it "in full ... marks the inquiry or retrieval as resolved"."""
    seller = onboarded_account(client, sb, country="JP" if currency == "jpy" else "US")
    session = destination_session(client, seller, amount, amount // 10, currency)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000001976")
    inquiry = client.v1.disputes.list(params={"payment_intent": result["payment_intent"]}).data[0]
    assert (inquiry.status, inquiry.is_charge_refundable) == ("warning_needs_response", True)
    refund = {"charge": inquiry.charge, "reverse_transfer": True, "refund_application_fee": True}
    client.v1.refunds.create(params={**refund, "amount": 1_000})
    assert client.v1.disputes.retrieve(inquiry.id).status == "warning_needs_response"  # a part: still open
    client.v1.refunds.create(params=refund)
    resolved = client.v1.disputes.retrieve(inquiry.id)
    assert (resolved.status, resolved.is_charge_refundable) == ("warning_closed", False)
    closed = [e for e in client.v1.events.list(params={"limit": 20}).data if e.type == "charge.dispute.closed"]
    assert [e.data.object["id"] for e in closed] == [inquiry.id]
    assert sum(balances(client, seller, currency)) == 0  # the seller's share came back with the refund


def test_past_due_means_a_late_submission_not_the_clock(client: stripe.StripeClient, sb: Sandbox) -> None:
    dispute = _disputed(client, sb)
    control(sb, "clock/advance", seconds=8 * DAY)
    after = client.v1.disputes.retrieve(dispute.id)
    assert (after.status, after.evidence_details.past_due) == ("needs_response", False)
    late = client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "Late but true"}})
    assert (late.status, late.evidence_details.past_due) == ("under_review", True)


def test_evidence_over_150000_characters_is_refused(client: stripe.StripeClient, sb: Sandbox) -> None:
    dispute = _disputed(client, sb)
    with pytest.raises(stripe.InvalidRequestError, match="150,000"):
        client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "x" * 150_001}})
    assert client.v1.disputes.retrieve(dispute.id).status == "needs_response"


def test_separate_charge_and_transfer_with_source_transaction(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller_a = onboarded_account(client, sb, email="a@example.com")
    seller_b = onboarded_account(client, sb, email="b@example.com")
    pi = client.v1.payment_intents.create(
        params={
            "amount": 20_000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
            "transfer_group": "cart_1",
        }
    )
    assert pi.status == "succeeded"
    for seller, amount in ((seller_a, 12_000), (seller_b, 6_000)):
        tr = client.v1.transfers.create(
            params={
                "amount": amount,
                "currency": "usd",
                "destination": seller,
                "source_transaction": pi.latest_charge,
                "transfer_group": "cart_1",
            }
        )
        assert tr.transfer_group == "cart_1"
    assert balances(client, seller_a) == (0, 12_000)
    assert balances(client, seller_b) == (0, 6_000)
    assert sum(balances(client)) == 20_000 - 610 - 18_000
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(
            params={"amount": 5_000, "currency": "usd", "destination": seller_a, "source_transaction": pi.latest_charge}
        )
    # Without source_transaction, only available funds can be transferred.
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(params={"amount": 100, "currency": "usd", "destination": seller_a})
    assert exc.value.code == "balance_insufficient"


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_source_transaction_transfers_inherit_or_create_the_transfer_group(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    """[SCT] "Transfer availability": the charge's group is the transfer's; a charge without one gets
    ``group_<pi>``, written on the charge and on the transfer."""
    seller = onboarded_account(client, sb, country=country)
    grouped = client.v1.payment_intents.create(
        params={
            "amount": 5_000,
            "currency": currency,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
            "transfer_group": "checkout_7",
        }
    )
    tr = client.v1.transfers.create(
        params={
            "amount": 1_000,
            "currency": currency,
            "destination": seller,
            "source_transaction": grouped.latest_charge,
        }
    )
    assert tr.transfer_group == "checkout_7"
    bare = client.v1.payment_intents.create(
        params={
            "amount": 5_000,
            "currency": currency,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    tr = client.v1.transfers.create(
        params={"amount": 1_000, "currency": currency, "destination": seller, "source_transaction": bare.latest_charge}
    )
    assert tr.transfer_group == f"group_{bare.id}"
    assert client.v1.charges.retrieve(bare.latest_charge).transfer_group == f"group_{bare.id}"
    listed = client.v1.transfers.list(params={"transfer_group": f"group_{bare.id}"}).data
    assert [t.id for t in listed] == [tr.id]


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_reversing_a_separate_transfer_needs_the_sellers_available_balance(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    """[SCT] "Reverse transfers": only up to the connected account's available balance; pending funds
    do not count. A destination charge's transfer is not held to it (its refunds check, elsewhere)."""
    seller = onboarded_account(client, sb, country=country)
    pi = client.v1.payment_intents.create(
        params={
            "amount": 10_000,
            "currency": currency,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    tr = client.v1.transfers.create(
        params={"amount": 9_000, "currency": currency, "destination": seller, "source_transaction": pi.latest_charge}
    )
    assert balances(client, seller, currency) == (0, 9_000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.reversals.create(tr.id, params={"amount": 1_000})
    assert exc.value.code == "balance_insufficient"
    assert balances(client, seller, currency) == (0, 9_000)
    assert client.v1.transfers.retrieve(tr.id).amount_reversed == 0
    control(sb, "clock/advance", seconds=3 * DAY)  # the charge's funds are available, and so the transfer's
    payouts = client.v1.payouts.list(options={"stripe_account": seller}).data
    for payout in payouts:  # the daily payout swept them: nothing is available to reverse again
        control(sb, f"payouts/{payout.id}/fail", failure_code="account_closed")
    assert balances(client, seller, currency) == (9_000, 0)
    reversal = client.v1.transfers.reversals.create(tr.id, params={"amount": 4_000})
    assert reversal.amount == 4_000
    assert balances(client, seller, currency) == (5_000, 0)
    client.v1.transfers.reversals.create(tr.id)  # the rest, which the available balance covers
    assert balances(client, seller, currency) == (0, 0)
    assert client.v1.transfers.retrieve(tr.id).reversed is True


def test_available_immediately_card_and_manual_payout(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 10_000, 1_000)
    control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000077")
    assert balances(client, seller) == (9_000, 0)
    payout = client.v1.payouts.create(params={"amount": 4_000, "currency": "usd"}, options={"stripe_account": seller})
    assert (payout.status, payout.automatic) == ("pending", False)
    assert balances(client, seller) == (5_000, 0)
    failed = control(sb, f"payouts/{payout.id}/fail", failure_code="account_closed")
    assert (failed["status"], failed["failure_code"]) == ("failed", "account_closed")
    assert balances(client, seller) == (9_000, 0)
    control(sb, f"accounts/{seller}/bank_account")  # the failure blocked payouts until the bank is updated
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.create(params={"amount": 10_000, "currency": "usd"}, options={"stripe_account": seller})
    assert exc.value.code == "balance_insufficient"
