"""The fee policy in the admin console: platform defaults per currency, seller and category overrides.

Changing a rule affects future payments only: each order keeps the fee quote it was charged with.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from catalog.forms import FeeRuleForm
from fees import selectors, services
from fees.models import FeeRule
from frontend.decorators import platform_admin_required
from marketplace.errors import InvalidInput
from sellers.models import Seller


@platform_admin_required
def fees(request: HttpRequest) -> HttpResponse:
    form = FeeRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        seller = None
        if data.get("seller"):
            seller = Seller.objects.filter(pk=data["seller"]).first()
            if seller is None:
                form.add_error("seller", "No seller with this id.")
        if not form.errors:
            try:
                rule = services.fee_rule_set(
                    currency=data["currency"],
                    basis_points=data["basis_points"],
                    fixed_amount=data["fixed_amount"],
                    seller=seller,
                    category=data.get("category"),
                    actor=request.user,
                )
            except InvalidInput as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Saved: {rule.scope_label.lower()} rule for {rule.currency.upper()}.")
                return redirect("console_fees")
    status = 422 if request.method == "POST" else 200
    return render(request, "console/fees.html", {"form": form, "rules": selectors.fee_rules()}, status=status)


@platform_admin_required
@require_POST
def fee_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = FeeRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such rule.")
    services.fee_rule_delete(rule=rule)
    messages.success(request, "Rule deleted: the next less specific rule applies.")
    return redirect("console_fees")


urlpatterns = [
    path("console/fees/", fees, name="console_fees"),
    path("console/fees/<int:rule_id>/delete/", fee_rule_delete, name="console_fee_rule_delete"),
]
