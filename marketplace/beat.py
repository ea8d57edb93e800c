"""Celery beat's jobs run in-process, for `make demo`.

The demo has no broker and no `celery beat`: tasks run eagerly where they are sent. Without a beat
nothing would sweep webhook events left pending, catch up missed events, remind sellers of a
deadline or release the stock of expired checkouts. `InProcessBeat` runs the same jobs from a
thread, on the schedule of `CELERY_BEAT_SCHEDULE`, the one place the schedule is defined.

Each job runs once when the thread starts (a restarted demo catches up on what happened while it
was stopped), then whenever its schedule says it is due. A job that raises is logged and runs again
at its next turn, as under beat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from celery import Celery, current_app
from celery.schedules import BaseSchedule, maybe_schedule
from django.db import close_old_connections, connections

logger = logging.getLogger("marketplace.beat")


def _schedule(name: str, value: Any, app: Celery) -> BaseSchedule:
    """Seconds, a timedelta or a Celery schedule (crontab...), as beat reads them."""
    schedule = maybe_schedule(value, app=app)
    if not isinstance(schedule, BaseSchedule):
        raise TypeError(f"beat job {name}: {value!r} is not a schedule")
    return schedule


class InProcessBeat:
    """Runs `schedule` (CELERY_BEAT_SCHEDULE's shape: name -> {"task", "schedule", "args"?, "kwargs"?})
    from one daemon thread until `stop()`."""

    def __init__(self, schedule: Mapping[str, Mapping[str, Any]], *, app: Celery | None = None) -> None:
        self.app = app or current_app
        self._entries: dict[str, Mapping[str, Any]] = dict(schedule)
        self._schedules = {name: _schedule(name, entry["schedule"], self.app) for name, entry in self._entries.items()}
        self._last_run: dict[str, datetime | None] = dict.fromkeys(self._entries)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> InProcessBeat:
        # Each installed app's tasks.py, as `celery beat` imports them (but without the loader's
        # `django.setup()` again, which would reconfigure logging and rerun the system checks).
        self.app.autodiscover_tasks(force=True)
        missing = sorted(e["task"] for e in self._entries.values() if e["task"] not in self.app.tasks)
        if missing:
            raise LookupError(f"CELERY_BEAT_SCHEDULE names unknown tasks: {', '.join(missing)}")
        self._thread = threading.Thread(target=self._run, name="demo-beat", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the job running now, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run_due(self) -> float:
        """Run every job that is due; returns the seconds until the next one is."""
        wait = 3600.0
        for name, entry in self._entries.items():
            last = self._last_run[name]
            if last is None or self._schedules[name].is_due(last).is_due:
                self._run_job(name, entry)
                last = self._last_run[name] = self.app.now()
            wait = min(wait, max(float(self._schedules[name].is_due(last).next), 0.0))
            if self._stop.is_set():
                break
        return wait

    def _run_job(self, name: str, entry: Mapping[str, Any]) -> None:
        close_old_connections()
        task = self.app.tasks[entry["task"]]
        try:
            result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True)
            logger.info("beat job %s (%s) ran: %r", name, entry["task"], result.result)
        except Exception:
            logger.exception("beat job %s (%s) failed", name, entry["task"])
        finally:
            close_old_connections()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._stop.wait(self._run_due())
        finally:
            connections.close_all()  # this thread's own connections
