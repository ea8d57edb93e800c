"""`/api/v1/checkout`, `/api/v1/orders` (the buyer's), `/api/v1/seller/orders` (the shop's).

Every read goes through a selector scoped to the signed-in user: another buyer's or another
shop's order is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from ninja import Header, Router, Status

from catalog.services import cart_find
from marketplace.errors import Conflict, InvalidInput
from marketplace.money import format_money
from marketplace.schemas import Page, errors, paged
from orders import selectors, services
from orders.models import Order, RefundRequest
from orders.schemas import (
    CheckoutIn,
    CheckoutOut,
    FulfilIn,
    OrderLineOut,
    OrderOut,
    OrderPageOut,
    RefundApproveIn,
    RefundDeclineIn,
    RefundLineIn,
    RefundOut,
    RefundRequestIn,
    RefundRequestLineOut,
    RefundRequestOut,
    RefundRequestPageOut,
    SellerRefundIn,
)
from orders.services.refunds import (
    LineQuantity,
    order_refund,
    refund_request_approve,
    refund_request_create,
    refund_request_decline,
)
from payments.models import Refund, RefundOrigin, RefundStatus
from payouts.selectors import order_net, order_with_earnings, orders_with_earnings
from sellers.selectors import seller_for_user

router = Router(tags=["orders"])


def order_out(order: Order, *, for_the_shop: bool) -> OrderOut:
    """An order annotated by `payouts.selectors.orders_with_earnings`: `seller_net` is what the shop
    keeps of it (after refunds taken back and lost disputes), as its order and money pages say. The
    platform's fee and the shop's net are given to the shop only (`for_the_shop`): its buyer's pages
    never showed them, and the buyer's API did (what the platform charges the shop, its refunds and
    lost disputes). A refund that never left (`Refund.never_left`) is the shop's to read, not the buyer's."""
    return OrderOut(
        id=order.pk,
        status=order.status,
        status_label=order.get_status_display(),
        status_message=order.status_message,
        payment_error=order.payment_error,
        shop_name=order.seller.shop_name,
        currency=order.currency,
        amount_total=order.amount_total,
        amount_total_display=format_money(order.amount_total, order.currency),
        application_fee_amount=order.application_fee_amount if for_the_shop else None,
        seller_net=order_net(order) if for_the_shop else None,
        tracking_number=order.tracking_number,
        carrier=order.carrier,
        created_at=order.created_at,
        paid_at=order.paid_at,
        fulfilled_at=order.fulfilled_at,
        amount_refunded=order.amount_refunded,
        refunds=[refund_out(refund) for refund in order.refunds.all() if for_the_shop or not refund.never_left],
        lines=[
            OrderLineOut(
                id=line.pk,
                title=line.title,
                listing_id=line.listing_id,
                unit_amount=line.unit_amount,
                quantity=line.quantity,
                amount=line.amount,
                fee_amount=line.fee_amount if for_the_shop else None,
            )
            for line in order.lines.all()
        ],
    )


def refund_out(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.pk,
        amount=refund.amount,
        amount_display=format_money(refund.amount, refund.currency),
        currency=refund.currency,
        status=refund.status,
        status_label=refund.get_status_display(),
        reason=refund.reason,
        failure_message=refund.failure_message,
        created_at=refund.created_at,
    )


def refund_request_out(request: RefundRequest) -> RefundRequestOut:
    return RefundRequestOut(
        id=request.pk,
        order_id=request.order_id,
        status=request.status,
        status_label=request.get_status_display(),
        reason=request.reason,
        reason_label=request.get_reason_display(),
        note=request.note,
        whole_order=request.whole_order,
        lines=[
            RefundRequestLineOut(line_id=rl.line_id, title=rl.line.title, quantity=rl.quantity)
            for rl in request.lines.all()
        ],
        amount=request.amount,
        currency=request.order.currency,
        decision_note=request.decision_note,
        created_at=request.created_at,
        decided_at=request.decided_at,
        refund=refund_out(request.refund) if request.refund else None,
    )


def _lines(lines: list[RefundLineIn] | None) -> list[LineQuantity] | None:
    return None if lines is None else [LineQuantity(line.line_id, line.quantity) for line in lines]


def refused(refund: Refund) -> Refund:
    """Stripe refused the refund (the seller's balance, a dispute): a 409 with the sentence why."""
    if refund.status == RefundStatus.FAILED:
        raise Conflict(refund.failure_message, code=refund.failure_code or "refund_refused")
    return refund


def checkout_urls(request: HttpRequest) -> tuple[str, str]:
    """Where Stripe sends the buyer back: placeholders are filled by Stripe and by checkout_start."""
    success = request.build_absolute_uri(reverse("checkout_success")) + "?session_id={CHECKOUT_SESSION_ID}"
    cancel = request.build_absolute_uri(reverse("checkout_canceled")) + "?order={ORDER_ID}"
    return success, cancel


@router.post("/checkout", response={201: CheckoutOut, **errors(404, 409, 502)}, url_name="checkout")
def checkout(request: HttpRequest, payload: CheckoutIn) -> Status[CheckoutOut]:
    """Pay the cart's items in `currency`: every shop of that currency in one payment, one order per
    shop (`order_ids`); with `seller_id`, that shop's items alone. Send the buyer to `url`, Stripe's
    page; the items leave the cart once the payment goes through. 404: nothing from this shop (or in
    this currency) in the cart; 409: a shop cannot sell now; 502: Stripe could not be reached."""
    success, cancel = checkout_urls(request)
    cart = cart_find(user=request.user, session=request.session)
    if payload.seller_id is not None:
        one = services.checkout_start(
            buyer=request.user,
            cart=cart,
            seller_id=payload.seller_id,
            currency=payload.currency,
            success_url=success,
            cancel_url=cancel,
        )
        return Status(201, CheckoutOut(order_id=one.order.pk, order_ids=[one.order.pk], url=one.url))
    started = services.checkout_start_cart(
        buyer=request.user, cart=cart, currency=payload.currency, success_url=success, cancel_url=cancel
    )
    ids = [order.pk for order in started.orders]
    return Status(201, CheckoutOut(order_id=ids[0], order_ids=ids, url=started.url))


def _page(orders: QuerySet[Order], page: int, *, for_the_shop: bool) -> OrderPageOut:
    return OrderPageOut(
        **paged(
            orders_with_earnings(orders=orders),
            page,
            lambda order: order_out(order, for_the_shop=for_the_shop),
        )
    )


@router.get("/orders", response={200: OrderPageOut, **errors(422)}, url_name="orders")
def orders(request: HttpRequest, page: Page = 1) -> OrderPageOut:
    """The buyer's orders, newest first, 100 a page (past the last, no items)."""
    return _page(selectors.orders_for_buyer(buyer=request.user).prefetch_related("lines"), page, for_the_shop=False)


@router.get("/orders/{order_id}", response={200: OrderOut, **errors(404)}, url_name="order")
def order(request: HttpRequest, order_id: int) -> OrderOut:
    """The buyer's order, or an order of the signed-in seller's shop (both see its refunds; the shop
    alone its fee and net)."""
    return _order_out(selectors.order_seen_by(user=request.user, order_id=order_id), shop_user=request.user)


def _order_out(orders: QuerySet[Order], *, shop_user: Any) -> OrderOut:
    """The one order of `orders`, read with what it left the seller, its shop, lines and refunds; the
    fee and the net shown when `shop_user` is its shop's."""
    order = order_with_earnings(orders=orders.select_related("seller").prefetch_related("lines", "refunds"))
    return order_out(order, for_the_shop=order.seller.user_id == shop_user.pk)


# 404: not the buyer's order; 409: not refundable now (status, window, a request already open); 422: bad lines.
@router.post(
    "/orders/{order_id}/refund-requests",
    response={201: RefundRequestOut, **errors(404, 409)},
    url_name="order_refund_requests",
)
def order_refund_request(request: HttpRequest, order_id: int, payload: RefundRequestIn) -> Status[RefundRequestOut]:
    order = selectors.order_for_buyer(buyer=request.user, order_id=order_id)
    created = refund_request_create(
        order=order, buyer=request.user, reason=payload.reason, note=payload.note, lines=_lines(payload.lines)
    )
    return Status(201, refund_request_out(RefundRequest.objects.select_related("order", "refund").get(pk=created.pk)))


@router.get(
    "/seller/refund-requests",
    response={200: RefundRequestPageOut, **errors(404, 422)},
    url_name="seller_refund_requests",
)
def seller_refund_requests(request: HttpRequest, page: Page = 1) -> RefundRequestPageOut:
    """The shop's refund requests, open ones first (oldest first), then the answered ones, newest
    first; 100 a page (past the last, no items). It answered the first 100 with no way to the rest."""
    seller = seller_for_user(user=request.user)
    requests_ = selectors.refund_requests_for_seller(seller=seller)
    return RefundRequestPageOut(**paged(requests_, page, refund_request_out))


# 409: answered already, or Stripe refused the refund (the message says why); 422: more than asked.
@router.post(
    "/seller/refund-requests/{request_id}/approve",
    response={200: RefundRequestOut, **errors(404, 409, 502)},
    url_name="seller_refund_request_approve",
)
def seller_refund_request_approve(request: HttpRequest, request_id: int, payload: RefundApproveIn) -> RefundRequestOut:
    seller = seller_for_user(user=request.user)
    found = selectors.refund_request_for_seller(seller=seller, request_id=request_id)
    refused(
        refund_request_approve(
            request=found,
            user=request.user,
            amount=payload.amount,
            restock=payload.restock,
            note=payload.note,
            whole_share_ok=payload.take_whole_share,
        )
    )
    return refund_request_out(selectors.refund_request_for_seller(seller=seller, request_id=request_id))


@router.post(
    "/seller/refund-requests/{request_id}/decline",
    response={200: RefundRequestOut, **errors(404, 409)},
    url_name="seller_refund_request_decline",
)
def seller_refund_request_decline(request: HttpRequest, request_id: int, payload: RefundDeclineIn) -> RefundRequestOut:
    seller = seller_for_user(user=request.user)
    found = selectors.refund_request_for_seller(seller=seller, request_id=request_id)
    refund_request_decline(request=found, user=request.user, reason=payload.reason)
    return refund_request_out(selectors.refund_request_for_seller(seller=seller, request_id=request_id))


IDEMPOTENCY_KEY_DOC = (
    "Optional. Any string of up to 80 printable ASCII characters naming this refund, e.g. a UUID. "
    "The same key on the same order returns the refund the first request made (201, the same refund, "
    "as it is now) instead of making another: a retry after a timeout or a double click makes one "
    "refund and one Stripe refund. The same key with another amount, reason, lines or restock is a "
    "409 `idempotency_key_reused`: use a new key for a new refund. Without it, every request is a new refund."
)


def _idempotency_token(key: str | None) -> str:
    """The refund's token from the `Idempotency-Key` header (its own namespace: a form's or a
    request's token can never answer for it)."""
    if key is None or not key.strip():
        return ""
    key = key.strip()
    if len(key) > 80 or not all(" " <= c <= "~" for c in key):
        raise InvalidInput("Idempotency-Key: at most 80 printable ASCII characters.", code="invalid_idempotency_key")
    return f"api:{key}"


# The seller's own refund (out of stock, goodwill). 409: not refundable, or Stripe refused (why in the message).
@router.post(
    "/seller/orders/{order_id}/refunds",
    response={201: RefundOut, **errors(404, 409, 502)},
    url_name="seller_order_refunds",
    description=(
        "Refund (part of) an order of the shop: `amount`, or the lines' value, or everything left. "
        "Send an `Idempotency-Key` header to make retrying safe: the same key on the same order "
        "returns the refund it made first instead of making a second one."
    ),
)
def seller_order_refund(
    request: HttpRequest,
    order_id: int,
    payload: SellerRefundIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_KEY_DOC),
) -> Status[RefundOut]:
    seller = seller_for_user(user=request.user)
    order = selectors.order_for_seller(seller=seller, order_id=order_id)
    refund = order_refund(
        order=order,
        actor=request.user,
        origin=RefundOrigin.SELLER,
        amount=payload.amount,
        lines=_lines(payload.lines),
        reason=payload.reason,
        restock=payload.restock,
        token=_idempotency_token(idempotency_key),
        whole_share_ok=payload.take_whole_share,
    )
    if idempotency_key and not _made_by(refund, payload):
        shown = format_money(refund.amount, refund.currency)
        raise Conflict(
            f"This Idempotency-Key already made refund {refund.pk} of {shown} on this order, with other "
            "details: send a new key for a new refund.",
            code="idempotency_key_reused",
        )
    return Status(201, refund_out(refused(refund)))


