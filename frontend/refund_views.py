"""Refund pages of the three faces: the buyer's request form (on the order page), the seller's
requests (open first) with approve / decline and the seller's own refund (on the order page), and
the admins' console of requests no seller answered in time, refunds that need a look, and a refund
of any order or subscription payment, with or without taking it back from the seller.

Views parse, call one service, and say what happened in a sentence; a refund Stripe refused says
why (the seller's balance too low, a dispute), and nothing is recorded as refunded.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from frontend import kept_input
from frontend.decorators import platform_admin_required
from frontend.form_text import posted_text
from marketplace.errors import DomainError, InvalidInput, NotFound
from marketplace.money import format_money, parse_major_units
from orders import selectors
from orders.models import Order, RefundRequest
from orders.services.refunds import (
    DECISION_NOTE_MAX,
    NOTE_MAX,
    LineQuantity,
    LineQuantityRefused,
    order_refund,
    refund_request_approve,
    refund_request_create,
    refund_request_decline,
)
from payments.models import Refund, RefundOrigin, RefundStatus
from payments.selectors import refunds_needing_attention, refunds_recent
from payments.services import WHOLE_SHARE_UNCONFIRMED, refund_attention_handle
from sellers.models import Seller
from sellers.selectors import seller_for_user
from subscriptions.selectors import subscription_payment_by_stripe_id
from subscriptions.services import subscription_payment_refund


def _seller(request: HttpRequest) -> Seller:
    try:
        return seller_for_user(user=request.user)
    except NotFound:
        raise Http404("You don't have a shop yet.") from None


def refund_amount(text: str, currency: str) -> int | None:
    """A form's amount in major units ("12.50"); blank means "all that was asked / is left". A negative
    one is refused as zero is, in one sentence: "zero or more" (the parser's, for prices and fees)
    told the admin 0 would do, and 0 was then refused as not positive."""
    if not (text or "").strip():
        return None
    try:
        return parse_major_units(text, currency)
    except InvalidInput as exc:
        if exc.code == "negative_amount":
            raise InvalidInput("A refund must be a positive amount.", code="invalid_amount") from None
        raise


def _chosen_lines(request: HttpRequest, order: Order) -> list[LineQuantity] | None:
    """`qty_<line id>` fields: the units of each line to give back; none filled means the whole order.
    Digits are read as amounts are (`parse_major_units`): ASCII, and full-width ones as ASCII. One
    that is no number is refused beside its line's box (`LineQuantityRefused`)."""
    chosen = []
    for line in order.lines.all():
        raw = unicodedata.normalize("NFKC", request.POST.get(f"qty_{line.pk}") or "").strip()
        if raw in ("", "0"):
            continue
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
            raise LineQuantityRefused(f"Enter a number of “{line.title}”.", line_id=line.pk)
        chosen.append(LineQuantity(line.pk, int(raw)))
    return chosen or None


def refund_form_token(request: HttpRequest) -> str:
    """The form's hidden token, so that a double click (or the browser re-posting) finds the refund
    the first submission made instead of making a second one. A form without one (a page served
    before the token existed) still refunds, once per submission."""
    raw = (request.POST.get("form_token") or "").strip()
    if not raw:
        return ""
    if len(raw) > 64 or not (raw.isascii() and raw.isalnum()):
        raise InvalidInput("The form is out of date: reload the page and try again.", code="invalid_form_token")
    return f"form:{raw}"


def whole_share_ok(request: HttpRequest) -> bool:
    """The form's "Take back the whole share" box: the person read that a refund of everything left
    after refunds the platform paid takes the seller's whole share at Stripe
    (`payments.services.payment_whole_share`)."""
    return request.POST.get("whole_share") == "on"


def refund_refused(
    request: HttpRequest,
    exc: DomainError,
    form: str,
    names: Iterable[str],
    *,
    prefixes: Iterable[str] = (),
    boxes: Mapping[str, str] | None = None,
) -> None:
    """A refund form's error: its sentence, and what was typed kept for the form drawn again, with
    the box "Take back the whole share" shown when that is why it was refused (`whole_share_asked`).
    `boxes` maps an error's code to the field it is about: that sentence is said beside the field
    (`error`, `error_box` kept for the template, which focuses it) instead of flashed at the top. Units
    of a line refused are said beside that line's box (`qty_<line id>`), on the forms that have them.
    Text refused as too long comes back whole, for the person to shorten (`KEPT_TEXT_MAX`)."""
    prefixes = list(prefixes)
    extra = {"whole_share_asked": "1"} if exc.code == WHOLE_SHARE_UNCONFIRMED else {}
    line_box = f"qty_{exc.line_id}" if isinstance(exc, LineQuantityRefused) else None
    box = line_box if line_box and "qty_" in prefixes else (boxes or {}).get(exc.code)
    if box:
        extra |= {"error": exc.message, "error_box": box}
    else:
        messages.error(request, exc.message)
    kept_input.keep(
        request, form, [*names, "whole_share"], prefixes=prefixes, max_length=KEPT_TEXT_MAX, extra=extra or None
    )


# A refused form's text comes back whole up to ten times its longest box (a note): one refused as too
# long is there to be shortened, not cut again where the person cannot see it.
KEPT_TEXT_MAX = 10 * max(NOTE_MAX, DECISION_NOTE_MAX)


# A refusal about one box of a refund form is said beside that box, which the page focuses: the forms sit
# low on long pages, and at 375 px a sentence flashed at the top was out of sight, the cursor nowhere.
# Each maps an error's code to the box (`refund_refused`'s `boxes`); other errors (Stripe, a dispute, a
# request answered meanwhile, the whole share unconfirmed) are about no box and stay at the top.
REFUND_AMOUNT_BOXES = dict.fromkeys(
    ("invalid_amount", "too_many_decimals", "amount_too_large", "refund_exceeds_remaining"), "amount"
)
# A refund's own reason (the buyer reads it), on the forms that have one: an approval's is the request's.
REFUND_REASON_BOXES = {"reason_too_long": "reason"}
APPROVE_BOXES = {**REFUND_AMOUNT_BOXES, "amount_above_request": "amount", "note_too_long": "note"}
DECLINE_BOXES = {"reason_required": "reason", "reason_too_long": "reason"}
SELLER_REFUND_BOXES = {
    **REFUND_AMOUNT_BOXES,
    **REFUND_REASON_BOXES,
    "amount_above_lines": "amount",
    "restock_needs_items": "restock",
}
REFUND_REQUEST_BOXES = {
    "invalid_reason": "reason",
    **dict.fromkeys(("note_required", "note_too_long"), "note"),
    **dict.fromkeys(("no_lines", "scope_mismatch"), "scope"),
}


# Each refund form's fields, kept when the form is refused or Stripe refuses the refund.
APPROVE_FIELDS = ("amount", "note", "restock")
CONSOLE_APPROVE_FIELDS = (*APPROVE_FIELDS, "from_seller")
SELLER_REFUND_FIELDS = ("amount", "reason", "restock")


def refund_said(
    request: HttpRequest,
    refund: Refund,
    done: str,
    *,
    form: str,
    names: Iterable[str],
    prefixes: Iterable[str] = (),
) -> None:
    """What happened to a refund, in a sentence. One Stripe refused (the seller's balance too low) keeps
    what was typed, as a refused form does (`refund_refused`): nothing was refunded, and the person sends
    it again later or hands it on, where the form drawn empty had lost the amount, note and units."""
    if refund.status == RefundStatus.FAILED:
        # The console's forms are the admins'; every other is the seller's, who reads its own sentence.
        said = refund.failure_message if form.startswith("console:") else refund.failure_for_seller
        messages.error(request, said)
        kept_input.keep(request, form, [*names, "whole_share"], prefixes=prefixes, max_length=KEPT_TEXT_MAX)
    elif refund.status == RefundStatus.CREATED:
        messages.warning(request, "Stripe could not be reached; the refund is sent automatically as soon as it can.")
    else:
        messages.success(request, done.format(amount=format_money(refund.amount, refund.currency)))


# --- Buyer --------------------------------------------------------------------------------------------


@login_required
@require_POST
def order_refund_request(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = selectors.order_for_buyer(buyer=request.user, order_id=order_id)
    except NotFound:
        raise Http404("No such order.") from None
    try:
        scope = request.POST.get("scope")
        typed = _chosen_lines(request, order)
        if scope == "whole" and typed:
            # The whole order (or all that is left) starts checked: units typed under "Some items" with it
            # still chosen are what the buyer meant, and asking for everything instead would ask for more.
            raise InvalidInput(
                "You entered units of some items without choosing “Some items”: choose it to ask for those "
                "units, or clear them to ask for the whole order.",
                code="scope_mismatch",
            )
        lines = None if scope == "whole" else typed
        if scope == "lines" and lines is None:
            raise InvalidInput("Choose how many of which item, or ask for the whole order.", code="no_lines")
        refund_request_create(
            order=order,
            buyer=request.user,
            reason=request.POST.get("reason", ""),
            note=posted_text(request, "note"),  # its line breaks counted as the text area counts them
            lines=lines,
        )
    except DomainError as exc:
        form = f"order_refund_request:{order_id}"
        refund_refused(request, exc, form, ["reason", "note", "scope"], prefixes=["qty_"], boxes=REFUND_REQUEST_BOXES)
    else:
        messages.success(request, "Your refund request is with the seller. We email you their answer.")
    return redirect("order_detail", order_id=order_id)


# --- Seller -------------------------------------------------------------------------------------------


@login_required
@require_GET
def sell_refund_requests(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    found = list(selectors.refund_requests_for_seller(seller=seller)[:100])
    again = kept_input.take(request, "sell_refund:")  # what an approval or a decline was sent with, if refused
    for one in found:
        one.kept = _kept_for(again, f"sell_refund:approve:{one.pk}")  # type: ignore[attr-defined]
        one.kept_decline = _kept_for(again, f"sell_refund:decline:{one.pk}")  # type: ignore[attr-defined]
        # Asked before the bank disputed the payment: no refund can be made any more, only declined.
        charged_back = selectors.payment_charged_back(one.order)
        one.charged_back = selectors.charged_back_for_seller(one.order.payment) if charged_back else ""  # type: ignore[attr-defined]
    return render(
        request,
        "sell/refund_requests.html",
        {
            "seller": seller,
            "requests": found,
            "admin_after_days": settings.REFUND_ADMIN_AFTER_DAYS,
        },
    )


def _seller_request(request: HttpRequest, request_id: int) -> RefundRequest:
    try:
        return selectors.refund_request_for_seller(seller=_seller(request), request_id=request_id)
    except NotFound:
        raise Http404("No such refund request.") from None


@login_required
@require_POST
def sell_refund_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    found = _seller_request(request, request_id)
    try:
        refund = refund_request_approve(
            request=found,
            user=request.user,
            amount=refund_amount(request.POST.get("amount", ""), found.order.currency),
            restock=request.POST.get("restock") == "on",
            note=request.POST.get("note", ""),
            whole_share_ok=whole_share_ok(request),
        )
    except DomainError as exc:
        refund_refused(request, exc, f"sell_refund:approve:{request_id}", APPROVE_FIELDS, boxes=APPROVE_BOXES)
    else:
        said = f"sell_refund:approve:{request_id}"
        refund_said(request, refund, "Approved: {amount} refunded to the buyer.", form=said, names=APPROVE_FIELDS)
    return redirect("sell_refund_requests")


@login_required
@require_POST
def sell_refund_request_decline(request: HttpRequest, request_id: int) -> HttpResponse:
    found = _seller_request(request, request_id)
    try:
        refund_request_decline(request=found, user=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        refund_refused(request, exc, f"sell_refund:decline:{request_id}", ["reason"], boxes=DECLINE_BOXES)
    else:
        messages.success(request, "Declined. The buyer gets your reason by email.")
    return redirect("sell_refund_requests")


@login_required
@require_POST
def sell_order_refund(request: HttpRequest, order_id: int) -> HttpResponse:
    """The seller's own refund (out of stock, goodwill)."""
    seller = _seller(request)
    try:
        order = selectors.order_for_seller(seller=seller, order_id=order_id)
    except NotFound:
        raise Http404("No such order.") from None
    try:
        refund = order_refund(
            order=order,
            actor=request.user,
            origin=RefundOrigin.SELLER,
            amount=refund_amount(request.POST.get("amount", ""), order.currency),
            lines=_chosen_lines(request, order),
            reason=request.POST.get("reason", "").strip(),  # none typed, none said to the buyer
            restock=request.POST.get("restock") == "on",
            token=refund_form_token(request),
            whole_share_ok=whole_share_ok(request),
        )
    except DomainError as exc:
        refund_refused(
            request,
            exc,
            f"sell_order_refund:{order_id}",
            SELLER_REFUND_FIELDS,
            prefixes=["qty_"],
            boxes=SELLER_REFUND_BOXES,
        )
    else:
        said = f"sell_order_refund:{order_id}"
        refund_said(
            request, refund, "{amount} refunded to the buyer.", form=said, names=SELLER_REFUND_FIELDS, prefixes=["qty_"]
        )
    return redirect("sell_order_detail", order_id=order_id)


# --- Platform admin ---------------------------------------------------------------------------------------


@platform_admin_required
@require_GET
def console_refunds(request: HttpRequest) -> HttpResponse:
    return _console_refunds_page(request)


def _console_refused(request: HttpRequest) -> HttpResponse:
    """A refused console refund form (its sentence and what was typed already kept): the page drawn
    at once, the form as it was sent, answering 422 as the site's other refused forms do, where a
    redirect made it a 200 that scripts and tests could not tell from a success."""
    return _console_refunds_page(request, status=422)


def _console_refunds_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    again = kept_input.take(request, "console:")  # what an approval or the order refund was sent with
    overdue = list(selectors.refund_requests_overdue()[:100])
    for found in overdue:
        found.kept = _kept_for(again, f"console:approve:{found.pk}")  # type: ignore[attr-defined]
        found.kept_decline = _kept_for(again, f"console:decline:{found.pk}")  # type: ignore[attr-defined]
    context = {
        "overdue": overdue,
        "attention": list(refunds_needing_attention()[:100]),
        "recent": list(refunds_recent(limit=50)),
        "admin_after_days": settings.REFUND_ADMIN_AFTER_DAYS,
        "form_token": uuid.uuid4().hex,  # the refund form's, new on each page (see `refund_form_token`)
        "kept": _kept_for(again, "console:order_refund"),
        "kept_sub": _kept_for(again, "console:subscription_refund"),
        # a payment's Stripe id from the seller page's Refund link: the form filled with it, nothing sent
        "sub_stripe_id": (request.GET.get("stripe_id") or "").strip()[:255],
    }
    return render(request, "console/refunds.html", context, status=status)


def _kept_for(kept: dict[str, str] | None, form: str) -> dict[str, str] | None:
    return kept if kept is not None and kept["form"] == form else None


def _any_request(request_id: int) -> RefundRequest:
    try:
        return selectors.refund_request_by_id(request_id=request_id)
    except NotFound:
        raise Http404("No such refund request.") from None


@platform_admin_required
@require_POST
def console_refund_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    found = _any_request(request_id)
    try:
        refund = refund_request_approve(
            request=found,
            user=request.user,
            amount=refund_amount(request.POST.get("amount", ""), found.order.currency),
            restock=request.POST.get("restock") == "on",
            note=request.POST.get("note", ""),
            admin=True,
            reverse_transfer=request.POST.get("from_seller") == "on",
            whole_share_ok=whole_share_ok(request),
        )
    except DomainError as exc:
        refund_refused(
            request,
            exc,
            f"console:approve:{request_id}",
            CONSOLE_APPROVE_FIELDS,
            boxes=APPROVE_BOXES,
        )
        return _console_refused(request)
    else:
        said = f"console:approve:{request_id}"
        refund_said(
            request, refund, "Approved: {amount} refunded to the buyer.", form=said, names=CONSOLE_APPROVE_FIELDS
        )
    return redirect("console_refunds")


@platform_admin_required
@require_POST
def console_refund_request_decline(request: HttpRequest, request_id: int) -> HttpResponse:
    found = _any_request(request_id)
    try:
        refund_request_decline(request=found, user=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        refund_refused(request, exc, f"console:decline:{request_id}", ["reason"], boxes=DECLINE_BOXES)
        return _console_refused(request)
    else:
        messages.success(request, "Declined. The buyer gets the reason by email.")
    return redirect("console_refunds")


CONSOLE_REFUND_FIELDS = ("order_id", "amount", "reason", "from_seller")
# The console's "Refund an order" is the last form of a long page: a refusal about one of its boxes is
# said beside that box, which the page focuses (at 375 px a sentence flashed at the top is out of sight).
CONSOLE_REFUND_BOXES = {
    **dict.fromkeys(("order_not_found", "order_not_refundable", "charge_disputed", "nothing_to_refund"), "order_id"),
    **REFUND_AMOUNT_BOXES,
    **REFUND_REASON_BOXES,
    "amount_above_lines": "amount",
}


@platform_admin_required
@require_POST
def console_order_refund(request: HttpRequest) -> HttpResponse:
    """Refund any order; unticking "take it back from the seller" makes the platform pay it."""
    raw_id = (request.POST.get("order_id") or "").strip().lstrip("#")
    ok = raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 9
    order = selectors.order_by_id(order_id=int(raw_id)) if ok else None
    if order is None:
        missing = NotFound("No order has that number.", code="order_not_found")
        refund_refused(request, missing, "console:order_refund", CONSOLE_REFUND_FIELDS, boxes=CONSOLE_REFUND_BOXES)
        return _console_refused(request)
    try:
        refund = order_refund(
            order=order,
            actor=request.user,
            origin=RefundOrigin.ADMIN,
            amount=refund_amount(request.POST.get("amount", ""), order.currency),
            lines=None,
            reason=request.POST.get("reason", "").strip(),  # none typed, none said to the buyer
            restock=False,
            reverse_transfer=request.POST.get("from_seller") == "on",
            token=refund_form_token(request),
            whole_share_ok=whole_share_ok(request),
        )
    except DomainError as exc:
        refund_refused(request, exc, "console:order_refund", CONSOLE_REFUND_FIELDS, boxes=CONSOLE_REFUND_BOXES)
        return _console_refused(request)
    else:
        done = f"Order {order.pk}: {{amount}} refunded to the buyer."
        refund_said(request, refund, done, form="console:order_refund", names=CONSOLE_REFUND_FIELDS)
    return redirect("console_refunds")


CONSOLE_SUBSCRIPTION_REFUND_FIELDS = ("stripe_id", "amount", "reason", "from_seller")
CONSOLE_SUBSCRIPTION_REFUND_BOXES = {
    **REFUND_AMOUNT_BOXES,
    **REFUND_REASON_BOXES,
    **dict.fromkeys(
        ("subscription_payment_not_found", "not_paid", "charge_disputed", "nothing_to_refund"), "stripe_id"
    ),
}


@platform_admin_required
@require_POST
def console_subscription_refund(request: HttpRequest) -> HttpResponse:
    """Refund a subscription payment, found by its Stripe invoice, charge or PaymentIntent id (what
    the buyer's receipt, the Dashboard or the seller gives); unticking "take it back from the seller"
    makes the platform pay it."""
    stripe_id = (request.POST.get("stripe_id") or "").strip()[:255]
    invoice = subscription_payment_by_stripe_id(stripe_id=stripe_id)
    if invoice is None:
        said = "No paid subscription payment has that Stripe id (in_…, ch_… or pi_…)."
        missing = NotFound(said, code="subscription_payment_not_found")
        refund_refused(
            request,
            missing,
            "console:subscription_refund",
            CONSOLE_SUBSCRIPTION_REFUND_FIELDS,
            boxes=CONSOLE_SUBSCRIPTION_REFUND_BOXES,
        )
        return _console_refused(request)
    try:
        refund = subscription_payment_refund(
            invoice=invoice,
            actor=request.user,
            origin=RefundOrigin.ADMIN,
            amount=refund_amount(request.POST.get("amount", ""), invoice.currency),
            reason=request.POST.get("reason", "").strip(),  # none typed, none said to the buyer
            reverse_transfer=request.POST.get("from_seller") == "on",
            token=refund_form_token(request),
            whole_share_ok=whole_share_ok(request),
        )
    except DomainError as exc:
        refund_refused(
            request,
            exc,
            "console:subscription_refund",
            CONSOLE_SUBSCRIPTION_REFUND_FIELDS,
            boxes=CONSOLE_SUBSCRIPTION_REFUND_BOXES,
        )
        return _console_refused(request)
    else:
        done = f"{invoice.subscription.title}: {{amount}} refunded to the buyer."
        refund_said(request, refund, done, form="console:subscription_refund", names=CONSOLE_SUBSCRIPTION_REFUND_FIELDS)
    return redirect("console_refunds")


@platform_admin_required
@require_POST
def console_refund_attention_handled(request: HttpRequest, refund_id: int) -> HttpResponse:
    """ "Mark as handled" on a refund to look at: it leaves the list (its reason, who and when stay)."""
    if refund_attention_handle(refund_id=refund_id, admin=request.user):
        messages.success(request, f"Refund {refund_id} is marked as handled.")
    elif Refund.objects.filter(pk=refund_id).exclude(attention="").exists():
        messages.info(request, f"Refund {refund_id} was already marked as handled.")
    else:
        raise Http404("No such refund to look at.")
    return redirect("console_refunds")


urlpatterns = [
    path("orders/<int:order_id>/refund-request/", order_refund_request, name="order_refund_request"),
    path("sell/refunds/", sell_refund_requests, name="sell_refund_requests"),
    path("sell/refunds/<int:request_id>/approve/", sell_refund_request_approve, name="sell_refund_request_approve"),
    path("sell/refunds/<int:request_id>/decline/", sell_refund_request_decline, name="sell_refund_request_decline"),
    path("sell/orders/<int:order_id>/refund/", sell_order_refund, name="sell_order_refund"),
    path("console/refunds/", console_refunds, name="console_refunds"),
    path(
        "console/refunds/<int:request_id>/approve/",
        console_refund_request_approve,
        name="console_refund_request_approve",
    ),
    path(
        "console/refunds/<int:request_id>/decline/",
        console_refund_request_decline,
        name="console_refund_request_decline",
    ),
    path("console/refunds/order/", console_order_refund, name="console_order_refund"),
    path("console/refunds/subscription/", console_subscription_refund, name="console_subscription_refund"),
    path(
        "console/refunds/<int:refund_id>/handled/",
        console_refund_attention_handled,
        name="console_refund_attention_handled",
    ),
]
