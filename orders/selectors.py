"""Reads of orders. A buyer sees only their orders and a seller only those of their shop; any
other order is NotFound (we do not confirm it exists)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from marketplace.errors import NotFound
from marketplace.outbox.models import OutboxMessage
from orders.models import Order
from sellers.models import Seller

TRANSFER_TO_SELLER = "orders.transfer_to_seller"  # the outbox follow-up that sends a group order's share


def orders_for_buyer(*, buyer: Any) -> QuerySet[Order]:
    """The buyer's orders, newest first, with the shop and a line count (one query)."""
    return (
        Order.objects.filter(buyer_id=buyer.pk).select_related("seller", "payment").annotate(line_count=Count("lines"))
    )


def order_for_buyer(*, buyer: Any, order_id: int) -> Order:
    order = (
        Order.objects.filter(buyer_id=buyer.pk, pk=order_id)
        .select_related("seller", "payment")
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def orders_paid_together(*, order: Order) -> list[Order]:
    """The other shops' orders of the same payment (a checkout group); none for a single-shop order
    (no query then)."""
    if order.checkout_group_id is None:
        return []
    return list(
        Order.objects.filter(checkout_group_id=order.checkout_group_id).exclude(pk=order.pk).select_related("seller")
    )


def orders_for_seller(*, seller: Seller) -> QuerySet[Order]:
    """Orders of the shop that were paid (or later refunded): what the seller has to act on."""
    return (
        Order.objects.filter(seller=seller)
        .exclude(paid_at__isnull=True)
        .select_related("buyer", "payment")
        .annotate(line_count=Count("lines"))
        .order_by("-paid_at", "-id")
    )


def order_for_seller(*, seller: Seller, order_id: int) -> Order:
    order = (
        Order.objects.filter(seller=seller, pk=order_id)
        .exclude(paid_at__isnull=True)
        .select_related("buyer", "payment")
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def order_by_session(*, session_id: str) -> Order | None:
    return Order.objects.filter(checkout_session_id=session_id).first()


def group_transfers_failed() -> list[Order]:
    """Paid group orders whose seller never got its share: the outbox gave up on the transfer (Stripe
    refused it every time) and none was made since. For the console's home, in two queries; the
    list empties itself once a transfer is made (an admin fixed the cause and the order was retried)."""
    dead = OutboxMessage.objects.filter(name=TRANSFER_TO_SELLER, status=OutboxMessage.Status.DEAD)
    order_ids = {int(args[0]) for args in dead.values_list("args", flat=True) if args}
    return list(
        Order.objects.filter(pk__in=order_ids, stripe_transfer_id="", checkout_group__isnull=False)
        .select_related("seller")
        .order_by("pk")
    )


def transfer_failure_reason(order_id: int) -> str:
    """Stripe's last answer to the order's transfer, as the outbox recorded it (the traceback's last line)."""
    error = (
        OutboxMessage.objects.filter(name=TRANSFER_TO_SELLER, key=f"order-transfer:{order_id}")
        .values_list("last_error", flat=True)
        .first()
    )
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return lines[-1].split(": ", 1)[-1] if lines else ""