def _made_by(refund: Refund, payload: SellerRefundIn) -> bool:
    """Could this body have made `refund` (the one its Idempotency-Key names)? A key reused for another
    refund got the first one back with a 201, and the client took the second for made; Stripe answers
    such a reuse with an error. What the row keeps is compared: the amount when one is sent, the
    reason, the lines when sent, restocking when it took units (a body without an amount cannot be
    told from one that named the amount it came to)."""
    rows = list(refund.order_lines.all())
    if payload.amount is not None and payload.amount != refund.amount:
        return False
    if payload.reason != refund.reason:
        return False
    if rows and payload.restock != any(row.restock for row in rows):  # no units taken: nothing says
        return False
    if payload.lines is not None:
        sent: dict[int, int] = {}
        for line in payload.lines:
            sent[line.line_id] = sent.get(line.line_id, 0) + line.quantity
        if sent != {row.line_id: row.quantity for row in rows}:
            return False
    return True


@router.get("/seller/orders", response={200: OrderPageOut, **errors(404, 422)}, url_name="seller_orders")
def seller_orders(request: HttpRequest, page: Page = 1) -> OrderPageOut:
    """The shop's paid orders, newest first, 100 a page (past the last, no items)."""
    seller = seller_for_user(user=request.user)
    shop_orders = selectors.orders_for_seller(seller=seller).select_related("seller").prefetch_related("lines")
    return _page(shop_orders, page, for_the_shop=True)


# 409: only a paid order ships.
@router.post(
    "/seller/orders/{order_id}/fulfil", response={200: OrderOut, **errors(404, 409)}, url_name="seller_order_fulfil"
)
def seller_order_fulfil(request: HttpRequest, order_id: int, payload: FulfilIn) -> OrderOut:
    seller = seller_for_user(user=request.user)
    order = selectors.order_for_seller(seller=seller, order_id=order_id)
    services.order_mark_fulfilled(
        order=order, seller=seller, tracking_number=payload.tracking_number, carrier=payload.carrier
    )
    return _order_out(Order.objects.filter(pk=order.pk), shop_user=request.user)
