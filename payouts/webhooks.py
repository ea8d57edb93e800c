"""Stripe events of the seller's side of money. Registered with the webhook pipeline's registry.

A destination charge's transfer and application fee are usually recorded with the paid charge
(`payments.services`), which names them; these events record and post them when they arrive first,
and are no-ops otherwise (same Stripe id, same posting). They do not look for the payment: the
charge's path links the rows to it whichever comes first, so each event costs three statements
(the seller's ledger lock, the mirror row, the posting).
"""

from __future__ import annotations

from marketplace.gateway.types import ApplicationFee, Transfer
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from payouts import services


@webhook_handler("transfer.created")
def transfer_created(event: WebhookEvent) -> None:
    transfer = event.stripe_object(Transfer)
    if not transfer.destination:
        return
    services.transfer_record(
        transfer_id=transfer.id,
        destination=transfer.destination,
        amount=transfer.amount,
        currency=transfer.currency,
        created=transfer.created,
    )


@webhook_handler("application_fee.created")
def application_fee_created(event: WebhookEvent) -> None:
    fee = event.stripe_object(ApplicationFee)
    services.application_fee_record(
        application_fee_id=fee.id,
        account=fee.account,
        amount=fee.amount,
        currency=fee.currency,
        created=fee.created,
    )
