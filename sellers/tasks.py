"""Thin tasks: ids in, one service or email out, bounded retries."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from sellers import emails
from sellers.models import Seller
from sellers.selectors import sellers_with_deadline_between
from sellers.services import seller_deadline_reminder_mark_sent

logger = logging.getLogger(__name__)

REMINDER_DAYS_BEFORE = 3


@shared_task(name="sellers.send_onboarding_complete_email", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_seller_onboarding_complete_email(seller_id: int) -> None:
    seller = Seller.objects.select_related("user").get(pk=seller_id)
    emails.send_onboarding_complete(seller)


@shared_task(name="sellers.send_action_required_email", autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_seller_action_required_email(seller_id: int) -> None:
    seller = Seller.objects.select_related("user").get(pk=seller_id)
    if seller.due_count:  # solved meanwhile: nothing to ask for
        emails.send_action_required(seller)


@shared_task(name="sellers.send_deadline_reminders")
def send_seller_deadline_reminders() -> int:
    """Beat, daily: remind every seller whose deadline falls in the next few days, once per deadline."""
    now = timezone.now()
    sent = 0
    for seller in sellers_with_deadline_between(start=now, end=now + timedelta(days=REMINDER_DAYS_BEFORE)):
        if not seller.due_count:
            continue
        if seller_deadline_reminder_mark_sent(seller=seller):
            emails.send_deadline_reminder(seller)
            sent += 1
    logger.info("sent %s seller deadline reminders", sent)
    return sent
