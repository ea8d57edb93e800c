from django.contrib import admin

from fees.models import FeeRule


@admin.register(FeeRule)
class FeeRuleAdmin(admin.ModelAdmin[FeeRule]):
    list_display = ("currency", "seller", "category", "basis_points", "fixed_amount", "updated_at")
    list_filter = ("currency",)
