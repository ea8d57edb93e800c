"""The seller's payout emails: a failed payout, with the reason and the way out.

Rendered from `frontend/templates/emails/payout_failed*`, with links built from SITE_URL (emails
are read outside any request).
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from marketplace.email import email_subject
from payouts.failures import failure_sentence
from payouts.models import Payout
from sellers.models import Seller


def send_payout_failed(payout: Payout, seller: Seller) -> None:
    context = {
        "seller": seller,
        "payout": payout,
        "sentence": failure_sentence(payout.failure_code),
        "payout_url": settings.SITE_URL.rstrip("/") + reverse("sell_payout_detail", args=[payout.pk]),
    }
    subject = email_subject("emails/payout_failed_subject.txt", context)
    body = render_to_string("emails/payout_failed.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [seller.user.email])
