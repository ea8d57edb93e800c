"""Follow-ups of order changes, delivered through the outbox: the emails, closing Checkout
Sessions at Stripe, and sending a group order's seller its share. Thin: ids in, one email or one service out."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from orders import emails, services
from orders.models import Order, RefundRequest
from orders.selectors import TRANSFER_TO_SELLER
from payments.models import Refund


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


@follow_up("orders.email.refund_requested")
def refund_requested_email(request_id: int) -> None:
    emails.send_refund_requested(_request(request_id))


@follow_up("orders.email.refund_request_received")
def refund_request_received_email(request_id: int) -> None:
    emails.send_refund_request_received(_request(request_id))


@follow_up("orders.email.refund_request_answered")
def refund_request_answered_email(request_id: int) -> None:
    emails.send_refund_request_answered(_request(request_id))


@follow_up("orders.email.refund_made")
def refund_made_email(refund_id: int) -> None:
    emails.send_refund_made(_refund(refund_id))


@follow_up("orders.email.refund_failed")
def refund_failed_email(refund_id: int) -> None:
    emails.send_refund_failed(_refund(refund_id))


def _request(request_id: int) -> RefundRequest:
    return RefundRequest.objects.select_related("order__buyer", "order__seller__user", "refund").get(pk=request_id)


def _refund(refund_id: int) -> Refund:
    return Refund.objects.select_related("order__buyer", "order__seller__user").get(pk=refund_id)


@follow_up("orders.email.order_shipped")
def order_shipped_email(order_id: int) -> None:
    emails.send_order_shipped(_order(order_id))


@follow_up("orders.checkout_session_expire")
def checkout_session_expire(order_id: int, session_id: str) -> None:
    services.order_session_expire(order_id=order_id, session_id=session_id)


@follow_up("orders.close_checkouts_of_seller")
def close_checkouts_of_seller(seller_id: int) -> None:
    services.orders_close_checkouts_of_seller(seller_id=seller_id)


def _transfer_failed(order_id: int) -> None:
    services.order_transfer_failed(order_id=order_id)


@follow_up("orders.email.group_transfer_failed")
def group_transfer_failed_email(order_id: int) -> None:
    emails.send_group_transfer_failed(
        Order.objects.select_related("seller", "payment").prefetch_related("lines").get(pk=order_id)
    )


@follow_up(TRANSFER_TO_SELLER, on_dead=_transfer_failed)
def transfer_to_seller(order_id: int) -> None:
    services.order_transfer_to_seller(order_id=order_id)
