"""Reads of the event log for the admin console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from marketplace.webhooks.models import WebhookEvent


def events_for_console(
    *, status: str | None = None, event_type: str | None = None, account: str | None = None, query: str | None = None
) -> QuerySet[WebhookEvent]:
    """Newest first, without the payload (it can be large and the list never shows it)."""
    events = WebhookEvent.objects.defer("payload").order_by("-received_at")
    if status:
        events = events.filter(status=status)
    if event_type:
        events = events.filter(type=event_type)
    if account:
        events = events.filter(account=account)
    if query:
        events = events.filter(pk=query.strip())
    return events


@dataclass(frozen=True)
class EventCounts:
    by_status: dict[str, int]
    stuck: int  # pending, received before `stuck_before()`


def event_counts(*, stuck_before: datetime) -> EventCounts:
    """Events per status, and how many pending ones are stuck: one query."""
    stuck = Count("id", filter=Q(status=WebhookEvent.Status.PENDING, received_at__lte=stuck_before))
    rows = WebhookEvent.objects.order_by().values("status").annotate(n=Count("id"), stuck=stuck)
    return EventCounts(by_status={row["status"]: row["n"] for row in rows}, stuck=sum(row["stuck"] for row in rows))


def event_types_seen() -> list[str]:
    """The types present in the log, for the type filter."""
    return list(WebhookEvent.objects.order_by("type").values_list("type", flat=True).distinct())


def stuck_before() -> datetime:
    """A pending event received before this is stuck: the sweeper's delay has passed and it is still
    not processed (its task was lost, or its processing failed on the database)."""
    return timezone.now() - timedelta(seconds=int(settings.WEBHOOK_SWEEP_AFTER_SECONDS))
