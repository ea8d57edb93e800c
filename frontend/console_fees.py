"""The fee policy in the admin console: platform defaults per currency, seller and category overrides.

Changing a rule affects future payments only: each order keeps the fee quote it was charged with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from catalog.forms import FeeRuleForm
from fees import selectors, services
from fees.models import FeeRule, percent_label
from fees.policy import AppliedRule
from frontend.decorators import platform_admin_required
from frontend.form_focus import focus_first_error
from marketplace import money
from marketplace.errors import InvalidInput
from sellers.models import Seller

if TYPE_CHECKING:
    from catalog.models import Category


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
    focus_first_error(form)
    return render(request, "console/fees.html", {"form": form, "rules": selectors.fee_rules()}, status=status)


@platform_admin_required
@require_POST
def fee_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = FeeRule.objects.filter(pk=rule_id).first()
    if rule is None or not services.fee_rule_delete(rule=rule):  # a double click's second post
        messages.info(request, "This rule is deleted already.")
        return redirect("console_fees")
    currency, seller, category = rule.currency, rule.seller, rule.category
    after = selectors.fee_rule_applying(currency=currency, seller_id=rule.seller_id, category_id=rule.category_id)
    messages.success(request, f"Rule deleted. {_who_pays_now(currency, seller, category, after)}")
    return redirect("console_fees")


def _rule_text(rule: AppliedRule, currency: str) -> str:
    fixed = f" + {money.format_money(rule.fixed_amount, currency)}" if rule.fixed_amount else " with no fixed amount"
    if rule.rule_id is None:
        name = "the built-in fee"
    elif rule.scope == "Platform default":
        name = "the platform default"
    else:
        name = f"the {rule.scope.lower()} rule"
    return f"{name}: {percent_label(rule.basis_points)}{fixed}"


def _who_pays_now(currency: str, seller: Seller | None, category: Category | None, after: AppliedRule) -> str:
    """What applies once a rule is gone, in the policy's order (seller in category > seller > category >
    platform default > built-in 10 %). "The next less specific rule applies" was said even when a
    platform default was deleted, after which the built-in fee applies, not another rule."""
    code, now = currency.upper(), _rule_text(after, currency)
    if seller and category:
        return f"Sales of {seller.shop_name} in {category.name} in {code} now pay {now}."
    if seller:
        return (
            f"Other sales of {seller.shop_name} in {code} now pay {now}"
            " (a rule for it in one category, or for a category, still comes first)."
        )
    if category:
        return f"Sales in {category.name} in {code} now pay {now} (a rule for the seller still comes first)."
    return f"Sales in {code} that no seller or category rule covers now pay {now}."


urlpatterns = [
    path("console/fees/", fees, name="console_fees"),
    path("console/fees/<int:rule_id>/delete/", fee_rule_delete, name="console_fee_rule_delete"),
]
