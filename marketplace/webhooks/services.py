"""Writes of the webhook pipeline: store an event, process it, sweep, catch up, replay.

The two promises and where they are kept:

- *Nothing lost*: `webhook_event_store` inserts the row before the view answers 2xx; the
  enqueue happens on commit and may fail (Redis down) without failing the request, because
  `webhook_events_sweep` re-enqueues rows left pending, and `webhook_events_catch_up` fills gaps
  from Stripe's own list of events.
- *Nothing done twice*: the row is unique on Stripe's id (a duplicate is one `ON CONFLICT DO
  NOTHING`), and `webhook_event_process` locks the row, runs the handlers and marks it processed in
  one transaction, so a processed mark never exists without its effects (dj-stripe issue 832) and
  a redelivered task finds the row already processed.
- *Nothing read in the wrong shape*: an event rendered in another Stripe API version than ours
  (`STRIPE_API_VERSION`) is stored, answered 2xx and *held*: not processed, logged as an error and
  shown in the console's event log, until an admin replays it (`_held_reason`).
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from marketplace import gateway
from marketplace.gateway import events as gateway_events
from marketplace.prepared import prepared_cursor
from marketplace.webhooks import broker, registry
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.relay import relay

logger = logging.getLogger("marketplace.webhooks")

Status = WebhookEvent.Status
Source = WebhookEvent.Source


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_attempts() -> int:
    """Handler runs before an event is dead (first run included)."""
    return int(_setting("WEBHOOK_MAX_ATTEMPTS", 8))


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base·2^(n-1), capped; 10 s, 20 s, 40 s ... ~21 min by default."""
    base = float(_setting("WEBHOOK_RETRY_BASE_SECONDS", 10))
    cap = float(_setting("WEBHOOK_RETRY_MAX_SECONDS", 3600))
    delay = min(cap, base * (1 << max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)  # jitter, not security


class MalformedEvent(ValueError):
    """A correctly signed body that is not a Stripe event (bad JSON, missing id/type)."""


@dataclass(frozen=True)
class StoreResult:
    event_id: str
    created: bool  # False: we had it already (a duplicate delivery)
    status: str
    ignored_reason: str = ""


# --- Intake ---------------------------------------------------------------------------------------


# Stripe's events nest a dozen levels at most (an object with expanded ones). Deeper JSON parses here,
# then fails what reads it again deeper in a stack with a RecursionError, a 500: the NUL replacement
# below, the console's event page decoding the stored payload.
MAX_EVENT_DEPTH = 64


def _depth(value: Any) -> int:
    """How deep `value` nests (1: a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_event(body: bytes) -> dict[str, Any]:
    """The event as a dict, or MalformedEvent: the view answers 400, never 500."""
    try:
        # Stripe sends UTF-8; the text is stored as it came. Not NaN or Infinity, which Python reads
        # and no database stores in JSON (the insert failed: a 503 "retry later" for ever), nor
        # nesting too deep to parse (a RecursionError, a 500).
        payload = json.loads(body.decode(), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedEvent("body is not UTF-8 JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedEvent("body is not a JSON object")
    if _depth(payload) > MAX_EVENT_DEPTH:
        raise MalformedEvent(f"event is nested deeper than {MAX_EVENT_DEPTH} levels")
    if payload.get("object", "event") != "event":
        raise MalformedEvent("body is not an event")
    event_id, event_type, created = payload.get("id"), payload.get("type"), payload.get("created")
    if not _storable(event_id, 255):
        raise MalformedEvent("event has no id")
    if not _storable(event_type, 100):
        raise MalformedEvent("event has no type")
    if not isinstance(created, int) or isinstance(created, bool) or not 0 <= created <= _LAST_SECOND:
        raise MalformedEvent("event has no created time")
    account = payload.get("account")
    if account is not None and not _storable(account, 255, empty=True):
        raise MalformedEvent("event account is not an id")
    if not str(payload.get("api_version") or "").isprintable():
        raise MalformedEvent("event api_version is not a version")
    if not isinstance(payload.get("data"), dict):
        raise MalformedEvent("event has no data")
    return payload


# The last second Python's datetime can hold (9999-12-31T23:59:59Z): `created` becomes a datetime
# (`WebhookEvent.created_at`), and a larger number overflowed the column on SQLite (a 500).
_LAST_SECOND = 253_402_300_799


def _storable(value: object, max_length: int, *, empty: bool = False) -> bool:
    """A string the inbox's columns can hold and the console can show: printable, so no NUL
    (Postgres refuses it) and no lone surrogate (`"\\ud800"` in JSON, which no database can encode)."""
    return isinstance(value, str) and (empty or bool(value)) and len(value) <= max_length and value.isprintable()


def known_account(account_id: str) -> bool:
    """Is `account_id` the Stripe account of one of ours? The app that owns connected accounts (sellers)
    answers, through the hook it registers (`registry.register_connected_accounts`)."""
    return bool(account_id) and registry.connected_accounts().is_known(account_id)


def _ignored_reason(payload: dict[str, Any], source: str) -> str:
    """Why an event must be kept but not acted on; empty when it should be processed."""
    ours = gateway_events.key_is_live()
    if bool(payload.get("livemode")) != ours:
        return f"livemode={str(bool(payload.get('livemode'))).lower()} but our keys are {'live' if ours else 'test'}"
    account = payload.get("account") or ""
    if source == Source.CONNECT:
        if not account:
            return "Connect event without an account"
        if not known_account(account):
            return f"unknown account {account}"
    if not registry.handlers_for(payload["type"]):
        return "no handler for this event type"
    return ""


def _held_reason(payload: dict[str, Any]) -> str:
    """Why an event that should be processed is held instead: Stripe rendered it in another API
    version than ours, so its `data.object` may have fields renamed, moved or missing.

    The rule comes from Zulip's billing webhook, which refuses such events; unlike Zulip we do not
    answer 400 (Stripe would retry for three days and then drop the event, and may disable an endpoint
    that keeps failing): the inbox stores it, so nothing is lost, and holds it, so nothing is read
    in a shape the code was not written for. An admin sees it in the console (status "held") and
    replays it once the endpoint's version is fixed or the event checked; the typed objects then
    still refuse any shape they cannot read, loudly."""
    theirs, ours = str(payload.get("api_version") or ""), gateway.api_version()
    if theirs == ours:
        return ""
    return f"API version {theirs or 'unknown'} is not ours ({ours}): held for an admin"


# Column -> the SQL of its value: a named parameter, or a constant every new row starts with
# (constants in the SQL rather than parameters: each parameter costs CPU to adapt, on every event).
_INSERT_VALUES = {
    "id": "%(id)s",
    "type": "%(type)s",
    "source": "%(source)s",
    "account": "%(account)s",
    "livemode": "%(livemode)s",
    "created": "%(created)s",
    "api_version": "%(api_version)s",
    "payload": "%(payload)s",
    "status": "%(status)s",
    "ignored_reason": "%(ignored_reason)s",
    "attempts": "0",
    "last_error": "''",
    "received_at": "%(now)s",
    "updated_at": "%(now)s",
}


@functools.cache
def _insert_sql(vendor: str) -> str:
    """The intake's insert for the database `vendor` (built once: it runs for every event)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in _INSERT_VALUES)
    values = ", ".join(_INSERT_VALUES.values())
    table = quote(WebhookEvent._meta.db_table)
    return f"INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT (id) DO NOTHING RETURNING id"  # noqa: S608


# What no database column can hold in a JSON text: NUL (Postgres' jsonb refuses `\u0000`) and lone
# surrogates (no UTF-8 for them). In a body, both only ever come as JSON escapes (a raw NUL is not
# valid JSON); `_MAYBE_UNSTORABLE` is the cheap check that decides whether to look closer.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MAYBE_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _storable_payload(value: Any) -> Any:
    """`value` with U+FFFD for each character the database cannot hold, in keys and strings."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable_payload(k): _storable_payload(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable_payload(v) for v in value]
    return value


def webhook_event_store(
    *, payload: dict[str, Any], source: str, body: bytes | None = None, batched: bool = False
) -> StoreResult:
    """Insert the event unless we have it; enqueue its processing once the insert commits.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING id`: ten concurrent deliveries of one event
    make one row, and only the delivery that inserted it enqueues a task. Run outside a transaction
    it commits by itself; inside one, the task is sent on commit. `body`, the JSON `payload` was
    parsed from, is stored as it came instead of serializing `payload` again. `batched` (the web
    intake) sends the task through `relay`; other callers, such as the catch-up job in a worker
    process, send it at once.
    """
    if body is None or _MAYBE_UNSTORABLE.search(body):
        # A signed event with `\u0000` in a customer's name made the insert fail, answered 503 "retry
        # later" for ever: a retry cannot store it either. Its id and type are checked already, and
        # handlers re-read the objects from Stripe, so a replaced character in its data loses nothing.
        storable = _storable_payload(payload)
        if storable != payload:
            logger.warning("webhook %s stored with U+FFFD for NUL or lone surrogates in its data", payload["id"])
            payload, body = storable, None
    reason = _ignored_reason(payload, source)
    status = Status.IGNORED if reason else Status.PENDING
    if status == Status.PENDING and (held := _held_reason(payload)):
        status, reason = Status.HELD, held
    params = {
        "id": payload["id"],
        "type": payload["type"],
        "source": source,
        "account": payload.get("account") or "",
        "livemode": bool(payload.get("livemode")),
        "created": payload["created"],
        "api_version": str(payload.get("api_version") or "")[:64],
        "payload": (
            body.decode()
            if body is not None
            else WebhookEvent._meta.get_field("payload").get_db_prep_value(payload, connection)
        ),
        "status": str(status),
        "ignored_reason": reason[:200],
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor), params)
        created = cursor.fetchone() is not None
    if created and status == Status.PENDING:
        transaction.on_commit(lambda: _enqueue_stored(payload["id"], batched=batched))
    elif created and status == Status.HELD:
        logger.error("webhook %s %s stored and held: %s", payload["type"], payload["id"], reason)
    elif created:
        logger.info("webhook %s %s stored and ignored: %s", payload["type"], payload["id"], reason)
    return StoreResult(event_id=payload["id"], created=created, status=status, ignored_reason=reason)


def enqueue_processing(*event_ids: str) -> bool:
    """Send the processing tasks of `event_ids` now, in one batch; False if the broker refused.

    The web intake goes through `relay` instead, which gathers ids across requests; this is for
    everything else (the sweeper, replays, the catch-up job).
    """
    return broker.send(event_ids)


def _enqueue_stored(event_id: str, *, batched: bool) -> None:
    """The hand-off once a stored event's row commits: through the relay when `batched`, unless
    tasks are eager (tests, the demo: the event is processed at once)."""
    from marketplace.webhooks.tasks import process_event  # the tasks module imports this one

    if batched and not process_event.app.conf.task_always_eager:
        relay.submit(event_id)
    else:
        enqueue_processing(event_id)


# --- Processing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessResult:
    status: str  # the event's status after this run ("busy": another worker holds it; "missing")
    retry_in: float | None = None


def _short_error(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    text = "".join(lines[-12:])
    return text[-4000:]


def webhook_event_process(*, event_id: str) -> ProcessResult:
    """Run the handlers of one event, once.

    One statement claims the event: it locks the row (`FOR UPDATE SKIP LOCKED`: a second worker
    with the same event skips it instead of queueing behind), checks it is due, and writes the
    processed mark, in the transaction the handlers then write in; so the mark commits with their
    writes or not at all. A failing handler's transaction is rolled back whole, and the failure
    (attempts, error, next attempt) is recorded in a transaction of its own.

    Why not a savepoint around the handlers, with the mark written after them: profiled under
    `make bench-webhooks`, the worker spends most of an event waiting on Postgres round trips, and
    the lock, the savepoint, its release and the mark were four of them on every event, for the
    failure path only. Between the rollback and the failure's record another worker may claim the
    event; handlers are idempotent, so the worst is one extra run.
    """
    now = timezone.now()
    event: WebhookEvent | None = None
    try:
        with transaction.atomic():
            event = _claim(event_id, now)
            if event is None:
                return _not_claimed(event_id, now)
            handlers = registry.handlers_for(event.type)
            if not handlers:
                WebhookEvent.objects.filter(pk=event.pk).update(
                    status=Status.IGNORED,
                    ignored_reason="no handler for this event type",
                    attempts=event.attempts - 1,
                    processed_at=None,
                )
                return ProcessResult(status=Status.IGNORED)
            for handler in handlers:
                handler(event)
    except Exception as exc:  # any handler failure is recorded and retried
        if event is None:
            raise  # the claim itself failed (the database): the task's own retry handles it
        return _record_failure(event, exc, now)
    return ProcessResult(status=Status.PROCESSED)


def _claim(event_id: str, now: datetime) -> WebhookEvent | None:
    """Lock the event if it is due and no other worker holds it, and mark it processed: one
    UPDATE ... RETURNING its row, planned once per connection (`marketplace.prepared`); None if
    it is not to be run here (`_not_claimed` says why)."""
    sql = _claim_sql()
    params = {
        "id": event_id,
        "processed": str(Status.PROCESSED),
        "pending": str(Status.PENDING),
        "failed": str(Status.FAILED),
        "now": connection.ops.adapt_datetimefield_value(now),
        "due": connection.ops.adapt_datetimefield_value(now + timedelta(seconds=1)),
    }
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = WebhookEvent._meta.concrete_fields
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return WebhookEvent.from_db(connection.alias, [field.attname for field in fields], values)


@functools.cache
def _claim_sql() -> str:
    """The claim's statement, built once (its text is what Postgres prepares)."""
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in WebhookEvent._meta.concrete_fields)
    # SQLite (the demo) has no row locks: its writers take turns anyway.
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # The table and columns are the model's, quoted; every value is a parameter.
    return (
        f"UPDATE {table} SET status = %(processed)s, attempts = attempts + 1, processed_at = %(now)s,"  # noqa: S608
        " updated_at = %(now)s, next_attempt_at = NULL"
        f" WHERE id = (SELECT id FROM {table} WHERE id = %(id)s AND (status = %(pending)s OR (status = %(failed)s"
        f" AND (next_attempt_at IS NULL OR next_attempt_at <= %(due)s))){lock})"
        f" RETURNING {columns}"
    )


def _not_claimed(event_id: str, now: datetime) -> ProcessResult:
    """Why `_claim` found nothing to run: no such event, another worker holds it ("busy"), a copy of
    the task arrived early ("not_due": Redis redelivers a countdown task held past its visibility
    timeout; the scheduled one, or the sweeper, runs it when it is due), or it is done already (a
    redelivered or duplicate task)."""
    row = WebhookEvent.objects.filter(pk=event_id).values_list("status", "next_attempt_at").first()
    if row is None:
        return ProcessResult(status="missing")
    status, next_attempt_at = row
    if status == Status.FAILED and next_attempt_at is not None and next_attempt_at > now + timedelta(seconds=1):
        return ProcessResult(status="not_due")
    if status in (Status.PENDING, Status.FAILED):
        return ProcessResult(status="busy")
    return ProcessResult(status=status)


def _record_failure(event: WebhookEvent, exc: BaseException, now: datetime) -> ProcessResult:
    """Record a failed run of `event` (its claim rolled back with the handlers' writes): the error,
    the attempts (the claim's count), and a retry with backoff, or dead after the last attempt."""
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().filter(pk=event.pk).first()
        if locked is None or locked.status not in (Status.PENDING, Status.FAILED):
            # Another worker ran it meanwhile (see `webhook_event_process`): its outcome stands.
            return ProcessResult(status=locked.status if locked else "missing")
        locked.attempts = event.attempts
        locked.last_error = _short_error(exc)
        locked.updated_at = now
        if locked.attempts >= max_attempts():
            locked.status, locked.next_attempt_at = Status.DEAD, None
            logger.error("webhook %s %s is dead after %d attempts", locked.type, locked.id, locked.attempts)
            retry_in = None
        else:
            retry_in = retry_delay(locked.attempts)
            locked.status, locked.next_attempt_at = Status.FAILED, now + timedelta(seconds=retry_in)
            logger.warning("webhook %s %s failed (attempt %d): %s", locked.type, locked.id, locked.attempts, exc)
        locked.save(update_fields=["attempts", "last_error", "status", "next_attempt_at", "updated_at"])
    return ProcessResult(status=locked.status, retry_in=retry_in)


# --- Recovery -------------------------------------------------------------------------------------


def webhook_events_sweep(*, older_than: timedelta | None = None, limit: int = 1000) -> int:
    """Re-enqueue events stuck unprocessed: a lost broker message, Redis down at intake, a dead worker.

    Pending rows untouched for `older_than` and failed rows whose retry is overdue by as much are
    re-sent. Their `updated_at` is bumped so a long queue is not flooded with copies every run;
    a copy that does arrive twice finds the row processed and does nothing.
    """
    if older_than is None:
        older_than = timedelta(seconds=int(_setting("WEBHOOK_SWEEP_AFTER_SECONDS", 300)))
    cutoff = timezone.now() - older_than
    stuck = WebhookEvent.objects.filter(status=Status.PENDING, updated_at__lte=cutoff) | WebhookEvent.objects.filter(
        status=Status.FAILED, next_attempt_at__lte=cutoff
    )
    ids = list(stuck.order_by("received_at").values_list("id", flat=True)[:limit])
    if not ids:
        return 0
    # Bump first, publish after: an UPDATE after publishing holds the rows' locks just when a fast
    # worker takes them with SKIP LOCKED, and that worker would skip the event as "busy" and leave
    # it pending (seen in tests). Rows the broker refuses below are simply swept again next run.
    WebhookEvent.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    if not enqueue_processing(*ids):
        return 0  # the broker is still down: try again next run
    logger.info("webhook sweeper re-enqueued %d events", len(ids))
    return len(ids)


def webhook_events_catch_up(*, days: int = 30, accounts: Iterable[str] | None = None) -> int:
    """Store every event Stripe still lists (it keeps 30 days) that we never received.

    Deliveries can be lost for good (an endpoint disabled, a secret misconfigured for days); the
    Events API is the source of truth. Platform events first, then each known connected account's.
    Returns how many events were new.
    """
    since = int(time.time()) - days * 86400
    stored = 0
    for payload in gateway_events.list_events(created_gte=since):
        stored += webhook_event_store(payload=payload, source=Source.PLATFORM).created
    for account in registry.connected_accounts().all_ids() if accounts is None else accounts:
        for payload in gateway_events.list_events(created_gte=since, account=account):
            payload.setdefault("account", account)
            stored += webhook_event_store(payload=payload, source=Source.CONNECT).created
    if stored:
        logger.info("webhook catch-up stored %d missing events", stored)
    return stored


def webhook_event_replay(*, event: WebhookEvent) -> WebhookEvent:
    """Process an event again: an admin fixed the cause of a dead one, wants effects re-applied, or
    runs one left pending (its task lost) without waiting for the sweeper.

    Any status can be replayed. The attempts start over. The intake checks are re-run, so an event
    ignored because its account was unknown is processed once the seller exists. Handlers are
    idempotent, so replaying a processed event is safe. The API version is not checked again: an
    admin's replay is the decision to process an event held for its version (a shape the typed
    objects cannot read still fails the event, visibly).
    """
    with transaction.atomic():
        locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
        reason = _ignored_reason(locked.payload, locked.source)
        locked.status = Status.IGNORED if reason else Status.PENDING
        locked.ignored_reason = reason
        locked.attempts = 0
        locked.next_attempt_at = None
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "ignored_reason", "attempts", "next_attempt_at", "updated_at"])
        if locked.status == Status.PENDING:
            transaction.on_commit(lambda: enqueue_processing(locked.pk))
        logger.info("webhook %s %s replayed: %s", locked.type, locked.pk, locked.status)
    return locked
