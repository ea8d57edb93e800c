from django.contrib import admin

from payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin[Payment]):
    """Read-only: payments mirror Stripe and carry ledger postings; they change only through services."""

    list_display = ("stripe_charge_id", "status", "amount", "amount_refunded", "currency", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("stripe_charge_id", "stripe_payment_intent_id", "stripe_balance_transaction_id")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
