"""The way committed work is sent to the broker, made cheap and quick to fail: the webhook pipeline's
`process_events` tasks, and the outbox's deliveries (`marketplace.outbox`).

Every stored event is published (with the others of its relay batch), so publishing's CPU bounds
intake throughput, and a broker outage must stall neither intake nor a page. Three things differ
from a plain `apply_async()`:

- the connection does not retry to connect (Celery's default pool sleeps and retries for seconds);
  a refused publish raises at once and the caller leaves the event to the sweeper;
- producers are kept per thread: building one per message tripled the cost of a publish;
- kombu's Redis channel builds a new `redis.Redis` client for every message it puts (about 80 µs
  of CPU, mostly filling the client's table of response callbacks); `_PublishingChannel` keeps
  one client per channel. It shares the channel's connection pool, and channels here are per
  thread, so nothing is shared across threads that was not before. Celery's workers and beat use
  kombu's own transport.

`send()` (webhook events) and `send_tasks()` (any task) are the doors for callers: they log a
refusal instead of raising. `publish()` sends a list of messages inside kombu's `Producer.batch()`:
on Redis, one round trip for the whole list.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from kombu.transport import redis as kombu_redis
from kombu.utils.uuid import uuid

logger = logging.getLogger("marketplace.webhooks")


class _PublishingChannel(kombu_redis.Channel):
    _put_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        if self._put_client is None:
            self._put_client = self._create_client()  # type: ignore[attr-defined]
        yield self._put_client


class PublishingRedisTransport(kombu_redis.Transport):
    Channel = _PublishingChannel


def transport_for(url: str) -> type[kombu_redis.Transport] | None:
    """Our transport for a Redis broker URL; None (kombu's choice) for any other broker."""
    return PublishingRedisTransport if url.startswith("redis://") else None


def send(event_ids: Sequence[str]) -> bool:
    """Send the processing of `event_ids` now, together; False (logged, not raised) if the broker
    refused. With eager tasks (tests, the demo) they run here instead, one `process_event` each.

    On a broker they go as `process_events` messages of up to `WEBHOOK_TASK_BATCH` ids each (the
    relay gathers ids that arrive together): measured by `make bench-webhooks`, a message costs
    the worker about as much as the work of a one-row event, and a batch pays it once.

    The events are committed already: failing the caller would lose nothing but make it retry
    (Stripe would resend an event we have), and the sweeper sends them again once the broker is back.
    """
    from marketplace.webhooks.tasks import process_event, process_events  # the tasks module imports this one

    if process_event.app.conf.task_always_eager:
        return send_tasks(process_event, [(event_id,) for event_id in event_ids], what="webhook events")
    size = max(1, int(getattr(settings, "WEBHOOK_TASK_BATCH", 20)))
    batches = [(list(event_ids[start : start + size]),) for start in range(0, len(event_ids), size)]
    return send_tasks(process_events, batches, what="webhook events")


def send_tasks(task: Any, arg_tuples: Sequence[tuple[Any, ...]], *, what: str, countdown: float | None = None) -> bool:
    """Send one `task` per tuple of arguments, together (after `countdown` seconds if given);
    False (logged, not raised) if the broker refused. With eager tasks they run here instead, each
    on its own (see `_run_here`).

    For work whose rows are committed and swept (webhook events, outbox messages): a refusal
    only delays it, so no caller (a request, above all) ever fails because the broker is down.
    """
    if task.app.conf.task_always_eager:
        return _run_here(task, arg_tuples, what=what)
    try:
        publish(task, arg_tuples, countdown=countdown)
    except Exception:  # any broker failure: the sweeper is the net
        ids = _first_args(arg_tuples)
        logger.warning(
            "%d %s stored but not enqueued (broker unavailable); the sweeper will: %s",
            len(ids),
            what,
            " ".join(ids[:10]),
            exc_info=True,
        )
        return False
    return True


def _first_args(arg_tuples: Sequence[tuple[Any, ...]]) -> list[str]:
    """The ids the tasks were for: each task's first argument, a batch's list flattened."""
    ids: list[str] = []
    for args in arg_tuples:
        ids += [str(item) for item in args[0]] if isinstance(args[0], list) else [str(args[0])]
    return ids


def _run_here(task: Any, arg_tuples: Sequence[tuple[Any, ...]], *, what: str) -> bool:
    """Eager tasks: run each now. A task records its own failure on its row; what escapes is the
    database failing (a locked SQLite in the demo): that row stays pending for the sweeper, and is
    logged as such, not as a broker outage. The others still run."""
    failed = 0
    for args in arg_tuples:
        try:
            task.apply_async(args=args)
        except Exception:
            logger.warning("%s stored but not processed; the sweeper will retry: %s", what, args[0], exc_info=True)
            failed += 1
    return not failed


def publish(task: Any, arg_tuples: Sequence[tuple[Any, ...]], *, countdown: float | None = None) -> None:
    """Send one `task` message per tuple of arguments, due in `countdown` seconds if given; raises
    if the broker refuses (nothing is retried).

    The messages are built and sent with the two halves of `apply_async()` that Celery's AMQP
    class exposes (`create_task_message`, `send_task_message`), routed by the app's router as
    `apply_async()` routes them, so `task_routes` and the publish signals still apply. What is
    skipped is its per-call option merging and configuration lookups, which cost twice the rest
    (measured: 204 µs against 105 µs of CPU per message), and declaring the queue on every
    message (the workers declare it). On a failure this thread's producer is dropped, so the next
    call connects afresh; some messages may have gone before it, and a task sent twice finds its
    row already done.
    """
    amqp, name = task.app.amqp, task.name
    producer = _producer(task.app)
    try:
        with producer.batch():
            for args in arg_tuples:
                route = amqp.router.route({}, name, args, {}, task)
                message = amqp.create_task_message(
                    uuid(), name, args, {}, countdown=countdown, argsrepr=repr(args), kwargsrepr="{}"
                )
                amqp.send_task_message(producer, name, message, retry=False, declare=[], **route)
    except Exception:
        _local.__dict__.pop("producer", None)
        with contextlib.suppress(Exception):
            producer.connection.close()
        raise


_local = threading.local()


def _producer(app: Any) -> Any:
    """This thread's producer on a connection to the current broker URL."""
    url = app.conf.broker_write_url or app.conf.broker_url
    producer = getattr(_local, "producer", None)
    if producer is None or getattr(_local, "url", None) != url:
        producer = app.amqp.Producer(_connection(app, url).clone(), auto_declare=False)
        _local.producer, _local.url = producer, url
    return producer


@functools.lru_cache(maxsize=4)
def _connection(app: Any, url: str) -> Any:
    timeout = float(getattr(settings, "WEBHOOK_BROKER_CONNECT_TIMEOUT", 2.0))
    return app.connection_for_write(
        url,
        transport=transport_for(url),
        connect_timeout=timeout,
        transport_options={"max_retries": 0, "socket_connect_timeout": timeout, "socket_timeout": timeout},
    )
