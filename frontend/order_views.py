"""Order pages: checkout (cart group -> Stripe's hosted page), the return pages, the buyer's orders,
and the seller's orders received with the fulfil form.

Views parse, call one service or selector, render. The success page re-reads the session from
Stripe and goes through the same `order_mark_paid` as the webhook, so the buyer sees "Paid" even
before (or without) the webhook, and nothing is ever done twice.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.selectors import cart_view
from catalog.services import cart_find
from frontend import kept_input
from frontend.paging import page_number
from marketplace.errors import DomainError, NotFound
from marketplace.money import format_money
from orders import selectors, services
from orders.api import checkout_urls
from orders.models import Order, OrderStatus, RefundReason
from payments.selectors import disputes_of_order_for_seller
from payments.services import payment_whole_share
from payouts.selectors import order_net, order_with_earnings, orders_with_earnings
from sellers.models import Seller
from sellers.selectors import seller_for_user

ORDERS_PER_PAGE = 50

# A refused "Mark as shipped" is said beside the box it is about, which the page focuses, and the form
# keeps what was typed: it came back empty, the sentence flashed at the top of a long page, the cursor
# nowhere. Each maps an error's code to its box; another refusal (the order is not paid) stays at the top.
FULFIL_BOXES = {
    "tracking_number_required": "tracking_number",
    "invalid_tracking_number": "tracking_number",
    "invalid_carrier": "carrier",
}


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """GET: review the cart, one "Pay" button per currency (one payment for every shop in it). POST
    (that button, or the cart's): 303 to Stripe's hosted page for everything in that currency, or,
    with a `seller_id`, for that one shop."""
    if request.method == "GET":
        cart = cart_view(cart=cart_find(user=request.user, session=request.session))
        return render(request, "orders/checkout.html", {"cart": cart})
    raw_seller = request.POST.get("seller_id", "")
    # ASCII digits that fit an id: str.isdigit() also takes "²" and 20,000-digit numbers, which int() refuses.
    if raw_seller and not (raw_seller.isascii() and raw_seller.isdigit() and len(raw_seller) <= 18):
        messages.error(request, "Choose which shop to pay.")
        return redirect("cart")
    success, cancel = checkout_urls(request)
    found = cart_find(user=request.user, session=request.session)
    currency = request.POST.get("currency", "")
    try:
        if raw_seller:
            url = services.checkout_start(
                buyer=request.user,
                cart=found,
                seller_id=int(raw_seller),
                currency=currency,
                success_url=success,
                cancel_url=cancel,
            ).url
        else:
            url = services.checkout_start_cart(
                buyer=request.user, cart=found, currency=currency, success_url=success, cancel_url=cancel
            ).url
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("cart")
    return HttpResponseRedirect(url, status=303)


@login_required
@require_GET
def checkout_success(request: HttpRequest) -> HttpResponse:
    """Stripe's success_url: re-read the session (never trust the query string) and mark it paid.

    If Stripe cannot tell us now, the buyer may have been charged: the order says "we are
    confirming your payment" until the webhook or the sweeper knows (never "nothing was charged")."""
    session_id = request.GET.get("session_id", "")
    order = selectors.order_by_session(session_id=session_id) if session_id else None
    if order is None or order.buyer_id != request.user.pk:
        raise Http404("No such checkout.")
    order = services.order_confirm_payment(order=order)
    if order.checkout_group_id is not None:  # one payment, one order per shop: show them all
        if order.is_paid or order.status == OrderStatus.REFUNDED:
            messages.success(request, "Thank you! Your payment went through: one order per shop below.")
            _say_cart_left(request)
        return redirect("order_list")
    if order.is_paid:
        messages.success(request, "Thank you! Your payment went through.")
        _say_cart_left(request)
    return redirect("order_detail", order_id=order.pk)


def _say_cart_left(request: HttpRequest, *, after_a_payment: bool = True) -> None:
    """A cart in several currencies is paid once per currency: after one, what it still holds is said
    with a link to it (base.html draws the link for the `cart-left` tag), or the buyer may leave
    thinking everything was paid. Back from a session that expired unpaid, what it holds is said the
    same way, without the words about paying one currency at a time."""
    left = cart_view(cart=cart_find(user=request.user, session=request.session)).payments
    if left:
        owed = " and ".join(format_money(p.subtotal, p.currency) for p in left)
        payments = "in a payment of its own" if len(left) == 1 else "in one payment per currency"
        said = (
            f"Your cart still holds {owed} to pay, {payments}."
            if after_a_payment
            else f"Your cart still holds {owed} to pay."
        )
        messages.info(request, said, extra_tags="cart-left")


@login_required
@require_GET
def checkout_canceled(request: HttpRequest) -> HttpResponse:
    """Stripe's cancel_url: the buyer left the hosted page; the cart is intact, the order unpaid."""
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=int(request.GET.get("order", "")))
    except (ValueError, NotFound):
        raise Http404("No such order.") from None
    with contextlib.suppress(DomainError):
        order = services.order_sync_from_stripe(order=order)
    if order.status == OrderStatus.PENDING_PAYMENT:
        messages.warning(request, services.PAYMENT_NOT_COMPLETED)
    elif order.status == OrderStatus.EXPIRED:
        # Stripe's page of an expired session links here: the order page says the items were released,
        # and without this the only way on was "All your orders", though the cart still holds them.
        _say_cart_left(request, after_a_payment=False)
    return redirect("order_detail", order_id=order.pk)


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.orders_for_buyer(buyer=request.user), ORDERS_PER_PAGE).get_page(page_number(request))
    return render(request, "orders/list.html", {"orders": list(page), "page": page})


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=order_id)
    except NotFound:
        raise Http404("No such order.") from None
    refunds = selectors.order_refund_panel(order=order, for_buyer=True)
    kept = kept_input.take(request, f"order_refund_request:{order.pk}")  # the request's input, if refused
    _kept_quantities(request, refunds, kept)
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "together": selectors.orders_paid_together(order=order),
        "refunds": refunds,
        "reasons": RefundReason.choices,
        "kept": kept,
    }
    return render(request, "orders/detail.html", context)


