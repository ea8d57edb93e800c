"""What the benchmark's worker runs besides the app's own handlers.

- `customer_created`: the handler of the plain events (a type the app itself does not handle), one
  real INSERT per event in the handler's transaction, like a handler that records what the event
  brought (a stand-in row: an auth Group named after it). The worker's rate on these is its rate
  without ledger postings.
- `one_row`: the bare one-row Celery task the worker is measured against (issue 18): one INSERT in
  autocommit, none of the pipeline (no event row, no lock, no transaction, no registry), sent and
  run with the same worker settings.
"""

from celery import shared_task
from django.contrib.auth.models import Group
from django.db import connection

from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler

BENCH_TYPE = "customer.created"
BARE_TASK_TABLE = "bench_bare_task"


@webhook_handler(BENCH_TYPE)
def customer_created(event: WebhookEvent) -> None:
    Group.objects.create(name=f"bench:{event.id}")


@shared_task(name="bench.one_row")
def one_row(n: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BARE_TASK_TABLE} (id) VALUES (%s)", [n])  # noqa: S608 - a constant
