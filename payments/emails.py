"""The dispute emails: opened and reminders (seller and admins), closed (seller and buyer).

Plain text from `frontend/templates/emails/dispute_*`, links built from SITE_URL. Each tells its
reader what it means for them in plain words: the reason, the deadline, what happens next.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from payments import disputes
from payments.models import Dispute


def _url(name: str, *args: object) -> str:
    return str(settings.SITE_URL).rstrip("/") + reverse(name, args=args)


def _send(template: str, to: Iterable[str], **context: Any) -> None:
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/{template}.txt", context)
    for address in sorted(set(to)):
        if address:
            send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [address])


def _context(dispute: Dispute) -> dict[str, Any]:
    deadline = timezone.localtime(dispute.due_by).strftime("%-d %B %Y, %H:%M %Z") if dispute.due_by else ""
    return {
        "dispute": dispute,
        "amount": disputes.amount_text(dispute),
        "reason": disputes.reason_text(dispute.reason),
        "deadline": deadline,
        "order": dispute.order,
        "inquiry": dispute.status.startswith("warning_"),
    }


def _seller_email(dispute: Dispute) -> list[str]:
    return [dispute.seller.user.email] if dispute.seller is not None else []


def send_dispute_opened(dispute: Dispute) -> None:
    context = _context(dispute)
    _send("dispute_opened_seller", _seller_email(dispute), url=_url("sell_dispute_detail", dispute.pk), **context)
    admins = disputes.platform_admin_emails()
    _send("dispute_opened_admin", admins, url=_url("console_dispute_detail", dispute.pk), **context)


def send_dispute_reminder(dispute: Dispute, days: int) -> None:
    context = {**_context(dispute), "days": days}
    _send("dispute_reminder", _seller_email(dispute), url=_url("sell_dispute_detail", dispute.pk), **context)
    admins = disputes.platform_admin_emails()
    _send("dispute_reminder", admins, url=_url("console_dispute_detail", dispute.pk), **context)


def send_dispute_closed(dispute: Dispute) -> None:
    context = _context(dispute)
    _send("dispute_closed_seller", _seller_email(dispute), url=_url("sell_dispute_detail", dispute.pk), **context)
    if dispute.order is not None:
        buyer_url = _url("order_detail", dispute.order.pk)
        _send("dispute_closed_buyer", [dispute.order.buyer.email], url=buyer_url, **context)
