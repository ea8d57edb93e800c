"""Writes of the seller's side: mirror a transfer or an application fee, and post it to the ledger.

Each may be learnt twice and in any order: from the paid charge that names it (Stripe creates a
destination charge's transfer and fee with the charge) and from its own webhook
(`transfer.created`, `application_fee.created`). The row is inserted once on its Stripe id (a
second insert does nothing) and the posting is unique on (Stripe id, kind) with the same legs
either way, so it is recorded and posted once; the charge's path links the row to its payment.

Both run inside the caller's database transaction (the webhook's, or the payment's) without a
savepoint of their own: an error aborts the whole change, and a webhook's work stays at three
statements (the seller's ledger lock, the mirror row, the posting: its transaction and legs in one),
which is what keeps the worker's rate with postings on close to its rate without (`make bench-webhooks`).
The lock (`ledger_lock_stripe_account`) makes the charge's path and these events, racing for the
same seller, queue instead of deadlocking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from django.db import transaction
from django.db.models import Sum

from marketplace.errors import Conflict
from marketplace.gateway.types import TransferReversal as StripeTransferReversal
from marketplace.ledger import flows
from marketplace.ledger.services import ledger_lock_stripe_account, ledger_post_one
from payments.models import Payment
from payouts.models import ApplicationFee, ApplicationFeeRefund, Transfer, TransferReversal

Mirror = TypeVar("Mirror", Transfer, ApplicationFee)


def transfer_record(
    *,
    transfer_id: str,
    destination: str,
    amount: int,
    currency: str,
    created: int,
    payment: Payment | None = None,
    platform_fee: int | None = None,
) -> None:
    """Mirror a transfer to a seller and post it (platform balance -> seller balance).

    `platform_fee` is given for a transfer the platform made itself from a payment for several
    shops (`flows.separate_transfer`: the fee it kept by not sending it); None for a destination
    charge's transfer, whose fee is its own application fee object."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=destination)
        _mirror_once(
            Transfer(
                stripe_id=transfer_id,
                destination=destination,
                amount=amount,
                currency=currency,
                payment=payment,
                created_at=when,
            )
        )
        if platform_fee is None:
            posting = flows.transfer(transfer_id=transfer_id, seller=destination, amount=amount, currency=currency)
        else:
            posting = flows.separate_transfer(
                transfer_id=transfer_id, seller=destination, amount=amount, platform_fee=platform_fee, currency=currency
            )
        ledger_post_one(posting=posting, occurred_at=when)


