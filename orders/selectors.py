"""Reads of orders. A buyer sees only their orders and a seller only those of their shop; any
other order is NotFound (we do not confirm it exists)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from marketplace.errors import NotFound
from orders.models import Order
from sellers.models import Seller


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
