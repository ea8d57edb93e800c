"""Refunds of orders: the buyer asks, the seller (or an admin) decides, the money goes back.

- *A request* (`refund_request_create`) is the buyer's: a paid, shipped or completed order, within
  `REFUND_WINDOW_DAYS` of paying, the whole order or chosen lines and quantities, with a reason. One
  open request per order at a time.
- *A decision* is the seller's: approve (maybe for less, with a note, choosing whether the units
  go back to stock) or decline with a reason. Requests the seller leaves unanswered for
  `REFUND_ADMIN_AFTER_DAYS` show on the admins' console, and admins may decide them too. An
  approval claims the request before any money moves, so one request makes one refund.
- *A refund* (`order_refund`) is the money: the seller's own, an approved request's, or an
  admin's (who may take nothing back from the seller: the platform pays). It is a
  `payments.Refund`, written under the payment's row lock with the line quantities it gives back
  (a line is never refunded beyond its quantity, an order never beyond its amount), then sent to
  Stripe right after the commit (`payments.services.refund_submit`). A submission names itself
  with a token (form, API `Idempotency-Key`, request), so a double click makes one refund.
- *The order follows its refunds* (`order_refunds_refresh`, after each refund and each refund
  event): how much is refunded, "Refunded" and closed once all of it is, back to its earlier state
  if a refund fails, units back on stock when asked, and the emails of each step. So does its open
  request: refunds made another way that cover it settle it, and it opens again if they fail
  (`_requests_follow`).

Every email is an outbox row written with the change it reports, keyed so it is sent once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.models import Listing
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound
from marketplace.money import format_money
from marketplace.outbox.services import outbox_add
from marketplace.text import within_limit
from orders.models import (
    PAID_STATUSES,
    Order,
    OrderLine,
    OrderLineRefund,
    OrderStatus,
    RefundReason,
    RefundRequest,
    RefundRequestLine,
    RefundRequestStatus,
)
from orders.selectors import (
    CHARGED_BACK,
    charge_disputed,
    charged_back_for_seller,
    open_refund_requests_cache_key,
    payment_charged_back,
    refund_window_ends,
)
from payments.models import OPEN_REFUND_STATUSES, Payment, Refund, RefundOrigin, RefundStatus
from payments.services import REFUND_REASON_MAX, refund_create, refund_submit

logger = logging.getLogger(__name__)

REFUNDABLE_STATUSES = (*PAID_STATUSES,)


# What a person types on the request and decision forms, as long as their fields hold.
NOTE_MAX = RefundRequest._meta.get_field("note").max_length or 500
DECISION_NOTE_MAX = RefundRequest._meta.get_field("decision_note").max_length or 500


class LineQuantityRefused(InvalidInput):
    """Units of one order line refused (not a number, more than are left): `line_id` names the line,
    so that a form says it beside that line's box."""

    code = "invalid_quantity"

    def __init__(self, message: str, *, line_id: int) -> None:
        super().__init__(message)
        self.line_id = line_id


@dataclass(frozen=True)
class LineQuantity:
    """Units of one order line: what a request asks back, or a refund gives back."""

    line_id: int
    quantity: int


# --- The buyer's request ----------------------------------------------------------------------------


