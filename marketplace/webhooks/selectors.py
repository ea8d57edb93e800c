"""Reads of the event log for the admin console."""

from __future__ import annotations

from django.db.models import Count, QuerySet

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


def event_status_counts() -> dict[str, int]:
    rows = WebhookEvent.objects.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def event_types_seen() -> list[str]:
    """The types present in the log, for the type filter."""
    return list(WebhookEvent.objects.order_by("type").values_list("type", flat=True).distinct())
