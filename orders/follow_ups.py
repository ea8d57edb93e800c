"""Follow-ups of order changes, delivered through the outbox: the emails, closing Checkout
Sessions at Stripe, and sending a group order's seller its share. Thin: ids in, one email or one service out."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from orders import emails, services
from orders.models import Order


def _order(order_id: int) -> Order:
    return Order.objects.select_related("buyer", "seller__user").prefetch_related("lines").get(pk=order_id)


@follow_up("orders.email.order_confirmation")
def order_confirmation_email(order_id: int) -> None:
    emails.send_order_confirmation(_order(order_id))


@follow_up("orders.email.new_order_for_seller")
def new_order_for_seller_email(order_id: int) -> None:
    emails.send_new_order_to_seller(_order(order_id))


@follow_up("orders.email.order_refunded")
def order_refunded_email(order_id: int) -> None:
    emails.send_order_refunded(_order(order_id))


@follow_up("orders.email.order_shipped")
def order_shipped_email(order_id: int) -> None:
    emails.send_order_shipped(_order(order_id))


@follow_up("orders.checkout_session_expire")
def checkout_session_expire(order_id: int, session_id: str) -> None:
    services.order_session_expire(order_id=order_id, session_id=session_id)


@follow_up("orders.close_checkouts_of_seller")
def close_checkouts_of_seller(seller_id: int) -> None:
    services.orders_close_checkouts_of_seller(seller_id=seller_id)


@follow_up("orders.transfer_to_seller")
def transfer_to_seller(order_id: int) -> None:
    services.order_transfer_to_seller(order_id=order_id)