def _kept_quantities(request: HttpRequest, refunds: Any, kept: dict[str, str] | None) -> None:
    """Each refundable line's units as the refused form had them (`qty_<line id>`), else 0. Units
    refused are said beside their line's box; a line no longer drawn (its last unit refunded since
    the form was drawn) has none, so its sentence is said at the top instead of nowhere."""
    drawn = set()
    for line, left in refunds.lines_left:
        line.kept_qty = (kept or {}).get(f"qty_{line.pk}") or "0"
        if left:
            drawn.add(f"qty_{line.pk}")
    box = (kept or {}).get("error_box", "")
    if kept is not None and box.startswith("qty_") and box not in drawn:
        messages.error(request, kept["error"])
        kept["error_box"] = ""


@login_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=order_id)
        order = services.order_cancel(order=order, buyer=request.user)
    except NotFound:
        raise Http404("No such order.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if order.status == OrderStatus.CANCELED:
            messages.success(request, "Order canceled. Nothing was charged.")
    return redirect("order_detail", order_id=order_id)


@login_required
@require_POST
def order_received(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=order_id)
        services.order_complete(order=order, buyer=request.user)
    except NotFound:
        raise Http404("No such order.") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thanks for confirming: the order is completed.")
    return redirect("order_detail", order_id=order_id)


# --- Seller -------------------------------------------------------------------------------------------


SELLER_ORDERS_PER_PAGE = 50


def _seller(request: HttpRequest) -> Seller:
    try:
        return seller_for_user(user=request.user)
    except NotFound:
        raise Http404("You don't have a shop yet.") from None


@login_required
@require_GET
def sell_orders(request: HttpRequest) -> HttpResponse:
    """Each order with what the seller receives of it after refunds and lost disputes, as the money
    page counts it (`payouts.selectors.orders_with_earnings`), not the sale less the fee; newest
    first, SELLER_ORDERS_PER_PAGE a page (the newest 100 and no more left a busy shop's older orders,
    unshipped ones too, out of reach). `?status=` keeps one filter's orders (to find what to ship),
    each filter with its count; an unknown one is ignored, as the console's filters do."""
    seller = _seller(request)
    status = request.GET.get("status") or ""
    status = status if status in selectors.SELLER_ORDER_FILTERS else ""
    raw = request.GET.get("page", "")
    number = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 6 and int(raw) > 0 else 1
    start = (number - 1) * SELLER_ORDERS_PER_PAGE
    # One row more than the page tells whether older orders follow, without counting them all.
    rows = list(
        orders_with_earnings(orders=selectors.orders_for_seller(seller=seller, show=status))[
            start : start + SELLER_ORDERS_PER_PAGE + 1
        ]
    )
    counts = selectors.seller_order_counts(seller=seller)
    context = {
        "seller": seller,
        "orders": [(o, order_net(o)) for o in rows[:SELLER_ORDERS_PER_PAGE]],
        "number": number,
        "newer": number - 1 if number > 1 else None,
        "older": number + 1 if len(rows) > SELLER_ORDERS_PER_PAGE else None,
        "status": status,
        "filters": [("", "All", counts["all"])]
        + [(key, label, counts[key]) for key, (label, _) in selectors.SELLER_ORDER_FILTERS.items()],
    }
    return render(request, "sell/orders.html", context)


@login_required
@require_GET
def sell_order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    seller = _seller(request)
    try:
        order = selectors.order_for_seller(seller=seller, order_id=order_id)
    except NotFound:
        raise Http404("No such order.") from None
    refunds = selectors.order_refund_panel(order=order)
    kept = kept_input.take(request, f"sell_order_refund:{order.pk}")  # the refund's input, if refused
    _kept_quantities(request, refunds, kept)
    # What refunds and lost disputes left, as the money page says.
    earned = order_with_earnings(orders=Order.objects.filter(pk=order.pk))
    disputed = order.payment is not None and bool(order.payment.dispute_status)
    now = timezone.now()
    context = {
        "seller": seller,
        "order": order,
        # Only a disputed payment's page asks (one query): the others keep their query count. Each
        # with whether this seller may still add its side (it names them, and the deadline is ahead).
        "disputes": [
            (d, d.seller_id == seller.pk and d.is_answerable and (d.due_by is None or d.due_by > now))
            for d in (disputes_of_order_for_seller(seller=seller, order=order) if disputed else [])
        ],
        "earned": earned,
        "net": order_net(earned),
        "lines": list(order.lines.all()),
        "refunds": refunds,
        "form_token": uuid.uuid4().hex,  # the refund form's (see `refund_views.refund_form_token`)
        "kept": kept,
        "kept_ship": kept_input.take(request, f"sell_order_fulfil:{order.pk}"),  # the shipping form's, if refused
        # A refund of everything left would take the seller's whole share at Stripe: the form says so first.
        "whole": (
            payment_whole_share(payment=order.payment, refunds=refunds.refunds) if order.payment is not None else None
        ),
    }
    return render(request, "sell/orders_detail.html", context)


@login_required
@require_POST
def sell_order_fulfil(request: HttpRequest, order_id: int) -> HttpResponse:
    seller = _seller(request)
    try:
        order = selectors.order_for_seller(seller=seller, order_id=order_id)
        services.order_mark_fulfilled(
            order=order,
            seller=seller,
            tracking_number=request.POST.get("tracking_number", ""),
            carrier=request.POST.get("carrier", ""),
        )
    except NotFound:
        raise Http404("No such order.") from None
    except DomainError as exc:
        if box := FULFIL_BOXES.get(exc.code):  # said beside its box, focused, with what was typed
            extra = {"error": exc.message, "error_box": box}
            kept_input.keep(request, f"sell_order_fulfil:{order_id}", set(FULFIL_BOXES.values()), extra=extra)
        else:
            messages.error(request, exc.message)
    else:
        messages.success(request, "Marked as shipped. The buyer gets the tracking number by email.")
    return redirect("sell_order_detail", order_id=order_id)


urlpatterns = [
    path("checkout/", checkout, name="checkout"),
    path("checkout/success/", checkout_success, name="checkout_success"),
    path("checkout/canceled/", checkout_canceled, name="checkout_canceled"),
    path("orders/", order_list, name="order_list"),
    path("orders/<int:order_id>/", order_detail, name="order_detail"),
    path("orders/<int:order_id>/cancel/", order_cancel, name="order_cancel"),
    path("orders/<int:order_id>/received/", order_received, name="order_received"),
    path("sell/orders/", sell_orders, name="sell_orders"),
    path("sell/orders/<int:order_id>/", sell_order_detail, name="sell_order_detail"),
    path("sell/orders/<int:order_id>/fulfil/", sell_order_fulfil, name="sell_order_fulfil"),
]
