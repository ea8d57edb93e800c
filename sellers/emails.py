"""The seller's emails: onboarding complete, action required, and the deadline reminder.

Each is a subject line and a plain-text body rendered from `frontend/templates/emails/seller_*`,
with links built from SITE_URL (emails are read outside any request).
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from marketplace.email import email_subject
from sellers.models import Seller
from sellers.selectors import seller_overview


def _send(seller: Seller, template: str) -> None:
    context = {
        "seller": seller,
        "overview": seller_overview(seller=seller),
        "sell_url": settings.SITE_URL.rstrip("/") + reverse("sell_home"),
    }
    subject = email_subject(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [seller.user.email])


def send_onboarding_complete(seller: Seller) -> None:
    _send(seller, "seller_onboarding_complete")


def send_action_required(seller: Seller) -> None:
    _send(seller, "seller_action_required")


def send_deadline_reminder(seller: Seller) -> None:
    _send(seller, "seller_deadline_reminder")
