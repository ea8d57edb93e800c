"""Platform admin pages for the webhook event log: filter it, read one event, replay it.

A pending event older than the sweeper's delay is shown as stuck: its task was lost or its
processing failed on the database. Any event can be replayed, a stuck one included.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, register_converter
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


class EventIdConverter:
    """An event id as one clean path segment, whatever characters it holds.

    Stripe's ids are `evt_` and letters and digits, and go in the URL as they are. The inbox stores
    any printable id under 255 characters (and kept older rows from before that check), and `str`
    could not put a `/` in a URL at all (the whole log was a 500), while `.`, `..`, `?`, `#` or `%`
    made links a browser resolves or cuts elsewhere. Those ids go as `~` and their UTF-8 in
    unpadded base64url: only letters, digits, `-` and `_`, so no segment is ever a path trick, and
    the view still looks the decoded id up as an exact primary key."""

    regex = r"~?[A-Za-z0-9_-]+"
    _PLAIN = re.compile(r"[A-Za-z0-9_-]+")

    def to_python(self, value: str) -> str:
        if not value.startswith("~"):
            return value
        encoded = value[1:]
        try:
            decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not an encoded event id") from exc
        if not decoded or self.to_url(decoded) != value:  # one address per id: no padding, no variants
            raise ValueError("not an encoded event id")
        if "\x00" in decoded:  # no row can hold it, and Postgres refuses it in the query (a 500)
            raise ValueError("no event id holds a NUL")
        return decoded

    def to_url(self, value: str) -> str:
        if self._PLAIN.fullmatch(value):
            return value
        return "~" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


register_converter(EventIdConverter, "event_id")

urlpatterns = [
    path("console/events/", console_events, name="console_events"),
    path("console/events/<event_id:event_id>/", console_event_detail, name="console_event_detail"),
    path("console/events/<event_id:event_id>/replay/", console_event_replay, name="console_event_replay"),
]
