"""Writes of the seller's side: mirror a transfer or an application fee, and post it to the ledger.

Each may be learnt twice and in any order: from the paid charge that names it (Stripe creates a
destination charge's transfer and fee with the charge) and from its own webhook
(`transfer.created`, `application_fee.created`). The row is inserted once on its Stripe id (a
second insert does nothing) and the posting is unique on (Stripe id, kind) with the same legs
either way, so it is recorded and posted once; the charge's path links the row to its payment.

Both run inside the caller's database transaction (the webhook's, or the payment's) without a
savepoint of their own: an error aborts the whole change, and a webhook's work stays at four
statements (the seller's ledger lock, the mirror row, the ledger transaction, its legs), which is
what keeps the worker's rate with postings on close to its rate without (`make bench-webhooks`).
The lock (`ledger_lock_stripe_account`) makes the charge's path and these events, racing for the
same seller, queue instead of deadlocking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from django.db import transaction

from marketplace.ledger import flows
from marketplace.ledger.services import ledger_lock_stripe_account, ledger_post_one
from payments.models import Payment
from payouts.models import ApplicationFee, Transfer

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


def _mirror_once(row: Mirror) -> None:
    """Insert the mirror row unless its Stripe id is there already (one INSERT ... ON CONFLICT DO
    NOTHING), and link it to its payment when this path knows the payment and the row does not."""
    model = type(row)
    model.objects.bulk_create([row], ignore_conflicts=True)
    if row.payment is not None:
        model.objects.filter(stripe_id=row.stripe_id, payment__isnull=True).update(payment=row.payment)
