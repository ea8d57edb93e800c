"""Celery tasks of the pipeline: thin, ids in, the services do the work.

`process_event` is acknowledged late and rejected if its worker dies (settings), so a worker
killed mid-handler leaves the message to be redelivered; the handler's transaction died with the
worker, so the redelivered task runs it again from a clean row.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from marketplace.webhooks import services


@shared_task(
    name="webhooks.process_event",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # Retries of failing handlers are counted on the row (`WEBHOOK_MAX_ATTEMPTS`), not here; these
    # cover the database being unreachable, after which the sweeper takes over.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def process_event(self, event_id: str) -> object:  # type: ignore[no-untyped-def]
    result = services.webhook_event_process(event_id=event_id)
    if result.retry_in is None:
        return result.status
    if self.request.is_eager:
        # Eager mode (tests, the demo): returning the Retry makes `apply()` run the retry inline;
        # raising it would propagate out of the caller instead.
        return self.retry(countdown=result.retry_in, max_retries=None, throw=False)
    raise self.retry(countdown=result.retry_in, max_retries=None)


@shared_task(name="webhooks.sweep_stuck_events")
def sweep_stuck_events() -> int:
    return services.webhook_events_sweep()


@shared_task(name="webhooks.catch_up_events", acks_late=True)
def catch_up_events(days: int = 30) -> int:
    return services.webhook_events_catch_up(days=days)
