"""Thin tasks: order ids in, one email or one service out, bounded retries."""

from __future__ import annotations

import logging

from celery import shared_task

from orders import emails, services
from orders.models import Order

logger = logging.getLogger(__name__)


def _order(order_id: int) -> Order:
    return Order.objects.select_related("buyer", "seller__user").prefetch_related("lines").get(pk=order_id)


@shared_task(name="orders.send_order_paid_emails", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_order_paid_emails(order_id: int) -> None:
    """The buyer's confirmation and the seller's "new order", sent once when the order became paid."""
    order = _order(order_id)
    emails.send_order_confirmation(order)
    emails.send_new_order_to_seller(order)


@shared_task(name="orders.send_order_refunded_email", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_order_refunded_email(order_id: int) -> None:
    emails.send_order_refunded(_order(order_id))


@shared_task(name="orders.send_order_shipped_email", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_order_shipped_email(order_id: int) -> None:
    emails.send_order_shipped(_order(order_id))


@shared_task(name="orders.sweep_expired_checkouts")
def sweep_expired_checkouts() -> int:
    """Beat: settle pending orders whose Checkout Session should have expired (a lost webhook)."""
    changed = services.orders_sweep_expired()
    if changed:
        logger.info("orders sweeper settled %s orders", changed)
    return changed
