"""Fulfilment: the seller ships a paid order, the buyer confirms it arrived."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.outbox.services import outbox_add
from orders.models import Order, OrderStatus
from sellers.models import Seller


def order_mark_fulfilled(*, order: Order, seller: Seller, tracking_number: str, carrier: str = "") -> Order:
    """The seller shipped the order: a tracking number is required, and only a paid order ships."""
    tracking = (tracking_number or "").strip()
    if not tracking:
        raise InvalidInput("Enter the tracking number of the parcel.", code="tracking_number_required")
    if len(tracking) > 100:
        raise InvalidInput("That tracking number is too long.", code="invalid_tracking_number")
    if len((carrier or "").strip()) > 60:  # the column's length: cut, the buyer would read another name
        raise InvalidInput("That carrier name is too long: 60 characters at most.", code="invalid_carrier")
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk, seller=seller).first()
        if locked is None:
            raise NotFound("No such order.", code="order_not_found")
        if locked.status == OrderStatus.FULFILLED and locked.tracking_number == tracking:
            return locked
        if locked.status != OrderStatus.PAID:
            raise Conflict(
                f"This order is {locked.get_status_display().lower()}; only a paid order can be shipped.",
                code="order_not_shippable",
            )
        locked.status = OrderStatus.FULFILLED
        locked.tracking_number = tracking
        locked.carrier = (carrier or "").strip()
        locked.fulfilled_at = timezone.now()
        locked.save(update_fields=["status", "tracking_number", "carrier", "fulfilled_at", "updated_at"])
        outbox_add("orders.email.order_shipped", locked.pk, key=f"order-shipped:{locked.pk}")
        return locked


def order_complete(*, order: Order, buyer: Any) -> Order:
    """The buyer confirms the parcel arrived: the order is completed."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk, buyer_id=buyer.pk).first()
        if locked is None:
            raise NotFound("No such order.", code="order_not_found")
        if locked.status == OrderStatus.COMPLETED:
            return locked
        if locked.status != OrderStatus.FULFILLED:
            raise Conflict("Only a shipped order can be marked as received.", code="order_not_shipped")
        locked.status = OrderStatus.COMPLETED
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "completed_at", "updated_at"])
        return locked
