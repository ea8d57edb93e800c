"""The demo's in-process beat: CELERY_BEAT_SCHEDULE's jobs run from a thread, on their schedule, on
the real database; and `run_demo` runs them (the sweeper finds the event the demo left pending)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from marketplace.beat import InProcessBeat
from marketplace.webhooks import registry
from marketplace.webhooks.models import WebhookEvent
from tests.demo.conftest import STUCK_EVENT, Demo
from tests.webhooks.broker import wait_for
from tests.webhooks.conftest import make_event
from tests.webhooks.handlers import EFFECT, TEST_HANDLERS, effects

SWEEP = {"task": "webhooks.sweep_stuck_events", "schedule": 0.05}
CATCH_UP = {"task": "webhooks.catch_up_events", "schedule": 3600.0}


def beat_runs(caplog: pytest.LogCaptureFixture, job: str) -> int:
    records = [r for r in caplog.records if r.name == "marketplace.beat"]
    return sum(1 for r in records if r.getMessage().startswith(f"beat job {job} "))


def stuck_event() -> WebhookEvent:
    """The row the intake leaves when its task never runs (a lost message), untouched for longer
    than the sweep delay: pending, 0 attempts, no error."""
    payload = make_event(EFFECT)
    long_ago = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS + 60)
    return WebhookEvent.objects.create(
        id=payload["id"],
        type=payload["type"],
        source="platform",
        created=payload["created"],
        payload=payload,
        received_at=long_ago,
        updated_at=long_ago,
    )


@pytest.mark.django_db(transaction=True)
def test_the_beat_thread_sweeps_a_stuck_event_and_stops_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="marketplace.beat")
    event = stuck_event()
    with registry.override(TEST_HANDLERS):
        beat = InProcessBeat({"sweep": SWEEP}).start()
        try:
            wait_for(lambda: WebhookEvent.objects.get(pk=event.pk).status == "processed", 30, "never swept")
            wait_for(lambda: beat_runs(caplog, "sweep") >= 3, 30, "the sweeper should run every 50 ms")
        finally:
            beat.stop()
    assert not beat.running
    assert effects(event.pk) == 1
    runs = beat_runs(caplog, "sweep")
    assert beat_runs(caplog, "sweep") == runs  # nothing runs after stop()


@pytest.mark.django_db(transaction=True)
def test_each_job_runs_at_start_then_on_its_own_interval_and_a_failing_one_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    caplog.set_level(logging.INFO, logger="marketplace.beat")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: the catch-up job fails
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    beat = InProcessBeat({"sweep": SWEEP, "catch-up": CATCH_UP}).start()
    try:
        wait_for(lambda: beat_runs(caplog, "sweep") >= 4, 30, "the sweeper should run every 50 ms")
    finally:
        beat.stop()
    assert beat_runs(caplog, "catch-up") == 1  # at start only: its interval is an hour
    failure = next(r for r in caplog.records if r.getMessage().startswith("beat job catch-up"))
    assert failure.levelname == "ERROR" and "failed" in failure.getMessage()


def test_a_schedule_naming_an_unknown_task_is_refused_at_start() -> None:
    with pytest.raises(LookupError, match=r"webhooks\.no_such_task"):
        InProcessBeat({"x": {"task": "webhooks.no_such_task", "schedule": 60.0}}).start()


@pytest.mark.slow
def test_the_demo_runs_the_beat_jobs_and_sweeps_the_event_left_pending(demo: Demo) -> None:
    assert f"Beat jobs run in this process: {', '.join(settings.CELERY_BEAT_SCHEDULE)}" in demo.output
    wait_for(
        lambda: (
            demo.query("SELECT status, attempts FROM webhooks_webhookevent WHERE id = ?", (STUCK_EVENT,))
            == [("processed", 1)]
        ),
        60,
        lambda: f"still {demo.query('SELECT status FROM webhooks_webhookevent WHERE id = ?', (STUCK_EVENT,))}",
    )