def application_fee_record(
    *,
    application_fee_id: str,
    account: str,
    amount: int,
    currency: str,
    created: int,
    payment: Payment | None = None,
) -> None:
    """Mirror the platform's fee on a seller's payment and post it (seller balance -> platform
    balance, the platform's revenue and the seller's deduction)."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=account)
        _mirror_once(
            ApplicationFee(
                stripe_id=application_fee_id,
                account=account,
                amount=amount,
                currency=currency,
                payment=payment,
                created_at=when,
            )
        )
        posting = flows.application_fee(
            application_fee_id=application_fee_id, seller=account, amount=amount, currency=currency
        )
        ledger_post_one(posting=posting, occurred_at=when)


class NotRecordedYet(Conflict):
    """What a reversal or fee refund belongs to is not recorded yet (its event came first): the
    caller records it first, or the event is retried."""

    code = "not_recorded_yet"


def transfer_reversal_record(
    *,
    reversal_id: str,
    transfer_id: str,
    destination: str,
    amount: int,
    currency: str,
    created: int,
    source_refund: str = "",
    platform_fee_refunded: int | None = None,
) -> TransferReversal:
    """Mirror a transfer reversal (money back from the seller: a refund's share, a dispute's
    recovery) and post it (seller balance -> platform balance). Once per Stripe id, whoever calls
    first (the refund's own recording, `transfer.reversed`); the transfer must be recorded.

    `platform_fee_refunded` is given for a reversal of a transfer the platform made itself (a
    payment for several shops): the part of its fee the platform gives up with it
    (`flows.separate_transfer_reversal`); written in the reversal's metadata so every path posts
    the same legs."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=destination)
        transfer = Transfer.objects.filter(stripe_id=transfer_id).first()
        if transfer is None:
            raise NotRecordedYet(f"Transfer {transfer_id} of reversal {reversal_id} is not recorded yet.")
        TransferReversal.objects.bulk_create(
            [
                TransferReversal(
                    stripe_id=reversal_id,
                    transfer=transfer,
                    amount=amount,
                    currency=currency,
                    source_refund=source_refund,
                    created_at=when,
                )
            ],
            ignore_conflicts=True,
        )
        reversed_total = transfer.reversals.aggregate(total=Sum("amount"))["total"] or 0
        Transfer.objects.filter(pk=transfer.pk).update(amount_reversed=reversed_total)
        if platform_fee_refunded is None:
            posting = flows.transfer_reversal(
                reversal_id=reversal_id, seller=destination, amount=amount, currency=currency
            )
        else:
            posting = flows.separate_transfer_reversal(
                reversal_id=reversal_id,
                seller=destination,
                amount=amount,
                platform_fee_refunded=platform_fee_refunded,
                currency=currency,
            )
        ledger_post_one(posting=posting, occurred_at=when)
        return TransferReversal.objects.get(stripe_id=reversal_id)


def transfer_reversal_from_stripe(*, reversal: StripeTransferReversal, destination: str) -> TransferReversal:
    """`transfer_reversal_record` of the gateway's typed reversal."""
    return transfer_reversal_record(
        reversal_id=reversal.id,
        transfer_id=reversal.transfer,
        destination=destination,
        amount=reversal.amount,
        currency=reversal.currency,
        created=reversal.created,
        source_refund=reversal.source_refund or "",
        platform_fee_refunded=_metadata_amount(reversal.metadata, "platform_fee_refunded"),
    )


def _metadata_amount(metadata: dict[str, str], key: str) -> int | None:
    """An amount we wrote in a Stripe object's metadata (a separate transfer's fee, or the part of it
    a reversal gives back); None when absent."""
    raw = metadata.get(key)
    return int(raw) if raw is not None and raw.isdigit() else None


def application_fee_refund_record(
    *,
    fee_refund_id: str,
    application_fee_id: str,
    account: str,
    amount: int,
    currency: str,
    created: int,
) -> ApplicationFeeRefund:
    """Mirror a refund of the platform's fee (money from the platform's balance back to the
    seller's) and post it. Once per Stripe id; the fee must be recorded."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=account)
        fee = ApplicationFee.objects.filter(stripe_id=application_fee_id).first()
        if fee is None:
            raise NotRecordedYet(f"Application fee {application_fee_id} of {fee_refund_id} is not recorded yet.")
        ApplicationFeeRefund.objects.bulk_create(
            [ApplicationFeeRefund(stripe_id=fee_refund_id, fee=fee, amount=amount, currency=currency, created_at=when)],
            ignore_conflicts=True,
        )
        refunded_total = fee.refunds.aggregate(total=Sum("amount"))["total"] or 0
        ApplicationFee.objects.filter(pk=fee.pk).update(amount_refunded=refunded_total)
        posting = flows.application_fee_refund(
            fee_refund_id=fee_refund_id, seller=account, amount=amount, currency=currency
        )
        ledger_post_one(posting=posting, occurred_at=when)
        return ApplicationFeeRefund.objects.get(stripe_id=fee_refund_id)


def _mirror_once(row: Mirror) -> None:
    """Insert the mirror row unless its Stripe id is there already (one INSERT ... ON CONFLICT DO
    NOTHING), and link it to its payment when this path knows the payment and the row does not."""
    model = type(row)
    model.objects.bulk_create([row], ignore_conflicts=True)
    if row.payment is not None:
        model.objects.filter(stripe_id=row.stripe_id, payment__isnull=True).update(payment=row.payment)
