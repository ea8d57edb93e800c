"""The intake's task relay: committed event ids go to the broker from one background thread per process.

The intake stores an event and, once the row commits, hands its id to `submit()`, which only
appends it to a queue in memory. A thread waits `WEBHOOK_RELAY_LINGER_SECONDS` (20 ms) for more
to arrive and publishes them together: on Redis, one round trip for the lot, as worker messages
of up to `WEBHOOK_TASK_BATCH` ids each (`broker.send`). Stripe's request is answered without
waiting on Redis at all, and a busy intake and its worker spend far less CPU per event (measured
by `make bench-webhooks`).

Only the web intake uses it (its processes exit through the interpreter); the catch-up job and the
sweeper, which run in Celery's worker processes, send their tasks at once. What an id in memory
risks is what a refused publish risks: the process dies before the flush (the flush at
interpreter exit covers a graceful stop), or the broker is down. Either way the row
is committed and pending, and `webhook_events_sweep` enqueues it. With `CELERY_TASK_ALWAYS_EAGER`
(tests, the demo) the intake does not use the relay: it processes the event at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from django.conf import settings

from marketplace.webhooks import broker

logger = logging.getLogger("marketplace.webhooks")


class TaskRelay:
    """Queues ids in memory and publishes them in batches from a daemon thread (one per process)."""

    def __init__(self, send: Callable[[Sequence[str]], bool]) -> None:
        self._send = send
        self._pid = 0
        self._start_lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        # A forked child gets fresh state: the parent's thread does not exist in it, its locks may
        # have been copied held, and the ids queued in the parent are the parent's to send.
        self._pending: deque[str] = deque()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()

    def submit(self, event_id: str) -> None:
        if self._pid != os.getpid():
            self._start()
        self._pending.append(event_id)
        if not self._wake.is_set():  # under load it is: set() takes a lock and notifies, every time
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._reset()
            threading.Thread(target=self._run, name="webhook-task-relay", daemon=True).start()
            self._pid = os.getpid()

    def _run(self) -> None:
        linger = float(getattr(settings, "WEBHOOK_RELAY_LINGER_SECONDS", 0.02))
        while True:
            self._wake.wait()
            time.sleep(linger)  # let a batch gather
            self._wake.clear()  # ids added from here on wake the next round
            try:
                self.flush()
            except Exception:  # a bug must not end the thread: later ids would wait for the sweeper
                logger.exception("webhook task relay failed; its batch is left to the sweeper")

    def flush(self) -> int:
        """Send every queued id now; returns how many were sent (0 if the broker refused: logged)."""
        with self._flush_lock:
            batch: list[str] = []
            while self._pending:
                batch.append(self._pending.popleft())
            if not batch:
                return 0
            return len(batch) if self._send(batch) else 0


relay = TaskRelay(broker.send)
atexit.register(relay.flush)
