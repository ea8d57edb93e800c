"""Read-mostly Django admin for support staff; the console is where sellers are moderated (pausing
here would skip the reason and history), so the mirrored Stripe columns are read-only."""

from __future__ import annotations

from django.contrib import admin

from sellers.models import STRIPE_MIRROR_FIELDS, Seller, SellerModerationEntry


class ModerationInline(admin.TabularInline):
    model = SellerModerationEntry
    extra = 0
    can_delete = False
    readonly_fields = ("action", "reason", "actor", "created_at")


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("shop_name", "user", "country", "default_currency", "status", "stripe_account_id", "created_at")
    list_filter = ("status", "country")
    search_fields = ("shop_name", "user__email", "stripe_account_id")
    readonly_fields = (
        "stripe_account_id",
        *STRIPE_MIRROR_FIELDS,
        "disconnected_at",
        "paused_at",
        "paused_by",
        "pause_reason",
        "status",
        "onboarding_completed_at",
        "reminder_sent_for_deadline",
    )
    inlines = (ModerationInline,)
