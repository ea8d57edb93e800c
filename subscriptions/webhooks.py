"""Stripe events of subscriptions sold by sellers (all on the platform endpoint: the subscription
and the customer live on the platform). Each re-reads the object through the gateway, so order and
repetition do not matter; `charge.succeeded`, `transfer.created` and `application_fee.created` of
each invoice's charge are handled as for any charge (`orders.webhooks`, `payouts.webhooks`)."""

from __future__ import annotations

from marketplace.gateway.types import Invoice, Subscription
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from subscriptions import services


@webhook_handler("customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted")
def subscription_changed(event: WebhookEvent) -> None:
    services.subscription_sync(stripe_subscription_id=event.stripe_object(Subscription).id)


@webhook_handler("invoice.paid")
def invoice_paid(event: WebhookEvent) -> None:
    """The invoice's charge is posted to the ledger like any charge (see `services.invoice_sync`)."""
    services.invoice_sync(stripe_invoice_id=event.stripe_object(Invoice).id)


@webhook_handler("invoice.voided")
def invoice_voided(event: WebhookEvent) -> None:
    """Stripe voids a first invoice left unpaid for 23 hours itself (the subscription then ends
    `incomplete_expired`), besides the ones we void: the mirror must not keep it open."""
    services.invoice_sync(stripe_invoice_id=event.stripe_object(Invoice).id)


@webhook_handler("invoice.payment_failed")
def invoice_payment_failed(event: WebhookEvent) -> None:
    services.invoice_payment_failed(stripe_invoice_id=event.stripe_object(Invoice).id)


@webhook_handler("invoice.payment_action_required")
def invoice_payment_action_required(event: WebhookEvent) -> None:
    services.invoice_action_required(stripe_invoice_id=event.stripe_object(Invoice).id)
