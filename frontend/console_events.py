"""Platform admin pages for the webhook event log: filter it, read one event, replay it.

A pending event older than the sweeper's delay is shown as stuck: its task was lost or its
processing failed on the database. Any event can be replayed, a stuck one included.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_POST

from frontend.decorators import platform_admin_required
from marketplace import gateway
from marketplace.webhooks import selectors, services
from marketplace.webhooks.models import WebhookEvent

PAGE_SIZE = 50
STATUS_BADGE = {"processed": "ok", "ignored": "", "pending": "warn", "failed": "warn", "dead": "err", "held": "err"}


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
    stuck_before = selectors.stuck_before()
    counts = selectors.event_counts(stuck_before=stuck_before)
    filters = [(s.value, s.label, counts.by_status.get(s.value, 0)) for s in WebhookEvent.Status]
    keep = {k: v for k, v in {"type": event_type, "account": account, "q": query}.items() if v}
    context = {
        "page": page,
        "status": status,
        "event_type": event_type,
        "account": account,
        "query": query,
        "filters": filters,
        "total": sum(counts.by_status.values()),
        "types": selectors.event_types_seen(),
        "keep": urlencode(keep),
        "badges": STATUS_BADGE,
        "stuck_before": stuck_before,
        "stuck_count": counts.stuck,
        "stuck_after": timesince(stuck_before),
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
        "stuck": event.status == WebhookEvent.Status.PENDING and event.received_at <= selectors.stuck_before(),
        "our_api_version": gateway.api_version(),
    }
    return render(request, "console/events_detail.html", context)


@platform_admin_required
@require_POST
def console_event_replay(request: HttpRequest, event_id: str) -> HttpResponse:
    event = get_object_or_404(WebhookEvent, pk=event_id)
    replayed = services.webhook_event_replay(event=event)
    replayed.refresh_from_db()  # with eager tasks (the demo) it was processed on commit already
    if replayed.status == WebhookEvent.Status.IGNORED:
        messages.warning(request, f"Replayed, but ignored again: {replayed.ignored_reason}.")
    elif replayed.status == WebhookEvent.Status.PROCESSED:
        messages.success(request, "Replayed: the event was processed.")
    elif replayed.status == WebhookEvent.Status.PENDING:
        messages.success(request, "Replayed: the event is queued for processing.")
    else:
        messages.error(request, "Replayed, but its processing failed again: see the last error.")
    return redirect("console_event_detail", event_id=event.pk)


urlpatterns = [
    path("console/events/", console_events, name="console_events"),
    path("console/events/<str:event_id>/", console_event_detail, name="console_event_detail"),
    path("console/events/<str:event_id>/replay/", console_event_replay, name="console_event_replay"),
]
