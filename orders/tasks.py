"""Thin tasks of orders (the emails are outbox follow-ups: `orders/follow_ups.py`)."""

from __future__ import annotations

import logging

from celery import shared_task

from orders import services
from orders.services.saved_cards import buy_now_sweep_abandoned

logger = logging.getLogger(__name__)


@shared_task(name="orders.sweep_expired_checkouts")
def sweep_expired_checkouts() -> int:
    """Beat: settle pending orders whose Checkout Session should have expired (a lost webhook),
    Buy now payments left at the bank's check, and orders whose payment we are still confirming
    (Stripe was unreachable when the buyer came back)."""
    changed = services.orders_sweep_expired() + buy_now_sweep_abandoned() + services.orders_confirm_payments()
    if changed:
        logger.info("orders sweeper settled %s orders", changed)
    return changed