def refund_request_create(
    *, order: Order, buyer: Any, reason: str, note: str, lines: Sequence[LineQuantity] | None
) -> RefundRequest:
    """The buyer asks for the whole order (`lines` None) or chosen lines and quantities back."""
    if order.buyer_id != buyer.pk:
        raise NotFound("No such order.", code="order_not_found")
    if reason not in RefundReason.values:
        raise InvalidInput("Choose a reason for the refund.", code="invalid_reason")
    note = within_limit(note.strip(), limit=NOTE_MAX, what="The note", code="note_too_long")
    if reason == RefundReason.OTHER and not note:
        raise InvalidInput("Tell the seller what went wrong.", code="note_required")
    if order.status == OrderStatus.REFUNDED:  # a page drawn before the last refund: the order was paid, not unpaid
        raise Conflict("Everything in this order has been refunded already.", code="nothing_to_refund")
    if order.status not in REFUNDABLE_STATUSES:
        raise Conflict("Only a paid, shipped or completed order can be refunded.", code="order_not_refundable")
    if payment_charged_back(order):
        raise Conflict(CHARGED_BACK, code="charge_disputed")
    ends = refund_window_ends(order)
    if ends is None or timezone.now() > ends:
        raise Conflict(
            f"Refunds can be asked within {settings.REFUND_WINDOW_DAYS} days of paying; "
            "this order's window has closed.",
            code="refund_window_closed",
        )
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.refund_requests.filter(status=RefundRequestStatus.OPEN).exists():
            raise Conflict("You already asked for a refund of this order; the seller will answer.", code="request_open")
        chosen = _checked_lines(locked, lines) if lines is not None else []
        # Chosen items are worth at most what is left of the order (an amount refunded without items before).
        value = sum(line.unit_amount * qty for line, qty in chosen) if chosen else locked.amount_refundable
        amount = min(value, locked.amount_refundable)
        if amount <= 0:
            raise Conflict("Everything in this order has been refunded already.", code="nothing_to_refund")
        try:
            request = RefundRequest.objects.create(
                order=locked, reason=reason, note=note, whole_order=not chosen, amount=amount
            )
        except IntegrityError:  # pragma: no cover - the order's row lock serializes requests
            raise Conflict("You already asked for a refund of this order.", code="request_open") from None
        RefundRequestLine.objects.bulk_create(
            [RefundRequestLine(request=request, line=line, quantity=qty) for line, qty in chosen]
        )
        outbox_add("orders.email.refund_requested", request.pk, key=f"refund-requested:{request.pk}")
        _nav_count_changed(locked.seller_id)
        outbox_add("orders.email.refund_request_received", request.pk, key=f"refund-request-received:{request.pk}")
    return request


def _checked_lines(order: Order, lines: Sequence[LineQuantity]) -> list[tuple[OrderLine, int]]:
    """The order's lines with the quantities asked; refused when a line is not the order's, is asked
    twice, or for more units than are left of it."""
    if not lines:
        raise InvalidInput("Choose at least one item, or ask for the whole order.", code="no_lines")
    by_id = {line.pk: line for line in order.lines.all()}
    refunded = _refunded_quantities(order)
    chosen: list[tuple[OrderLine, int]] = []
    seen: set[int] = set()
    for item in lines:
        line = by_id.get(item.line_id)
        if line is None or item.line_id in seen:
            raise InvalidInput(f"Item {item.line_id} is not in this order.", code="invalid_line")
        seen.add(item.line_id)
        left = line.quantity - refunded.get(line.pk, 0)
        if type(item.quantity) is not int or not 1 <= item.quantity <= left:
            raise LineQuantityRefused(
                f"At most {left} of “{line.title}” can be refunded (asked: {item.quantity}).", line_id=line.pk
            )
        chosen.append((line, item.quantity))
    return chosen


