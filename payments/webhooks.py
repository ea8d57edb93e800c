"""Stripe's dispute events (platform endpoint: destination charges are the platform's). Each is a
trigger only: `dispute_sync` re-reads the dispute, so any order and any number of deliveries end in
Stripe's latest state, with the money posted once."""

from __future__ import annotations

from marketplace.gateway.types import Dispute
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from payments.disputes import dispute_sync


@webhook_handler(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)
def dispute_changed(event: WebhookEvent) -> None:
    dispute_sync(dispute_id=event.stripe_object(Dispute).id)
