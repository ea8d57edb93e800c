"""Platform admin pages for the webhook event log: filter it, read one event, replay it."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from frontend.decorators import platform_admin_required
from marketplace.webhooks import selectors, services
from marketplace.webhooks.models import WebhookEvent

PAGE_SIZE = 50
STATUS_BADGE = {"processed": "ok", "ignored": "", "pending": "warn", "failed": "warn", "dead": "err"}


@platform_admin_required
@require_GET
def console_events(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    if status not in WebhookEvent.Status.values:
        status = ""
    event_type = (request.GET.get("type") or "").strip()
    account = (request.GET.get("account") or "").strip()
    query = (request.GET.get("q") or "").strip()
    events = selectors.events_for_console(
        status=status or None, event_type=event_type or None, account=account or None, query=query or None
    )
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.event_status_counts()
    filters = [(s.value, s.label, counts.get(s.value, 0)) for s in WebhookEvent.Status]
    keep = {k: v for k, v in {"type": event_type, "account": account, "q": query}.items() if v}
    context = {
        "page": page,
        "status": status,
        "event_type": event_type,
        "account": account,
        "query": query,
        "filters": filters,
        "total": sum(counts.values()),
        "types": selectors.event_types_seen(),
        "keep": "&".join(f"{k}={v}" for k, v in keep.items()),
        "badges": STATUS_BADGE,
    }
    return render(request, "console/events.html", context)


@platform_admin_required
@require_GET
def console_event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    event = get_object_or_404(WebhookEvent, pk=event_id)
    context = {
        "event": event,
        "payload": json.dumps(event.payload, indent=2, sort_keys=True),
        "badge": STATUS_BADGE.get(event.status, ""),
    }
    return render(request, "console/events_detail.html", context)


@platform_admin_required
@require_POST
def console_event_replay(request: HttpRequest, event_id: str) -> HttpResponse:
    event = get_object_or_404(WebhookEvent, pk=event_id)
    if not event.replayable:
        messages.error(request, f"This event is {event.get_status_display().lower()}: it cannot be replayed now.")
        return redirect("console_event_detail", event_id=event.pk)
    replayed = services.webhook_event_replay(event=event)
    if replayed.status == WebhookEvent.Status.IGNORED:
        messages.warning(request, f"Replayed, but ignored again: {replayed.ignored_reason}.")
    else:
        messages.success(request, "Replayed: the event is queued for processing.")
    return redirect("console_event_detail", event_id=event.pk)


urlpatterns = [
    path("console/events/", console_events, name="console_events"),
    path("console/events/<str:event_id>/", console_event_detail, name="console_event_detail"),
    path("console/events/<str:event_id>/replay/", console_event_replay, name="console_event_replay"),
]
