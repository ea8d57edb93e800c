"""Django admin for the inbox: a fallback view for superusers; platform admins use /console/events/."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin[WebhookEvent]):
    list_display = ("id", "type", "account", "status", "attempts", "received_at", "processed_at")
    list_filter = ("status", "source", "livemode", "type")
    search_fields = ("id", "type", "account")
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ("replay",)
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay the selected events")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        count = 0
        for event in queryset:
            services.webhook_event_replay(event=event)
            count += 1
        messages.success(request, f"{count} events replayed.")
