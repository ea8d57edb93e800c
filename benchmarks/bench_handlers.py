"""The handler the benchmark's worker runs: a real write (the newest-state upsert) per event."""

from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from marketplace.webhooks.services import stripe_object_advance

BENCH_TYPE = "customer.updated"


@webhook_handler(BENCH_TYPE)
def customer_updated(event: WebhookEvent) -> None:
    stripe_object_advance(event=event)
