"""Writes of the outbox: register follow-ups, add a row, deliver one, sweep (see the package docstring)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.outbox.models import OutboxMessage
from marketplace.webhooks.broker import send_tasks

logger = logging.getLogger("marketplace.outbox")

Status = OutboxMessage.Status
F = TypeVar("F", bound=Callable[..., None])

_registry: dict[str, Callable[..., None]] = {}
_on_dead: dict[str, Callable[..., None]] = {}

MAX_ATTEMPTS = 10  # with the backoff below: about 4 hours of retries
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=2)
KEEP_DELIVERED = timedelta(days=2)


def follow_up(name: str, *, on_dead: Callable[..., None] | None = None) -> Callable[[F], F]:
    """Register `fn` as the follow-up called `name` (one function per name).

    `on_dead(*args)` runs, in the same transaction, when the row gives up after `MAX_ATTEMPTS`: a
    follow-up that moves money names someone to tell there, since a dead row is otherwise only a log line.
    """

    def register(fn: F) -> F:
        if _registry.get(name, fn) is not fn:
            raise ValueError(f"two follow-ups are called {name!r}")
        _registry[name] = fn
        if on_dead is not None:
            _on_dead[name] = on_dead
        return fn

    return register


def outbox_add(name: str, *args: Any, key: str | None = None) -> OutboxMessage | None:
    """Write the follow-up `name(*args)` in the caller's transaction; deliver it once that commits.

    `key` names the effect (e.g. `order-confirmation:42`): a second row with the same key is not
    written (returns None), so a change applied twice still sends its email once.
    """
    if name not in _registry:
        raise LookupError(f"no follow-up is called {name!r}")
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(name=name, args=list(args), key=key)
    except IntegrityError:
        if key and OutboxMessage.objects.filter(key=key).exists():
            return None
        raise
    transaction.on_commit(lambda: _nudge(message.pk))
    return message


def _nudge(message_id: int) -> None:
    """Ask a worker to deliver now. A refusal is logged by `send_tasks`, never raised: the row is
    committed and the sweeper delivers it; the request that made the change must not fail."""
    from marketplace.outbox.tasks import deliver_outbox_message  # the tasks module imports this one

    send_tasks(deliver_outbox_message, [(message_id,)], what="outbox messages")


def outbox_retry(*, key: str) -> bool:
    """Give a dead row its attempts again, due now (a person fixed what made it fail). Returns
    whether there was a dead row under `key`."""
    revived = OutboxMessage.objects.filter(key=key, status=Status.DEAD).update(
        status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )
    if revived:
        message_id = OutboxMessage.objects.values_list("pk", flat=True).get(key=key)
        transaction.on_commit(lambda: _nudge(message_id))
    return bool(revived)


def retry_delay(attempts: int) -> timedelta:
    return min(RETRY_MAX, RETRY_BASE * (1 << max(0, attempts - 1)))


def outbox_deliver(*, message_id: int) -> str:
    """Run one follow-up, once: lock its row (a second deliverer skips it), run it, mark it delivered.

    Returns the row's status after this run, or "skipped" (delivered already, held by another
    deliverer, or not due yet). A failure is recorded on the row and retried later by the sweeper.
    """
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=Status.PENDING, next_attempt_at__lte=now + timedelta(seconds=1))
            .first()
        )
        if message is None:
            return "skipped"
        message.attempts += 1
        try:
            handler = _registry.get(message.name)
            if handler is None:
                raise LookupError(f"no follow-up is called {message.name!r}")
            with transaction.atomic():
                handler(*message.args)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            message.last_error = "".join(traceback.format_exception(exc)[-8:])[-4000:]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = Status.DEAD
                logger.error(
                    "outbox %s %s is dead after %d attempts: %s", message.name, message.pk, message.attempts, exc
                )
                if (on_dead := _on_dead.get(message.name)) is not None:
                    try:
                        with transaction.atomic():
                            on_dead(*message.args)
                    except Exception:  # the row is dead either way; the log line is then the alert
                        logger.exception("outbox %s %s: its on_dead failed", message.name, message.pk)
            else:
                message.next_attempt_at = now + retry_delay(message.attempts)
                logger.warning("outbox %s %s failed (attempt %d): %s", message.name, message.pk, message.attempts, exc)
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return str(message.status)
        message.status, message.delivered_at = Status.DELIVERED, timezone.now()
        message.save(update_fields=["attempts", "status", "delivered_at"])
        return str(message.status)


def outbox_sweep(*, limit: int = 500) -> int:
    """Beat: deliver every pending row that is due and that no task delivered; returns how many
    were delivered now.

    A row never tried is left `OUTBOX_SWEEP_AFTER_SECONDS` to its own task (it is likely in
    flight); a failed row is due at its `next_attempt_at`. They are delivered here, in the
    sweeper's own process, rather than sent to the broker again: after an outage the broker is
    the part least to be trusted. Delivered rows older than two days are deleted.
    """
    now = timezone.now()
    grace = timedelta(seconds=int(getattr(settings, "OUTBOX_SWEEP_AFTER_SECONDS", 60)))
    due = OutboxMessage.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).filter(
        attempts__gt=0
    ) | OutboxMessage.objects.filter(status=Status.PENDING, attempts=0, next_attempt_at__lte=now - grace)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    delivered = sum(outbox_deliver(message_id=pk) == Status.DELIVERED for pk in ids)
    if ids:
        logger.info("outbox sweeper: %d of %d due messages delivered", delivered, len(ids))
    OutboxMessage.objects.filter(status=Status.DELIVERED, delivered_at__lt=now - KEEP_DELIVERED).delete()
    return delivered
