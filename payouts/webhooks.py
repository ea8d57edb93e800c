"""Stripe events of the seller's side of money. Registered with the webhook pipeline's registry.

A destination charge's transfer and application fee are usually recorded with the paid charge
(`payments.services`), which names them; these events record and post them when they arrive first,
and are no-ops otherwise (same Stripe id, same posting).
"""

from __future__ import annotations

from marketplace.gateway.types import ApplicationFee, Transfer
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from payments.selectors import payment_of_charge
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
        payment=payment_of_charge(charge_id=transfer.source_transaction) if transfer.source_transaction else None,
    )


@webhook_handler("application_fee.created")
def application_fee_created(event: WebhookEvent) -> None:
    """On a destination charge the fee's `charge` is the seller's `py_` payment; the platform's
    charge is its `originating_transaction`."""
    fee = event.stripe_object(ApplicationFee)
    services.application_fee_record(
        application_fee_id=fee.id,
        account=fee.account,
        amount=fee.amount,
        currency=fee.currency,
        created=fee.created,
        payment=payment_of_charge(charge_id=fee.originating_transaction or fee.charge),
    )
