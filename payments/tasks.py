"""Thin tasks of payments (the emails are outbox follow-ups: `payments/follow_ups.py`)."""

from __future__ import annotations

from celery import shared_task

from payments.disputes import disputes_send_reminders
from payments.recovery import seller_debts_collect_all


@shared_task(name="payments.send_dispute_reminders")
def send_dispute_reminders() -> int:
    """Beat: queue the 5-day and 2-day evidence reminders that are due (each once)."""
    return disputes_send_reminders()


@shared_task(name="payments.collect_seller_debts")
def collect_seller_debts() -> int:
    """Beat: collect sellers' dispute debts from funds that arrived (if `balance.available` was missed)."""
    return seller_debts_collect_all()
