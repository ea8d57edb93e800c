from django.contrib import admin

from marketplace.outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    """Read-only: where a dead follow-up is found. `args` is left out (a stored email may hold a
    password-reset link)."""

    list_display = ("id", "name", "status", "attempts", "created_at", "next_attempt_at", "delivered_at")
    list_filter = ("status", "name")
    fields = readonly_fields = (
        "name",
        "key",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    )
