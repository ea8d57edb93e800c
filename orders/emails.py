"""The order emails: confirmation to the buyer, "new order" to the seller, shipped, refunded, and
each step of a refund (asked, answered, made, failed).

Each is a subject line and a plain-text body from `frontend/templates/emails/order_*`, with links
built from SITE_URL (emails are read outside any request). Amounts are formatted for people.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from marketplace.email import email_subject
from orders.models import Order, RefundRequest, RefundRequestStatus
from orders.selectors import transfer_failure_reason
from payments.disputes import platform_admin_emails
from payments.models import Refund
from payments.selectors import refund_share_kept


def _send(order: Order, template: str, to: str, url_name: str) -> None:
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "order_url": settings.SITE_URL.rstrip("/") + reverse(url_name, args=[order.pk]),
    }
    subject = email_subject(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [to])


def send_order_confirmation(order: Order) -> None:
    _send(order, "order_confirmation", order.buyer.email, "order_detail")


def send_new_order_to_seller(order: Order) -> None:
    _send(order, "order_new_for_seller", order.seller.user.email, "sell_order_detail")


def send_order_shipped(order: Order) -> None:
    _send(order, "order_shipped", order.buyer.email, "order_detail")


def send_order_refunded(order: Order) -> None:
    _send(order, "order_refunded", order.buyer.email, "order_detail")


def send_group_transfer_failed(order: Order) -> None:
    """To every platform admin: a seller of a group payment is owed its share and Stripe keeps refusing it."""
    context = {
        "order": order,
        "console_url": settings.SITE_URL.rstrip("/") + reverse("console_home"),
        "error": transfer_failure_reason(order.pk),
    }
    subject = email_subject("emails/group_transfer_failed_subject.txt", context)
    body = render_to_string("emails/group_transfer_failed.txt", context)
    for address in platform_admin_emails():
        if address:
            send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [address])


def _send_refund(template: str, to: str, url: str, context: dict[str, Any]) -> None:
    context = {**context, "url": settings.SITE_URL.rstrip("/") + url}
    subject = email_subject(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [to])


def send_refund_requested(request: RefundRequest) -> None:
    """To the seller: a buyer asks for a refund."""
    order = request.order
    url = reverse("sell_refund_requests")
    _send_refund("refund_requested", order.seller.user.email, url, {"request": request, "order": order})


def send_refund_request_received(request: RefundRequest) -> None:
    """To the buyer: the shop has the request, and when our team decides instead."""
    order = request.order
    url = reverse("order_detail", args=[order.pk])
    context = {"request": request, "order": order, "days": settings.REFUND_ADMIN_AFTER_DAYS}
    _send_refund("refund_request_received", order.buyer.email, url, context)


def send_refund_request_answered(request: RefundRequest) -> None:
    """To the buyer: approved (for how much), settled by a refund made another way, or declined (why).
    Nothing when it is open again by now (the refund that settled it failed before this left)."""
    if request.status == RefundRequestStatus.OPEN:
        return
    order = request.order
    url = reverse("order_detail", args=[order.pk])
    _send_refund("refund_request_answered", order.buyer.email, url, {"request": request, "order": order})


def send_refund_made(refund: Refund) -> None:
    """To the buyer: a refund went through (or is on its way)."""
    order = refund.order
    assert order is not None
    url = reverse("order_detail", args=[order.pk])
    _send_refund("refund_made", order.buyer.email, url, {"refund": refund, "order": order})


def send_refund_failed(refund: Refund) -> None:
    """To the buyer and the seller: a refund failed after it was sent; its amount is open again. The
    seller also learns that its share, taken back with the refund, stays taken back (Stripe leaves the
    reversal in place) and that refunding again uses it instead of taking it twice."""
    order = refund.order
    assert order is not None
    context = {"refund": refund, "order": order}
    _send_refund("refund_failed", order.buyer.email, reverse("order_detail", args=[order.pk]), context)
    _send_refund(
        "refund_failed_seller",
        order.seller.user.email,
        reverse("sell_order_detail", args=[order.pk]),
        {**context, "kept_share": refund_share_kept(refund=refund)},
    )
