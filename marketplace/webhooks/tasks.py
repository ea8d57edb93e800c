"""Celery tasks of the pipeline: thin, ids in, the services do the work.

`process_events` is what the intake, the sweeper and replays send: the ids of several events in
one message when they come together (`broker.send`), so a busy intake costs the worker one
message for a batch instead of one per event. Each event still runs in its own transaction, with
its own claim, failure and retry (`services.webhook_event_process`); a failed one is retried by a
`process_event` task of its own, sent with the backoff's countdown.

Both are acknowledged late and rejected if their worker dies (settings), so a worker killed
mid-handler leaves the message to be redelivered; the handler's transaction died with the worker,
so the redelivered task runs it again from a clean row, and the events of its batch that had
committed find their rows processed and are skipped.
"""

from __future__ import annotations

import time
from typing import TypedDict

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from marketplace.webhooks import broker, services


class _PipelineTaskOptions(TypedDict):
    """What both processing tasks are declared with (typed, so mypy checks the decorator's call)."""

    acks_late: bool
    reject_on_worker_lost: bool
    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    retry_backoff_max: int
    max_retries: int


# Retries of failing handlers are counted on the row (`WEBHOOK_MAX_ATTEMPTS`), not by Celery; its
# retries (`autoretry_for`) cover the database being unreachable, after which the sweeper takes over.
_PIPELINE_TASK = _PipelineTaskOptions(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)


@shared_task(name="webhooks.process_events", **_PIPELINE_TASK)
def process_events(event_ids: list[str]) -> list[str]:
    """Process the events in the order given; returns their statuses after this run.

    A batch still running after `WEBHOOK_BATCH_SECONDS` (Stripe slow to answer a handler's read,
    say) sends the events it has not started as a message of their own and ends: each message
    stays well inside the task's time limit (`CELERY_TASK_SOFT_TIME_LIMIT`), which would otherwise
    stop the batch midway and leave its rest to the sweeper.
    """
    budget = float(getattr(settings, "WEBHOOK_BATCH_SECONDS", 30))
    started = time.monotonic()
    statuses = []
    for position, event_id in enumerate(event_ids):
        if position and time.monotonic() - started > budget:
            broker.send(event_ids[position:])  # refused: logged, and the rows wait for the sweeper
            break
        result = services.webhook_event_process(event_id=event_id)
        if result.retry_in is not None:
            # Not raised if the broker refuses: the row is failed with its next attempt written,
            # which the sweeper sends once it is overdue, and the batch's other events go on.
            broker.send_tasks(process_event, [(event_id,)], what="webhook event retries", countdown=result.retry_in)
        statuses.append(result.status)
    return statuses


@shared_task(name="webhooks.process_event", bind=True, **_PIPELINE_TASK)
def process_event(self, event_id: str) -> object:  # type: ignore[no-untyped-def]
    """One event: a failed event's retry, and every event when tasks run eagerly (tests, the demo)."""
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
