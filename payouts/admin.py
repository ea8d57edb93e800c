from typing import Any

from django.contrib import admin

from payouts.models import ApplicationFee, ApplicationFeeRefund, Transfer, TransferReversal


class _MirrorAdmin(admin.ModelAdmin[Any]):
    """Read-only: these rows mirror Stripe and carry ledger postings; they change only through services."""

    search_fields = ("stripe_id",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Transfer)
class TransferAdmin(_MirrorAdmin):
    list_display = ("stripe_id", "destination", "amount", "amount_reversed", "currency", "created_at")


@admin.register(TransferReversal)
class TransferReversalAdmin(_MirrorAdmin):
    list_display = ("stripe_id", "transfer", "amount", "currency", "created_at")


@admin.register(ApplicationFee)
class ApplicationFeeAdmin(_MirrorAdmin):
    list_display = ("stripe_id", "account", "amount", "amount_refunded", "currency", "created_at")


@admin.register(ApplicationFeeRefund)
class ApplicationFeeRefundAdmin(_MirrorAdmin):
    list_display = ("stripe_id", "fee", "amount", "currency", "created_at")
