"""Writes of the seller's side: mirror a transfer or an application fee, and post it to the ledger.

Each may be learnt twice and in any order: from the paid charge that names it (Stripe creates a
destination charge's transfer and fee with the charge) and from its own webhook
(`transfer.created`, `application_fee.created`). The row is upserted on its Stripe id and the
posting is unique on (Stripe id, kind) with the same legs either way, so it is recorded and posted
once. Callers hold the database transaction that makes the row and its posting one change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from marketplace.ledger import flows
from marketplace.ledger.services import ledger_post_all
from payments.models import Payment
from payouts.models import ApplicationFee, Transfer


def transfer_record(
    *,
    transfer_id: str,
    destination: str,
    amount: int,
    currency: str,
    created: int,
    payment: Payment | None = None,
) -> Transfer:
    """Mirror a transfer to a seller and post it (platform balance -> seller balance)."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic():
        row, _ = Transfer.objects.get_or_create(
            stripe_id=transfer_id,
            defaults={"destination": destination, "amount": amount, "currency": currency, "created_at": when},
        )
        if payment is not None and row.payment_id is None:
            Transfer.objects.filter(pk=row.pk, payment__isnull=True).update(payment=payment)
            row.payment = payment
        posting = flows.transfer(transfer_id=transfer_id, seller=destination, amount=amount, currency=currency)
        ledger_post_all(postings=[posting], occurred_at=when)
        return row


def application_fee_record(
    *,
    application_fee_id: str,
    account: str,
    amount: int,
    currency: str,
    created: int,
    payment: Payment | None = None,
) -> ApplicationFee:
    """Mirror the platform's fee on a seller's payment and post it (seller balance -> platform
    balance, the platform's revenue and the seller's deduction)."""
    when = datetime.fromtimestamp(created, tz=UTC)
    with transaction.atomic():
        row, _ = ApplicationFee.objects.get_or_create(
            stripe_id=application_fee_id,
            defaults={"account": account, "amount": amount, "currency": currency, "created_at": when},
        )
        if payment is not None and row.payment_id is None:
            ApplicationFee.objects.filter(pk=row.pk, payment__isnull=True).update(payment=payment)
            row.payment = payment
        posting = flows.application_fee(
            application_fee_id=application_fee_id, seller=account, amount=amount, currency=currency
        )
        ledger_post_all(postings=[posting], occurred_at=when)
        return row
