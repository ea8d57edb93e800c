"""Stripe events of the seller's side of money. Registered with the webhook pipeline's registry.

Payouts (`payout.*`, on the Connect endpoint) are re-read through the gateway and mirrored, and so
are the seller's bank accounts (`account.external_account.*`, and after a failed payout).

A destination charge's transfer and application fee are usually recorded with the paid charge
(`payments.services`), which names them, and a group order's transfer by the path that made it
(`orders.services.groups`); these events record and post them when they arrive first, and are
no-ops otherwise (same Stripe id, same posting: a group order's transfer carries its platform fee
in its metadata, so the legs are the same). They do not look for the payment: the charge's path
links the rows to it whichever comes first, so each event costs one statement (the posting,
with the seller's ledger lock and the mirror row: `ledger_post_one(with_row=...)`).
"""

from __future__ import annotations

from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.payouts import payout_retrieve
from marketplace.gateway.types import ApplicationFee, Payout, Transfer
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from payouts import services


@webhook_handler("transfer.created")
def transfer_created(event: WebhookEvent) -> None:
    transfer = event.stripe_object(Transfer)
    if transfer.destination:
        _transfer_record(transfer, transfer.destination)


def _transfer_record(transfer: Transfer, destination: str) -> None:
    services.transfer_record(
        transfer_id=transfer.id,
        destination=destination,
        amount=transfer.amount,
        currency=transfer.currency,
        created=transfer.created,
        platform_fee=platform_fee_of(transfer),
    )


def platform_fee_of(transfer: Transfer) -> int | None:
    """The fee the platform kept on a transfer it made for a seller's order in a payment for several
    shops (written in its metadata by `orders`, so this event posts the same legs as the path that
    made it); None for a destination charge's transfer, which Stripe made."""
    raw = transfer.metadata.get("platform_fee")
    if raw is None or not raw.isdigit():
        return None
    return int(raw)


@webhook_handler("application_fee.created")
def application_fee_created(event: WebhookEvent) -> None:
    _fee_record(event.stripe_object(ApplicationFee))


def _fee_record(fee: ApplicationFee) -> None:
    services.application_fee_record(
        application_fee_id=fee.id,
        account=fee.account,
        amount=fee.amount,
        currency=fee.currency,
        created=fee.created,
    )


@webhook_handler("transfer.reversed")
def transfer_reversed(event: WebhookEvent) -> None:
    """Record every reversal of the transfer (the event carries the transfer, not the reversal),
    the transfer itself first if its own event has not come yet."""
    transfer = event.stripe_object(Transfer)
    if not transfer.destination:
        return
    _transfer_record(transfer, transfer.destination)
    for reversal in gateway_checkout.transfer_reversals_list(transfer.id):
        services.transfer_reversal_from_stripe(reversal=reversal, destination=transfer.destination)


@webhook_handler("application_fee.refunded")
def application_fee_refunded(event: WebhookEvent) -> None:
    """Record every refund of the fee (the event carries the fee), the fee itself first."""
    fee = event.stripe_object(ApplicationFee)
    _fee_record(fee)
    for fee_refund in gateway_checkout.application_fee_refunds_list(fee.id):
        services.application_fee_refund_record(fee_refund=fee_refund, application_fee_id=fee.id, account=fee.account)


@webhook_handler(
    "payout.created",
    "payout.updated",
    "payout.paid",
    "payout.failed",
    "payout.canceled",
    "payout.reconciliation_completed",
)
def payout_changed(event: WebhookEvent) -> None:
    """Any payout event is a trigger: the payout is re-read with the seller's `Stripe-Account`
    (events come out of order, and a paid payout can fail later), then mirrored and posted."""
    announced = event.stripe_object(Payout)
    payout = payout_retrieve(payout_id=announced.id, account=event.account or None)
    services.payout_record(payout=payout, account=event.account, seen_at=event.created)
    if payout.status == "failed" and event.account:
        # Stripe disabled the bank account with it: read it now rather than wait for its own event.
        services.bank_accounts_sync(account=event.account)


@webhook_handler(
    "account.external_account.created",
    "account.external_account.updated",
    "account.external_account.deleted",
)
def external_account_changed(event: WebhookEvent) -> None:
    """A seller's bank account changed (errored after a failed payout, its details updated, one
    added or removed): a trigger to read the account's bank accounts again and mirror them."""
    if event.account:
        services.bank_accounts_sync(account=event.account)
