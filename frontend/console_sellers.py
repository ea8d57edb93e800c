"""Platform admin pages for sellers: the list (status filters, requirement counts), one seller's
Stripe state, disputes, subscriptions and their payments (each to refund from the Refunds page),
pause / unpause with a reason, and a re-read from Stripe."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from frontend.decorators import platform_admin_required
from marketplace.errors import DomainError
from marketplace.text import TextAreaField
from orders.selectors import charge_disputed
from payments.selectors import (
    seller_debts_outstanding,
    seller_dispute_rate,
    seller_disputes_for_console,
    sellers_dispute_rates,
)
from sellers import selectors, services
from sellers.models import Seller, SellerStatus
from subscriptions.selectors import subscribers_of_seller, subscription_payments_of_seller

PAGE_SIZE = 50
DETAIL_ROWS = 50  # the newest of each list on a seller's page
REASON_MAX_LENGTH = 2000


UNPAUSE_REASON_REQUIRED = "Give a reason: other admins read it in the history below."


class ModerationForm(forms.Form):
    reason = TextAreaField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=REASON_MAX_LENGTH,
        error_messages={
            "required": "Give a reason: the seller and other admins will read it.",
            "max_length": f"Keep the reason to at most {REASON_MAX_LENGTH:,} characters.",
        },
    )


@platform_admin_required
@require_GET
def console_sellers(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    if status not in SellerStatus.values:
        status = ""
    query = (request.GET.get("q") or "").strip()
    page = Paginator(selectors.sellers_for_console(status=status or None, query=query or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = selectors.seller_status_counts()
    filters = [(s.value, s.label, counts.get(s.value, 0)) for s in SellerStatus]
    rates = sellers_dispute_rates(seller_ids=[s.pk for s in page])
    context = {
        "page": page,
        "status": status,
        "query": query,
        "filters": filters,
        "total": sum(counts.values()),
        "flagged": {seller_id for seller_id, rate in rates.items() if rate.flagged},
    }
    return render(request, "console/sellers.html", context)


@platform_admin_required
@require_GET
def console_seller_detail(request: HttpRequest, seller_id: int) -> HttpResponse:
    return _detail_page(request, seller_id)


def _detail_page(
    request: HttpRequest, seller_id: int, *, typed_reason: str = "", reason_error: str = "", status: int = 200
) -> HttpResponse:
    """The seller's page; `typed_reason`: a refused pause or unpause's reason, back in its box, with
    `reason_error` said next to it (the box focused, so a keyboard or screen-reader user lands on it)."""
    seller = get_object_or_404(Seller.objects.select_related("user", "paused_by"), pk=seller_id)
    subscribers = subscribers_of_seller(seller=seller)
    sub_payments = list(subscription_payments_of_seller(seller=seller)[:DETAIL_ROWS])
    context = {
        "o": selectors.seller_overview(seller=seller),
        "seller": seller,
        "history": seller.moderation_entries.select_related("actor")[:DETAIL_ROWS],
        "dispute_rate": seller_dispute_rate(seller=seller),
        "debts": seller_debts_outstanding(seller=seller),
        "disputes": seller_disputes_for_console(seller=seller, limit=DETAIL_ROWS),
        "revenue": subscribers.revenue,
        "subscriptions": list(subscribers.rows[:DETAIL_ROWS]),
        "sub_payments": sub_payments,
        # Stripe refuses any refund of a charge the bank disputed (`charge_disputed`): no Refund link.
        "charged_back": {i.payment_id for i in sub_payments if charge_disputed(i.payment)},
        "detail_rows": DETAIL_ROWS,
        "form": ModerationForm(),
        "reason_max_length": REASON_MAX_LENGTH,
        "typed_reason": typed_reason,
        "reason_error": reason_error,
    }
    return render(request, "console/sellers_detail.html", context, status=status)


@platform_admin_required
@require_POST
def console_seller_pause(request: HttpRequest, seller_id: int) -> HttpResponse:
    return _moderate(request, seller_id, pause=True)


@platform_admin_required
@require_POST
def console_seller_unpause(request: HttpRequest, seller_id: int) -> HttpResponse:
    return _moderate(request, seller_id, pause=False)


def _moderate(request: HttpRequest, seller_id: int, *, pause: bool) -> HttpResponse:
    seller = get_object_or_404(Seller, pk=seller_id)
    form = ModerationForm(request.POST)
    if not pause:  # an unpause's reason goes to the history only: the seller never reads it
        form.fields["reason"].error_messages["required"] = UNPAUSE_REASON_REQUIRED
    if not form.is_valid():  # the page again, with what was typed (a redirect would lose it)
        typed, error = form.data.get("reason", ""), " ".join(str(e) for e in form.errors["reason"])
        return _detail_page(request, seller.pk, typed_reason=typed, reason_error=error, status=422)
    try:
        if pause:
            services.seller_pause(seller=seller, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, f"{seller.shop_name} is paused: its listings are hidden.")
        else:
            services.seller_unpause(seller=seller, actor=request.user, reason=form.cleaned_data["reason"])
            _said_unpaused(request, seller)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("console_seller_detail", seller_id=seller.pk)


def _said_unpaused(request: HttpRequest, seller: Seller) -> None:
    """ "X is unpaused." read as "it sells again" even when Stripe still kept its charges off."""
    if selectors.seller_can_sell(seller):
        messages.success(request, f"{seller.shop_name} is unpaused: its listings are shown again.")
    else:
        messages.warning(
            request,
            f"{seller.shop_name} is unpaused, but cannot sell yet (status: {seller.get_status_display()}). "
            "Its listings stay hidden until Stripe lets it take payments again.",
        )


@platform_admin_required
@require_POST
def console_seller_refresh(request: HttpRequest, seller_id: int) -> HttpResponse:
    seller = get_object_or_404(Seller, pk=seller_id)
    # Nothing is read for a shop without an account (started while Stripe was down) or one that
    # disconnected: "Re-read from Stripe." would say a read happened.
    if not seller.stripe_account_id:
        messages.info(
            request,
            f"{seller.shop_name} has no Stripe account yet, so there is nothing to read: its owner creates one"
            " with “Set up payments with Stripe”.",
        )
    elif seller.disconnected_at is not None:
        messages.info(request, f"{seller.shop_name} disconnected its Stripe account: Stripe no longer lets us read it.")
    else:
        try:
            services.seller_refresh_from_stripe(seller=seller)
            messages.success(request, "Re-read from Stripe.")
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("console_seller_detail", seller_id=seller.pk)
