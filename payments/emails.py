"""The dispute emails: opened and reminders (seller and admins), closed (seller and buyer).
On a payment for several shops, the shops the dispute does not name (another shop answers it) are
told too when it opens and closes, each of its own order and part: their money is at stake as well.

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

from marketplace.email import email_subject
from marketplace.money import format_money
from payments import disputes
from payments.group_recovery import group_dispute_shares, pays_checkout_group
from payments.models import Dispute


def _url(name: str, *args: object) -> str:
    return str(settings.SITE_URL).rstrip("/") + reverse(name, args=args)


def _send(template: str, to: Iterable[str], **context: Any) -> None:
    subject = email_subject(f"emails/{template}_subject.txt", context)
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


def _other_shops(dispute: Dispute) -> list[tuple[str, dict[str, Any]]]:
    """Each other shop of a payment for several shops: its email, and its order and part for the
    email's context. None for a payment of one shop."""
    if dispute.payment is None or not pays_checkout_group(dispute.payment):
        return []
    answering = dispute.seller.shop_name if dispute.seller is not None else "The platform"
    return [
        (
            share.order.seller.user.email,
            {
                "order": share.order,
                "amount": format_money(share.disputed, dispute.currency),
                "answering_shop": answering,
            },
        )
        for share in group_dispute_shares(payment=dispute.payment, amount=dispute.amount)
        if share.order.seller_id != dispute.seller_id
    ]


def send_dispute_opened(dispute: Dispute) -> None:
    context = _context(dispute)
    url = _url("sell_dispute_detail", dispute.pk)
    _send("dispute_opened_seller", _seller_email(dispute), url=url, **context)
    for email, own in _other_shops(dispute):
        _send("dispute_opened_shop", [email], url=url, **{**context, **own})
    admins = disputes.platform_admin_emails()
    _send("dispute_opened_admin", admins, url=_url("console_dispute_detail", dispute.pk), **context)


def send_dispute_reminder(dispute: Dispute, days: int) -> None:
    context = {**_context(dispute), "days": days}
    _send("dispute_reminder", _seller_email(dispute), url=_url("sell_dispute_detail", dispute.pk), **context)
    admins = disputes.platform_admin_emails()
    _send("dispute_reminder", admins, url=_url("console_dispute_detail", dispute.pk), **context)


def send_dispute_closed(dispute: Dispute) -> None:
    context = _context(dispute)
    url = _url("sell_dispute_detail", dispute.pk)
    _send("dispute_closed_seller", _seller_email(dispute), url=url, **context)
    for email, own in _other_shops(dispute):
        _send("dispute_closed_seller", [email], url=url, **{**context, **own})
    if dispute.order is not None:
        buyer_url = _url("order_detail", dispute.order.pk)
        _send("dispute_closed_buyer", [dispute.order.buyer.email], url=buyer_url, **context)
