"""Subscriptions: "Subscribe" on a listing (Stripe's Checkout, `mode=subscription`), the buyer's
"Your subscriptions" (with the refunds of their payments) and "Manage billing" (Stripe's customer
portal, which comes back here), the seller's subscribers (each to end at its period end, or that
end undone), monthly recurring revenue and which listings are sold by subscription, and a
subscription payment's page, where the seller refunds it in full or in part. Views parse, call
one service or selector, render."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from frontend import kept_input
from frontend.paging import page_number
from frontend.refund_views import (
    REFUND_AMOUNT_BOXES,
    REFUND_REASON_BOXES,
    refund_amount,
    refund_form_token,
    refund_refused,
    refund_said,
    whole_share_ok,
)
from marketplace.errors import DomainError, NotFound
from marketplace.money import format_money
from payments.models import RefundOrigin
from payments.services import payment_whole_share
from sellers.models import Seller
from subscriptions import selectors, services
from subscriptions.models import Interval

PER_PAGE = 50


def _attempt(request: HttpRequest) -> str:
    try:
        return uuid.UUID(request.POST.get("attempt", "")).hex
    except ValueError:
        return uuid.uuid4().hex


@login_required
@require_POST
def subscribe(request: HttpRequest, listing_id: int) -> HttpResponse:
    """303 to Stripe's Checkout for a subscription to this listing."""
    done = request.build_absolute_uri(reverse("subscription_started")) + "?session_id={CHECKOUT_SESSION_ID}"
    # Back by Stripe's Cancel link, the listing says nothing was charged (`storefront_views.listing`).
    back = request.build_absolute_uri(reverse("storefront_listing", args=[listing_id])) + "?left=checkout"
    try:
        start = services.subscription_checkout_start(
            buyer=request.user, listing_id=listing_id, attempt=_attempt(request), success_url=done, cancel_url=back
        )
    except NotFound:
        raise Http404("No such subscription.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("storefront_listing", listing_id=listing_id)
    return HttpResponseRedirect(start.url, status=303)


@login_required
@require_GET
def subscription_started(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    if not session_id.startswith("cs_"):
        raise Http404("No such subscription checkout.")
    try:
        sub = services.subscription_checkout_finish(buyer=request.user, session_id=session_id)
    except NotFound:
        raise Http404("No such subscription checkout.") from None
    except DomainError as exc:
        messages.warning(request, f"We are confirming your subscription: {exc.message}")
        return redirect("my_subscriptions")
    if sub is None:
        messages.warning(request, "The subscription has not started: the first payment did not go through.")
    elif selectors.earlier_live_twins(subscription=sub).exists():
        # Two Checkout pages both paid: this one is the second, canceled and refunded by its
        # follow-up (maybe not yet): say so, not "You subscribed".
        messages.warning(
            request,
            f"You already subscribe to {sub.title}, so this second subscription is canceled and its payment of "
            f"{format_money(sub.amount, sub.currency)} refunded in full; your first subscription goes on as before.",
        )
    else:
        messages.success(request, f"You subscribed to {sub.title}.")
    return redirect("my_subscriptions")


@login_required
@require_GET
def my_subscriptions(request: HttpRequest) -> HttpResponse:
    subs = list(selectors.subscriptions_of_buyer(user=request.user))
    refunds = selectors.refunds_of_buyer_subscriptions(user=request.user)
    for sub in subs:
        sub.refunds = refunds.get(sub.pk, [])  # type: ignore[attr-defined]
    return render(request, "subscriptions/mine.html", {"subscriptions": subs, "visit": uuid.uuid4().hex})


@login_required
@require_POST
def manage_billing(request: HttpRequest) -> HttpResponse:
    """303 to Stripe's customer portal, which returns to "Your subscriptions"."""
    back = request.build_absolute_uri(reverse("my_subscriptions"))
    try:
        url = services.billing_portal_url(user=request.user, return_url=back, visit=_attempt(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("my_subscriptions")
    return HttpResponseRedirect(url, status=303)


def _seller(request: HttpRequest) -> Seller:
    seller = Seller.objects.filter(user_id=int(request.user.pk or 0)).first()
    if seller is None:
        raise Http404("You don't have a shop yet.")
    return seller


@login_required
@require_GET
def sell_subscriptions(request: HttpRequest) -> HttpResponse:
    """Subscribers and the listings' ways of selling, each list 50 a page (`?page=`, `?listings_page=`)."""
    seller = _seller(request)
    subscribers = selectors.subscribers_of_seller(seller=seller)
    subs_page = Paginator(subscribers.rows, PER_PAGE).get_page(page_number(request))
    plans_page = Paginator(selectors.listings_with_plans(seller=seller), PER_PAGE).get_page(
        page_number(request, "listings_page")
    )
    return render(
        request,
        "subscriptions/sell.html",
        {
            "seller": seller,
            "revenue": subscribers.revenue,
            "rows": list(subs_page),
            "subs_page": subs_page,
            "listings": list(plans_page),
            "plans_page": plans_page,
            "intervals": Interval.choices,
        },
    )


@login_required
@require_POST
def sell_subscription_plan(request: HttpRequest, listing_id: int) -> HttpResponse:
    """Sell a listing once, monthly or yearly; sold once, its subscriptions may end at period end."""
    seller = _seller(request)
    try:
        done = services.plan_set(
            seller=seller,
            listing_id=listing_id,
            interval=request.POST.get("interval", ""),
            end_subscriptions=request.POST.get("end_subscriptions") == "1",
        )
    except NotFound:
        raise Http404("No such listing.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sell_subscriptions")
    sold = "Sold once" if done.plan is None else f"Sold by subscription, {done.plan.get_interval_display().lower()}"
    if not done.published:  # the Subscribers page lists drafts too
        said = f"{sold}. Buyers cannot see it yet: publish it on Your listings."
    elif not done.shop_can_sell:
        said = f"{sold}. Buyers cannot see it yet: your shop cannot sell for now (Your shop says why)."
    elif done.plan is None:
        said = f"{sold}: buyers add it to their cart."
    else:
        said = f"{sold}: buyers subscribe."
    if done.ending:
        said += (
            f" Its {done.ending} subscription{pluralize(done.ending)} end{pluralize(done.ending, 's,')} at the end of"
            " the period paid for: no further payment is taken and nothing is refunded."
        )
    if done.kept == 1:
        said += " Its 1 subscriber keeps their subscription and is charged as before until they cancel it."
    elif done.kept:
        said += f" Its {done.kept} subscribers keep their subscription and are charged as before until they cancel it."
    messages.success(request, said)
    return redirect("sell_subscriptions")


@login_required
@require_POST
def sell_subscription_end(request: HttpRequest, subscription_id: int) -> HttpResponse:
    """End a subscriber's subscription at its period end ("end") or undo the shop's end ("keep")."""
    action = request.POST.get("action", "")
    if action not in ("end", "keep"):  # a form of another page, or none: change nothing
        messages.error(request, "Choose “End at period end” or “Keep subscription” on a subscriber's row.")
        return redirect("sell_subscriptions")
    end = action == "end"
    try:
        done = services.subscription_shop_end(seller=_seller(request), subscription_id=subscription_id, end=end)
    except NotFound:
        raise Http404("No such subscription.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sell_subscriptions")
    sub = done.subscription
    until = date_filter(sub.current_period_end, "j M Y") if sub.current_period_end else "the end of its period"
    who = f"{sub.buyer.email}'s subscription to {sub.title}"
    if not done.sent:
        messages.warning(
            request,
            f"Stripe could not be reached: your change to {who} is saved and sent again in a moment; "
            "this page says when Stripe has it.",
        )
    elif end:
        messages.success(
            request,
            f"{who} ends on {until}: they keep the period they paid for, nothing is refunded and no further "
            "payment is taken. We emailed them.",
        )
    else:
        messages.success(request, f"{who} goes on: its next payment is on {until}. We emailed them.")
    return redirect("sell_subscriptions")


@login_required
@require_GET
def sell_subscription_payment(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """One paid invoice of a subscriber: what it left, its refunds, and the form to refund it."""
    try:
        found = selectors.subscription_payment_for_seller(seller=_seller(request), invoice_id=invoice_id)
    except NotFound:
        raise Http404("No such subscription payment.") from None
    context = {
        "found": found,
        "invoice": found.invoice,
        "form_token": uuid.uuid4().hex,  # the refund form's (see `refund_views.refund_form_token`)
        "kept": kept_input.take(request, f"sell_subscription_refund:{invoice_id}"),
        # A refund of everything left would take the seller's whole share at Stripe: the form says so first.
        "whole": (
            payment_whole_share(payment=found.invoice.payment, refunds=found.refunds) if found.invoice.payment else None
        ),
    }
    return render(request, "subscriptions/sell_payment.html", context)


@login_required
@require_POST
def sell_subscription_refund(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The seller refunds (part of) a subscription payment; the subscription itself goes on."""
    try:
        found = selectors.subscription_payment_for_seller(seller=_seller(request), invoice_id=invoice_id)
    except NotFound:
        raise Http404("No such subscription payment.") from None
    form = f"sell_subscription_refund:{invoice_id}"
    try:
        refund = services.subscription_payment_refund(
            invoice=found.invoice,
            actor=request.user,
            origin=RefundOrigin.SELLER,
            amount=refund_amount(request.POST.get("amount", ""), found.invoice.currency),
            reason=request.POST.get("reason", "").strip(),  # none typed, none said to the buyer
            token=refund_form_token(request),
            whole_share_ok=whole_share_ok(request),
        )
    except DomainError as exc:
        refund_refused(request, exc, form, ["amount", "reason"], boxes={**REFUND_AMOUNT_BOXES, **REFUND_REASON_BOXES})
    else:
        refund_said(request, refund, "{amount} refunded to the buyer.", form=form, names=["amount", "reason"])
    return redirect("sell_subscription_payment", invoice_id=invoice_id)


urlpatterns = [
    path("listing/<int:listing_id>/subscribe/", subscribe, name="subscribe"),
    path("account/subscriptions/", my_subscriptions, name="my_subscriptions"),
    path("account/subscriptions/started/", subscription_started, name="subscription_started"),
    path("account/subscriptions/billing/", manage_billing, name="manage_billing"),
    path("sell/subscriptions/", sell_subscriptions, name="sell_subscriptions"),
    path("sell/subscriptions/<int:listing_id>/plan/", sell_subscription_plan, name="sell_subscription_plan"),
    path("sell/subscriptions/<int:subscription_id>/end/", sell_subscription_end, name="sell_subscription_end"),
    path("sell/subscriptions/payments/<int:invoice_id>/", sell_subscription_payment, name="sell_subscription_payment"),
    path(
        "sell/subscriptions/payments/<int:invoice_id>/refund/",
        sell_subscription_refund,
        name="sell_subscription_refund",
    ),
]
