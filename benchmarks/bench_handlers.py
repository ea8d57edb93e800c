"""The handler the benchmark's worker runs: one real INSERT per event, in the handler's transaction,
like a handler that records what the event brought (a stand-in row: an auth Group named after it)."""

from django.contrib.auth.models import Group

from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler

BENCH_TYPE = "customer.updated"


@webhook_handler(BENCH_TYPE)
def customer_updated(event: WebhookEvent) -> None:
    Group.objects.create(name=f"bench:{event.id}")
