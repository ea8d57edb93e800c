"""Celery tasks of the outbox: thin, ids in, the services do the work."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from marketplace.outbox import services


@shared_task(
    name="outbox.deliver",
    acks_late=True,
    # The follow-up's own failures are counted on the row; these cover the database being away,
    # after which the sweeper takes over.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
)
def deliver_outbox_message(message_id: int) -> str:
    return services.outbox_deliver(message_id=message_id)


@shared_task(name="outbox.sweep")
def sweep_outbox() -> int:
    return services.outbox_sweep()
