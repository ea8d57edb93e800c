"""What the benchmark's worker runs besides the app's own handlers.

- `customer_created`: the handler of the plain events (a type the app itself does not handle), one
  real INSERT per event in the handler's transaction, like a handler that records what the event
  brought (a stand-in row: an auth Group named after it): the worker's rate on events of one row.
- `transfer_mirrored`, `application_fee_mirrored`: the money mix with postings off (issue 12).
  They do what `payouts.webhooks` does for `transfer.created` and `application_fee.created` less
  the ledger: read the typed object, insert its mirror row (`INSERT ... ON CONFLICT DO NOTHING`).
  The benchmark sends those events under types the app does not handle (`UNPOSTED`), so the same
  worker runs both with postings on and off, in alternating blocks.
- `one_row`: the bare one-row Celery task the worker is measured against (issue 18): one INSERT in
  autocommit, none of the pipeline (no event row, no lock, no transaction, no registry), sent and
  run with the same worker settings.
"""

from datetime import UTC, datetime

from celery import shared_task
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model

from marketplace.gateway.types import ApplicationFee, Transfer
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from payouts import models as payouts

BENCH_TYPE = "customer.created"
BARE_TASK_TABLE = "bench_bare_task"
# The money events' types with postings off: Stripe types whose handlers here are the app's less the ledger.
UNPOSTED = {"transfer.created": "transfer.updated", "application_fee.created": "application_fee.refund.updated"}


@webhook_handler(BENCH_TYPE)
def customer_created(event: WebhookEvent) -> None:
    Group.objects.create(name=f"bench:{event.id}")


@webhook_handler(UNPOSTED["transfer.created"])
def transfer_mirrored(event: WebhookEvent) -> None:
    transfer = event.stripe_object(Transfer)
    if transfer.destination:
        _mirror(
            payouts.Transfer(
                stripe_id=transfer.id,
                destination=transfer.destination,
                amount=transfer.amount,
                currency=transfer.currency,
                created_at=datetime.fromtimestamp(transfer.created, tz=UTC),
            )
        )


@webhook_handler(UNPOSTED["application_fee.created"])
def application_fee_mirrored(event: WebhookEvent) -> None:
    fee = event.stripe_object(ApplicationFee)
    _mirror(
        payouts.ApplicationFee(
            stripe_id=fee.id,
            account=fee.account,
            amount=fee.amount,
            currency=fee.currency,
            created_at=datetime.fromtimestamp(fee.created, tz=UTC),
        )
    )


def _mirror(row: Model) -> None:
    type(row)._default_manager.bulk_create([row], ignore_conflicts=True)


@shared_task(name="bench.one_row")
def one_row(n: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BARE_TASK_TABLE} (id) VALUES (%s)", [n])  # noqa: S608 - a constant
