"""The dispute emails: opened and reminders (seller and admins), closed (seller and buyer).
On a payment for several shops, the shops the dispute does not name (another shop answers it) are
told too when it opens and closes, each of its own order and part: their money is at stake as well
(not a shop whose part is nothing); the shop it names reads its own part too, beside the whole
payment it answers for.

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
    # A subscription payment has no order: named as the pages name it (its listing, date, subscriber).
    invoice = dispute.subscription_payment
    return {
        "listing_title": invoice.subscription.listing.title if invoice else "",
        "payment_name": (
            f"the {timezone.localtime(invoice.created_at):%-d %b %Y} payment of {invoice.subscription.listing.title} "
            f"by {invoice.subscription.buyer.email}"
            if invoice
            else ""
        ),
        "dispute": dispute,
        "amount": disputes.amount_text(dispute),
        "reason": disputes.reason_text(dispute.reason),
        "deadline": deadline,
        "order": dispute.order,
        "inquiry": dispute.status.startswith("warning_"),
    }


def _seller_email(dispute: Dispute) -> list[str]:
    return [dispute.seller.user.email] if dispute.seller is not None else []


def _parts(dispute: Dispute) -> dict[int, tuple[str, dict[str, Any]]]:
    """On a payment for several shops, each shop's email and the email's context of its own order
    and part (`amount`; the whole disputed amount as `payment_amount`), by seller id: the shop the
    dispute names is told its part too, not the whole payment's amount as its order's. Not a shop whose
    part is nothing (its order refunded in full before the dispute): none of its sale is disputed, and
    nothing is taken from it. Empty for a payment of one shop."""
    if dispute.payment is None or not pays_checkout_group(dispute.payment):
        return {}
    answering = dispute.seller.shop_name if dispute.seller is not None else "The platform"
    return {
        share.order.seller_id: (
            share.order.seller.user.email,
            {
                "order": share.order,
                "amount": format_money(share.disputed, dispute.currency),
                "payment_amount": disputes.amount_text(dispute),
                "answering_shop": answering,
            },
        )
        for share in group_dispute_shares(payment=dispute.payment, amount=dispute.amount)
        if share.disputed
    }


def _send_to_shops(dispute: Dispute, template: str, others_template: str, context: dict[str, Any]) -> None:
    """The seller the dispute names reads `template`, each other shop of its payment `others_template`,
    each of its own order and part."""
    url = _url("sell_dispute_detail", dispute.pk)
    parts = _parts(dispute)
    own = parts.pop(dispute.seller_id, ("", {}))[1] if dispute.seller_id is not None else {}
    _send(template, _seller_email(dispute), url=url, **{**context, **own})
    for email, part in parts.values():
        _send(others_template, [email], url=url, **{**context, **part})


def send_dispute_opened(dispute: Dispute) -> None:
    context = _context(dispute)
    _send_to_shops(dispute, "dispute_opened_seller", "dispute_opened_shop", context)
    admins = disputes.platform_admin_emails()
    _send("dispute_opened_admin", admins, url=_url("console_dispute_detail", dispute.pk), **context)


def send_dispute_reminder(dispute: Dispute, days: int) -> None:
    context = {**_context(dispute), "days": days}
    _send("dispute_reminder", _seller_email(dispute), url=_url("sell_dispute_detail", dispute.pk), **context)
    admins = disputes.platform_admin_emails()
    _send("dispute_reminder", admins, url=_url("console_dispute_detail", dispute.pk), **context)


def send_dispute_closed(dispute: Dispute) -> None:
    context = _context(dispute)
    _send_to_shops(dispute, "dispute_closed_seller", "dispute_closed_seller", context)
    if dispute.order is not None:
        buyer_url = _url("order_detail", dispute.order.pk)
        _send("dispute_closed_buyer", [dispute.order.buyer.email], url=buyer_url, **context)
