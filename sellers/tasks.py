"""Thin tasks of sellers (the emails are outbox follow-ups: `sellers/follow_ups.py`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from sellers.selectors import sellers_with_deadline_between
from sellers.services import seller_deadline_reminder_queue

logger = logging.getLogger(__name__)

REMINDER_DAYS_BEFORE = 3


@shared_task(name="sellers.send_deadline_reminders")
def send_seller_deadline_reminders() -> int:
    """Beat, hourly: remind every seller whose deadline falls in the next few days, once per deadline."""
    now = timezone.now()
    queued = 0
    for seller in sellers_with_deadline_between(start=now, end=now + timedelta(days=REMINDER_DAYS_BEFORE)):
        if seller.due_count and seller_deadline_reminder_queue(seller=seller):
            queued += 1
    logger.info("queued %s seller deadline reminders", queued)
    return queued
