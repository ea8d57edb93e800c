from django.contrib import admin

from orders.models import Order, OrderLine, StripeCustomer


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ("listing", "title", "unit_amount", "quantity", "fee_amount")
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "buyer",
        "seller",
        "amount_total",
        "application_fee_amount",
        "currency",
        "created_at",
    )
    list_filter = ("status", "currency")
    search_fields = (
        "id",
        "checkout_session_id",
        "payment__stripe_payment_intent_id",
        "payment__stripe_charge_id",
        "buyer__email",
    )
    raw_id_fields = ("buyer", "seller", "payment")
    inlines = (OrderLineInline,)
    readonly_fields = (
        "amount_total",
        "application_fee_amount",
        "currency",
        "checkout_session_id",
        "payment",
    )


@admin.register(StripeCustomer)
class StripeCustomerAdmin(admin.ModelAdmin):
    list_display = ("user", "stripe_customer_id", "created_at")
    raw_id_fields = ("user",)
