"""`/api/v1/checkout`, `/api/v1/orders` (the buyer's), `/api/v1/seller/orders` (the shop's).

Every read goes through a selector scoped to the signed-in user: another buyer's or another
shop's order is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from catalog.services import cart_find
from marketplace.money import format_money
from marketplace.schemas import errors
from orders import selectors, services
from orders.models import Order
from orders.schemas import CheckoutIn, CheckoutOut, FulfilIn, OrderLineOut, OrderOut
from sellers.selectors import seller_for_user

router = Router(tags=["orders"])


def order_out(order: Order) -> OrderOut:
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
        application_fee_amount=order.application_fee_amount,
        seller_net=order.seller_net,
        tracking_number=order.tracking_number,
        carrier=order.carrier,
        created_at=order.created_at,
        paid_at=order.paid_at,
        fulfilled_at=order.fulfilled_at,
        lines=[
            OrderLineOut(
                title=line.title,
                listing_id=line.listing_id,
                unit_amount=line.unit_amount,
                quantity=line.quantity,
                amount=line.amount,
                fee_amount=line.fee_amount,
            )
            for line in order.lines.all()
        ],
    )


def checkout_urls(request: HttpRequest) -> tuple[str, str]:
    """Where Stripe sends the buyer back: placeholders are filled by Stripe and by checkout_start."""
    success = request.build_absolute_uri(reverse("checkout_success")) + "?session_id={CHECKOUT_SESSION_ID}"
    cancel = request.build_absolute_uri(reverse("checkout_canceled")) + "?order={ORDER_ID}"
    return success, cancel


# Without seller_id: everything in the cart in that currency, one payment (one order per shop).
# 404: nothing from this shop (or in this currency) in the cart; 409: a shop cannot sell now; 502: Stripe unreachable.
@router.post("/checkout", response={201: CheckoutOut, **errors(404, 409, 502)}, url_name="checkout")
def checkout(request: HttpRequest, payload: CheckoutIn) -> Status[CheckoutOut]:
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


@router.get("/orders", response=list[OrderOut], url_name="orders")
def orders(request: HttpRequest) -> list[OrderOut]:
    qs = selectors.orders_for_buyer(buyer=request.user).prefetch_related("lines")[:100]
    return [order_out(order) for order in qs]


@router.get("/orders/{order_id}", response={200: OrderOut, **errors(404)}, url_name="order")
def order(request: HttpRequest, order_id: int) -> OrderOut:
    return order_out(selectors.order_for_buyer(buyer=request.user, order_id=order_id))


@router.get("/seller/orders", response={200: list[OrderOut], **errors(404)}, url_name="seller_orders")
def seller_orders(request: HttpRequest) -> list[OrderOut]:
    seller = seller_for_user(user=request.user)
    qs = selectors.orders_for_seller(seller=seller).select_related("seller").prefetch_related("lines")[:100]
    return [order_out(order) for order in qs]


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
    return order_out(selectors.order_for_seller(seller=seller, order_id=order_id))