def _refunded_quantities(order: Order) -> dict[int, int]:
    rows = (
        OrderLineRefund.objects.filter(line__order=order, refund__status__in=OPEN_REFUND_STATUSES)
        .values("line_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["line_id"]: int(row["total"]) for row in rows}


# --- Decisions --------------------------------------------------------------------------------------


def refund_request_approve(
    *,
    request: RefundRequest,
    user: Any,
    amount: int | None,
    restock: bool,
    note: str = "",
    admin: bool = False,
    reverse_transfer: bool = True,
    whole_share_ok: bool = True,
) -> Refund:
    """The seller (or an admin) approves: the refund of what was asked, or less (`amount`).

    The request is claimed before any money moves: one conditional UPDATE (open -> approved, which
    Postgres serializes on the row and SQLite's `BEGIN IMMEDIATE` on the file), in the transaction
    that writes the refund's row and after it (so a refund refused by its own checks writes nothing),
    so approvals at once (a double click, two tabs, a seller and an admin) make one refund and the
    others, their refund's row rolled back, are told the request was answered. The refund's token is the
    request and its attempt (`request:<id>:<n>`), so its Stripe key comes from the request: a retry
    after a crash sends the same one. Stripe refusing it (the seller's balance too low, a dispute)
    opens the request again, and the page says why.

    An admin may have the platform pay it (`reverse_transfer=False`): the way out when Stripe refused
    to take the seller's share back from a balance too low for it. `whole_share_ok`: see `order_refund`."""
    order = request.order
    note = within_limit(note.strip(), limit=DECISION_NOTE_MAX, what="The note", code="note_too_long")
    if request.status != RefundRequestStatus.OPEN:  # as read; the claim below is what decides
        raise Conflict("This request was answered already.", code="request_answered")
    if amount is not None and amount > request.amount:
        raise InvalidInput(
            f"At most the {format_money(request.amount, order.currency)} asked for can be approved.",
            code="amount_above_request",
        )
    lines = [LineQuantity(rl.line_id, rl.quantity) for rl in request.lines.all()] if not request.whole_order else None
    with transaction.atomic():
        prefix = f"request:{request.pk}:"
        attempt = Refund.objects.filter(order_id=order.pk, token__startswith=prefix).count() + 1
        # The refund's row first: its checks (what is left to refund, under the payment's lock) refuse
        # before anything is written; then the claim, which rolls the row back if another won it.
        refund = _order_refund_write(
            order=order,
            actor=user,
            origin=RefundOrigin.ADMIN if admin else RefundOrigin.BUYER_REQUEST,
            amount=amount if amount is not None else request.amount,
            lines=lines,
            reason=_approved_reason(request),
            restock=restock,
            reverse_transfer=reverse_transfer or not admin,
            token=f"{prefix}{attempt}",
            up_to_left=amount is None,  # "blank: what was asked", or what is left of the order if less now
            whole_share_ok=whole_share_ok,
        )
        claimed = RefundRequest.objects.filter(pk=request.pk, status=RefundRequestStatus.OPEN).update(
            status=RefundRequestStatus.APPROVED,
            decided_by=user,
            decided_at=timezone.now(),
            decision_note=note,
            refund=refund,
        )
        if not claimed:
            raise Conflict("This request was answered already.", code="request_answered")
    refund = _order_refund_send(order, refund)
    if refund.status == RefundStatus.FAILED:  # Stripe refused it: the request is open again, the page says why
        _request_reopen(request.pk, refund)
    else:
        outbox_add("orders.email.refund_request_answered", request.pk, key=f"refund-request-answered:{request.pk}")
        _nav_count_changed(order.seller_id)
    request.refresh_from_db()
    return refund


def _approved_reason(request: RefundRequest) -> str:
    """The refund's reason for an approved request: the reason chosen and the buyer's note, which
    may be longer than a refund's reason holds; shortened then with "…" said, the note itself kept
    whole on the request."""
    said = f"{request.get_reason_display()}{': ' + request.note if request.note else ''}"
    limit = REFUND_REASON_MAX
    return said if len(said) <= limit else said[: limit - 1].rstrip() + "…"


def _request_reopen(request_id: int, refund: Refund) -> None:
    """A request whose refund Stripe refused is open again, to be approved once more (an admin may
    have the platform pay) or declined. Unless the buyer asked again meanwhile (one open request per
    order): then the new request is the one to answer, and this one stays with its failed refund."""
    try:
        with transaction.atomic():
            RefundRequest.objects.filter(pk=request_id, status=RefundRequestStatus.APPROVED, refund=refund).update(
                status=RefundRequestStatus.OPEN, decided_by=None, decided_at=None, decision_note="", refund=None
            )
    except IntegrityError:
        logger.warning("refund request %s not reopened: the buyer has asked again", request_id)


def refund_request_decline(*, request: RefundRequest, user: Any, reason: str) -> RefundRequest:
    """The seller (or an admin) declines, saying why (the buyer reads it)."""
    reason = within_limit(reason.strip(), limit=DECISION_NOTE_MAX, what="The reason", code="reason_too_long")
    if not reason:
        raise InvalidInput("Say why you decline: the buyer reads it.", code="reason_required")
    with transaction.atomic():
        updated = RefundRequest.objects.filter(pk=request.pk, status=RefundRequestStatus.OPEN).update(
            status=RefundRequestStatus.DECLINED, decided_by=user, decided_at=timezone.now(), decision_note=reason
        )
        if not updated:
            raise Conflict("This request was answered already.", code="request_answered")
        outbox_add("orders.email.refund_request_answered", request.pk, key=f"refund-request-answered:{request.pk}")
        _nav_count_changed(request.order.seller_id)
    request.refresh_from_db()
    return request


def _nav_count_changed(seller_id: int) -> None:
    """The seller's count of open requests (cached for the nav) is stale once this change commits."""
    key = open_refund_requests_cache_key(seller_id)
    transaction.on_commit(lambda: cache.delete(key))


# --- The money --------------------------------------------------------------------------------------


def order_refund(
    *,
    order: Order,
    actor: Any,
    origin: str,
    amount: int | None,
    lines: Sequence[LineQuantity] | None,
    reason: str,
    restock: bool,
    reverse_transfer: bool = True,
    token: str = "",
    whole_share_ok: bool = True,
) -> Refund:
    """Refund (part of) an order: `amount`, or the lines' value, or (neither) all that is left.

    With lines and an amount, the amount may be less than the lines' value (a goodwill partial).
    Written under the payment's row lock (the one lock of refunds: the order's own is not taken, so
    a refund event recorded meanwhile cannot deadlock with it), then sent to Stripe; the returned
    refund says what Stripe did: pending, succeeded, or failed with a sentence (the seller's balance
    too low, a dispute). Stripe unreachable leaves it "sending", and the outbox sends it later.

    `token` names the submission (a form's hidden token, an API `Idempotency-Key`): the same token
    on the same order returns the refund it made first, whatever else was sent with it, so a double
    click or a retried request makes one refund (and one Stripe refund, its key carrying the token).

    A refund of everything left after refunds the platform paid takes the seller's whole share at
    Stripe: the pages and the API pass whether the person sending it confirmed that
    (`whole_share_ok`), and one not confirmed is refused with a sentence naming the amount
    (`payments.services.payment_whole_share`); callers no person drives leave it True.

    A refund that covers the order's open request settles it once recorded (`_requests_follow`); a
    request's own approval goes through `refund_request_approve`, which answers it itself."""
    with transaction.atomic():
        refund = _order_refund_write(
            order=order,
            actor=actor,
            origin=origin,
            amount=amount,
            lines=lines,
            reason=reason,
            restock=restock,
            reverse_transfer=reverse_transfer,
            token=token,
            whole_share_ok=whole_share_ok,
        )
    return _order_refund_send(order, refund)


def _order_refund_write(
    *,
    order: Order,
    actor: Any,
    origin: str,
    amount: int | None,
    lines: Sequence[LineQuantity] | None,
    reason: str,
    restock: bool,
    reverse_transfer: bool,
    token: str,
    up_to_left: bool = False,
    whole_share_ok: bool = True,
) -> Refund:
    """The refund's row and its lines, under the payment's row lock; or, for a `token` already
    used on this order, the refund that token made (the lock orders the two submissions, so the
    second always sees the first's row). Inside the caller's transaction. A payment the buyer's bank
    disputed (as the locked row says) is refused with a 409 before anything is written: Stripe
    refuses every refund of a disputed charge, so sending one only made a failed refund.

    No `amount` means the lines' value, or all that is left; either way no more than what is left
    of the order. `up_to_left` lowers a given `amount` to what is left instead of refusing it."""
    if order.status not in (*REFUNDABLE_STATUSES, OrderStatus.REFUNDED) or order.payment_id is None:
        raise Conflict("Only a paid order can be refunded.", code="order_not_refundable")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=order.payment_id)
        if token:
            made = Refund.objects.filter(order_id=order.pk, token=token).first()
            if made is not None:
                return made
        if charge_disputed(payment):  # Stripe would refuse it: say why, with nothing written or sent
            raise Conflict(charged_back_for_seller(payment), code="charge_disputed")
        if amount is not None and (type(amount) is not int or amount <= 0):
            raise InvalidInput("A refund must be a positive amount.", code="invalid_amount")
        order_left = order.amount_total - _open_refunds_of(order)
        if order_left <= 0:  # whatever amount a stale form sends: "at most 0 can be refunded" said it askew
            raise Conflict("Everything in this order has been refunded already.", code="nothing_to_refund")
        chosen = _checked_lines(order, lines) if lines is not None else []
        value = sum(line.unit_amount * qty for line, qty in chosen) if chosen else order_left
        if amount is None:
            amount = min(value, order_left)
        elif up_to_left:
            amount = min(amount, order_left)
        if chosen and amount > value:
            raise InvalidInput(
                f"The items chosen come to {format_money(value, order.currency)}; refund at most that.",
                code="amount_above_lines",
            )
        if amount <= 0:
            raise Conflict("Everything in this order has been refunded already.", code="nothing_to_refund")
        if restock and not chosen:
            # Units go back on stock by line: a refund of all that is left gives back every unit left;
            # a part of the order with no items chosen cannot say which.
            if amount < order_left:
                raise InvalidInput(
                    "Choose the units to put back on stock, or untick it: this refund names no items.",
                    code="restock_needs_items",
                )
            taken = _refunded_quantities(order)
            chosen = [(line, line.quantity - taken.get(line.pk, 0)) for line in order.lines.all()]
            chosen = [(line, left) for line, left in chosen if left > 0]
        refund = refund_create(
            payment=payment,
            amount=amount,
            origin=origin,
            reason=reason,
            order_id=order.pk,
            order_limit=order_left,
            reverse_transfer=reverse_transfer,
            created_by=actor if getattr(actor, "pk", None) else None,
            token=token,
            whole_share_ok=whole_share_ok,
        )
        OrderLineRefund.objects.bulk_create(
            [OrderLineRefund(refund=refund, line=line, quantity=qty, restock=restock) for line, qty in chosen]
        )
        _refresh(order.pk)
    return refund


def _order_refund_send(order: Order, refund: Refund) -> Refund:
    """After the commit: send the refund to Stripe (a no-op for one sent already) and let the order
    follow what Stripe answered."""
    try:
        refund = refund_submit(refund_id=refund.pk)
    except DomainError as exc:
        logger.warning("refund %s not sent yet (the outbox will retry): %s", refund.pk, exc.message)
    order_refunds_refresh(order_id=order.pk)
    return refund


def _open_refunds_of(order: Order, statuses: Sequence[str] = OPEN_REFUND_STATUSES) -> int:
    total = Refund.objects.filter(order=order, status__in=statuses).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def order_follow_refund(refund: Refund) -> None:
    """`payments` recorded a change of `refund` (inside its transaction): its order follows, and so
    does its refund request (`_requests_follow`)."""
    if refund.order_id is not None:
        _refresh(refund.order_id)
        _requests_follow(refund, order_id=refund.order_id)


# --- Requests settled by refunds made another way ----------------------------------------------------


def _requests_follow(refund: Refund, *, order_id: int) -> None:
    """A buyer's open request is settled by refunds made another way since they asked (the seller's
    own, an admin's, one in the Stripe Dashboard) once those cover what was asked, or leave nothing of
    the order: the seller has nothing left to decide and no admin should be asked to. Decided where
    every refund's state is recorded (`payments.services.refund_listener`: our own call's answer and
    every refund event, inside that transaction, under the payment's row lock), with the request's
    row locked and a conditional update, so redelivered events and concurrent paths settle it once,
    and an approval at the same moment either wins the request or finds it answered.

    It is settled when its refunds are pending or succeeded, as the order counts them refunded, and
    opened again if one fails or is canceled and those left no longer cover it: Stripe may fail a
    refund it first called succeeded (connect-behaviour.md §a, card 5126; a pending one fails after
    45 days), and a request must not stay closed for money the buyer never got."""
    if refund.status in MADE:
        _request_settle(refund, order_id=order_id)
    elif refund.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        _requests_unsettle(order_id=order_id)


def _made_since(request: RefundRequest) -> list[Refund]:
    """The refunds of the request's order made since it was asked, pending or succeeded, but not
    another request's own (one approved after this one was settled is that request's money)."""
    refunds = Refund.objects.filter(order_id=request.order_id, status__in=MADE, created_at__gt=request.created_at)
    return list(refunds.exclude(requests__status=RefundRequestStatus.APPROVED).order_by("pk"))


def _covered(request: RefundRequest, since: list[Refund]) -> bool:
    """What was asked is refunded, or nothing of the order is left to refund."""
    made = _open_refunds_of(request.order, statuses=MADE)
    return sum(r.amount for r in since) >= request.amount or made >= request.order.amount_total


def _request_settle(refund: Refund, *, order_id: int) -> None:
    request = (
        RefundRequest.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(order_id=order_id, status=RefundRequestStatus.OPEN)
        .first()
    )
    if request is None:
        return
    since = _made_since(request)
    if not _covered(request, since):
        return  # the pages say what was refunded since (`orders.selectors._with_refunded_since`)
    one = refund if refund in since and (refund.amount >= request.amount or len(since) == 1) else None
    what = "refund" if one is not None else "refunds"
    amount = one.amount if one is not None else sum(r.amount for r in since)
    note = f"Settled by the {what} of {format_money(amount, request.order.currency)} made after the request."
    settled = RefundRequest.objects.filter(pk=request.pk, status=RefundRequestStatus.OPEN).update(
        status=RefundRequestStatus.SETTLED,
        refund=one,
        decided_by_id=refund.created_by_id,
        decided_at=timezone.now(),
        decision_note=note,
    )
    if settled:
        # Keyed by the refund too: a request opened again by a failed refund and settled by the next is told again.
        key = f"refund-request-settled:{request.pk}:{refund.pk}"
        outbox_add("orders.email.refund_request_answered", request.pk, key=key)
        _nav_count_changed(request.order.seller_id)


def _requests_unsettle(*, order_id: int) -> None:
    """The order's settled requests that the refunds still standing no longer cover wait for the
    seller again. Unless the buyer asked again meanwhile (one open request per order): the new one is
    then the one to answer."""
    settled = RefundRequest.objects.select_for_update(of=("self",)).select_related("order")
    for request in settled.filter(order_id=order_id, status=RefundRequestStatus.SETTLED).order_by("pk"):
        if _covered(request, _made_since(request)):
            continue
        try:
            with transaction.atomic():
                RefundRequest.objects.filter(pk=request.pk, status=RefundRequestStatus.SETTLED).update(
                    status=RefundRequestStatus.OPEN, refund=None, decided_by=None, decided_at=None, decision_note=""
                )
        except IntegrityError:
            logger.warning("refund request %s not reopened: the buyer has asked again", request.pk)
        else:
            _nav_count_changed(request.order.seller_id)


def order_refunds_refresh(*, order_id: int) -> None:
    """The order as its refunds now say, in one transaction: see `_refresh`."""
    with transaction.atomic():
        _refresh(order_id)


# A refund whose units stand returned: made, or on its way to the buyer.
MADE = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


def _restock(line_id: int, line_refund_id: int) -> None:
    """Put a restocking line refund's units back on the listing, less those a failed refund of the
    line put back already: they stayed on stock when it failed (they came back to the shop), and are
    the same units when the refund is made again. So the units the line's refunds have put back come
    to the most units its standing restocking refunds give back, never their sum with the failed ones'.

    Under the line's row lock, so two refreshes of one line count one after the other; a line
    refund is looked at once (`restocked`)."""
    line = OrderLine.objects.select_for_update().get(pk=line_id)
    if not OrderLineRefund.objects.filter(pk=line_refund_id, restocked=False).update(restocked=True):
        return  # another refresh did it
    of_line = OrderLineRefund.objects.filter(line_id=line_id)
    standing = of_line.filter(restock=True, restocked=True, refund__status__in=MADE).aggregate(n=Sum("quantity"))
    put_back = of_line.aggregate(n=Sum("put_back"))["n"] or 0
    units = max(0, (standing["n"] or 0) - put_back)
    if units:
        OrderLineRefund.objects.filter(pk=line_refund_id).update(put_back=units)
        Listing.objects.filter(pk=line.listing_id).update(stock=F("stock") + units)


def _refresh(order_id: int) -> None:
    """Refunded amount; "Refunded" and closed once it is all; back to shipped / completed / paid if a
    refund failed; units back on stock for refunds made with `restock`; and the emails of refunds
    that went through or failed (once each)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return
    refunded = _open_refunds_of(order)
    fields: dict[str, Any] = {"amount_refunded": refunded}
    if refunded >= order.amount_total and order.status in PAID_STATUSES:
        fields.update(status=OrderStatus.REFUNDED, closed_at=timezone.now())
    elif refunded < order.amount_total and order.status == OrderStatus.REFUNDED and order.paid_at is not None:
        if order.refunds.filter(origin=RefundOrigin.LATE_PAYMENT).exists():
            pass  # a late payment's order was never the buyer's to keep: it stays closed
        else:
            reopened = (
                OrderStatus.COMPLETED
                if order.completed_at
                else OrderStatus.FULFILLED
                if order.fulfilled_at
                else OrderStatus.PAID
            )
            fields.update(status=reopened, closed_at=None)
    Order.objects.filter(pk=order.pk).update(**fields, updated_at=timezone.now())
    waiting = OrderLineRefund.objects.filter(line__order=order, restock=True, restocked=False, refund__status__in=MADE)
    for line_id, line_refund_id in waiting.order_by("line_id", "pk").values_list("line_id", "pk"):
        _restock(line_id, line_refund_id)
    for refund in order.refunds.exclude(origin=RefundOrigin.LATE_PAYMENT):
        if refund.status in MADE and refund.stripe_refund_id:
            outbox_add("orders.email.refund_made", refund.pk, key=f"refund-made:{refund.pk}")
        if refund.status == RefundStatus.FAILED and refund.stripe_refund_id:
            outbox_add("orders.email.refund_failed", refund.pk, key=f"refund-failed:{refund.pk}")
