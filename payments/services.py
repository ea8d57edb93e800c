"""Writes of payments: record a paid charge once, with its ledger postings, in one transaction.

`payment_record_charge` is the one path from "Stripe says this charge succeeded" to a `Payment`
row and the ledger. It is reached from the Checkout Session (webhook, success page, sweeper) and
from `charge.succeeded`, in any order and maybe twice, so it upserts on the charge id and posts
with sources unique on (Stripe id, kind): the second caller changes nothing.

A destination charge is posted whole from the charge: the charge less Stripe's processing fee
(read from the charge's balance transaction, Stripe's figure, never our own guess), the transfer
of the whole amount to the seller and the application fee taken back, since Stripe makes all three
at once. Their own webhooks (`transfer.created`, `application_fee.created`, `payouts.webhooks`)
post the same legs under the same sources, so whichever comes first posts.

Reading the balance transaction may need Stripe: that happens before the database transaction
opens, and an outage raises `PaymentProviderError`, so the webhook is retried and nothing is
half-posted.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from marketplace.errors import PaymentProviderError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import BalanceTransaction, Charge, Refund
from marketplace.ledger import flows
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.services import ledger_lock_stripe_account, ledger_post_one
from payments.models import Payment, PaymentStatus
from payouts.services import application_fee_record, transfer_record


def charge_with_balance_transaction(*, charge: Charge) -> tuple[Charge, BalanceTransaction]:
    """The charge with its balance transaction expanded, re-read through the gateway when it is not
    (as in a `charge.succeeded` event). Callers that lock rows call this first, so that no lock is
    held while Stripe answers. Stripe unreachable, or a charge with no balance transaction yet,
    raises `PaymentProviderError`."""
    if not isinstance(charge.balance_transaction, BalanceTransaction):
        charge = gateway_checkout.charge_retrieve(charge.id)
    balance_txn = charge.balance_transaction
    if not isinstance(balance_txn, BalanceTransaction):
        raise PaymentProviderError(f"Charge {charge.id} has no balance transaction yet.", code="charge_not_settled")
    return charge, balance_txn


def payment_record_charge(*, charge: Charge) -> Payment | None:
    """Record a succeeded charge and post it; None for a charge that has not succeeded.

    Re-reads the charge through the gateway when its balance transaction is not expanded (as in a
    `charge.succeeded` event). Idempotent: a payment already recorded is returned as it is, with
    only its refunded amount moved forward.
    """
    if charge.status != "succeeded":
        return None
    charge, balance_txn = charge_with_balance_transaction(charge=charge)
    when = datetime.fromtimestamp(charge.created, tz=UTC)
    destination = charge.transfer_data.destination if charge.transfer_data else None
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=destination or "")  # first: see its docstring
        payment, _ = Payment.objects.get_or_create(
            stripe_charge_id=charge.id,
            defaults={
                "stripe_payment_intent_id": charge.payment_intent or charge.id,
                "stripe_balance_transaction_id": balance_txn.id,
                "currency": charge.currency,
                "amount": charge.amount,
                "amount_refunded": charge.amount_refunded,
                "stripe_fee": balance_txn.fee,
                "created_at": when,
            },
        )
        if charge.amount_refunded > payment.amount_refunded:
            payment_record_refunded(payment=payment, amount_refunded=charge.amount_refunded)
        posting = flows.charge(
            charge_id=charge.id, amount=charge.amount, stripe_fee=balance_txn.fee, currency=charge.currency
        )
        ledger_post_one(posting=posting, occurred_at=when)
        if destination and charge.transfer:
            amount = charge.transfer_data.amount if charge.transfer_data and charge.transfer_data.amount else None
            transfer_record(
                transfer_id=charge.transfer,
                destination=destination,
                amount=amount or charge.amount,
                currency=charge.currency,
                created=charge.created,
                payment=payment,
            )
        if destination and charge.application_fee and charge.application_fee_amount:
            application_fee_record(
                application_fee_id=charge.application_fee,
                account=destination,
                amount=charge.application_fee_amount,
                currency=charge.currency,
                created=charge.created,
                payment=payment,
            )
        return payment


def payment_record_refund(*, payment: Payment, refund: Refund) -> Payment:
    """A refund of (part of) a platform charge that moved no seller's money (a payment for several
    shops, one shop's order refunded before any transfer was made for it): the platform pays the
    buyer back, posted once under the refund's id (`flows.refund`), and the payment's refunded
    amount grows by it once. The caller holds the payment's row lock."""
    when = datetime.fromtimestamp(refund.created, tz=UTC)
    with transaction.atomic(savepoint=False):
        first_time = not LedgerTransaction.objects.filter(source_id=refund.id, kind=flows.PostingKind.REFUND).exists()
        ledger_post_one(
            posting=flows.refund(refund_id=refund.id, amount=refund.amount, currency=refund.currency), occurred_at=when
        )
        if first_time:
            payment = payment_record_refunded(
                payment=payment, amount_refunded=min(payment.amount, payment.amount_refunded + refund.amount)
            )
        return payment


def payment_record_refunded(*, payment: Payment, amount_refunded: int) -> Payment:
    """Stripe says `amount_refunded` of the payment is refunded now (it only grows)."""
    status = PaymentStatus.REFUNDED if amount_refunded >= payment.amount else PaymentStatus.SUCCEEDED
    Payment.objects.filter(pk=payment.pk, amount_refunded__lt=amount_refunded).update(
        amount_refunded=amount_refunded, status=status
    )
    payment.refresh_from_db()
    return payment
