"""Disputes: read them, send evidence (files through Stripe's Files API), accept them, and recover
a lost one from the seller (a transfer reversal).

Why here: like every Stripe call, through the one door, returning typed objects. Evidence goes to
the bank with `submit=true` (Stripe's default when `submit` is left out, which is why this module
always says which it means), and "typically you may only submit evidence once", so every changing
call carries an idempotency key from our own ids and its parameters: a retried click or task
never submits twice, and a draft saved with other fields gets a key of its own.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from marketplace import gateway
from marketplace.gateway.types import BalanceTransaction, Dispute, File, TransferReversal


def dispute_retrieve(dispute_id: str) -> Dispute:
    """The dispute as Stripe sees it now (its status, deadline, evidence and balance transactions).
    Webhook handlers re-read through this, since dispute events arrive in any order."""
    return Dispute.from_stripe(gateway.call(gateway.client().v1.disputes.retrieve, dispute_id))


def dispute_update(*, dispute_id: str, evidence: Mapping[str, str], submit: bool, version: int) -> Dispute:
    """Save the evidence at Stripe, staged (`submit=False`) or sent to the bank (`submit=True`).

    `evidence` uses Stripe's field names; a file field holds a `file_...` id from `file_create`.
    A draft's key holds `version`, our own counter of the dispute's evidence saves, so a new save
    with the same fields still reaches Stripe (after another draft changed them). A submission's key
    is its content alone: Stripe takes one, so the same submission sent again (after its answer was
    lost, by the next click) must be the same request, which Stripe answers as it did the first time;
    with a new key Stripe refused it, the dispute being under review by then."""
    params: dict[str, Any] = {"evidence": dict(evidence), "submit": submit}
    if submit:
        key = gateway.idempotency_key("dispute-submit", dispute_id, params=params)
    else:
        key = gateway.idempotency_key("dispute-update", dispute_id, version, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Dispute.from_stripe(gateway.call(gateway.client().v1.disputes.update, dispute_id, params, options))


def dispute_close(*, dispute_id: str) -> Dispute:
    """Accept the dispute: Stripe marks it lost and the funds stay withdrawn. Irreversible."""
    options = gateway.request_options(idempotency_key=gateway.idempotency_key("dispute-close", dispute_id))
    return Dispute.from_stripe(gateway.call(gateway.client().v1.disputes.close, dispute_id, options=options))


def file_create(*, upload_id: int, filename: str, content: bytes) -> File:
    """Upload one evidence file (`purpose=dispute_evidence`) to Stripe's Files API. The key is our
    own upload row and the content's hash, so each file reaches Stripe once."""
    params: dict[str, Any] = {"purpose": "dispute_evidence"}
    digest = hashlib.sha256(content).hexdigest()
    key = gateway.idempotency_key("file-create", upload_id, params={**params, "sha256": digest})
    stream = io.BytesIO(content)
    stream.name = filename
    options = gateway.request_options(idempotency_key=key)
    return File.from_stripe(gateway.call(gateway.client().v1.files.create, {**params, "file": stream}, options))


def balance_transactions_of(*, source: str) -> list[BalanceTransaction]:
    """The platform's balance transactions whose source is `source` (a dispute: its withdrawal, its
    reinstatement, and the countered fee, which the dispute object does not list)."""
    with gateway.translate_errors():
        page = gateway.client().v1.balance_transactions.list({"source": source, "limit": 100})
        return [BalanceTransaction.from_stripe(txn) for txn in page.auto_paging_iter()]


def disputes_of_charge(charge_id: str) -> list[Dispute]:
    """The disputes of a charge (at most one in practice): how a seeder or a check finds the dispute
    of a payment without waiting for its events."""
    with gateway.translate_errors():
        page = gateway.client().v1.disputes.list({"charge": charge_id, "limit": 100})
        return [Dispute.from_stripe(dispute) for dispute in page.auto_paging_iter()]


def transfer_reversal_create(
    *,
    transfer_id: str,
    amount: int,
    refund_application_fee: bool,
    idempotency_ids: Sequence[object],
    metadata: Mapping[str, str] | None = None,
) -> TransferReversal:
    """Take (part of) a transfer back from the seller's connected account: how the platform recovers
    a lost dispute, which Stripe debited from the platform and never reverses by itself. With
    `refund_application_fee` Stripe also gives back the same proportion of the platform's fee, so
    the seller ends as if that part of the sale never happened. `idempotency_ids` are our own ids
    of this recovery (the dispute, or the debt and how much of it was collected before), so a
    retried job reverses once."""
    params: dict[str, Any] = {
        "amount": amount,
        "refund_application_fee": refund_application_fee,
        "metadata": dict(metadata or {}),
    }
    key = gateway.idempotency_key("transfer-reversal-create", *idempotency_ids, params=params)
    options = gateway.request_options(idempotency_key=key)
    reversal = gateway.call(gateway.client().v1.transfers.reversals.create, transfer_id, params, options)
    return TransferReversal.from_stripe(reversal)
