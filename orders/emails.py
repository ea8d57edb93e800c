"""The order emails: confirmation to the buyer, "new order" to the seller, shipped, and refunded.

Each is a subject line and a plain-text body from `frontend/templates/emails/order_*`, with links
built from SITE_URL (emails are read outside any request). Amounts are formatted for people.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from orders.models import Order
from orders.selectors import transfer_failure_reason


def _send(order: Order, template: str, to: str, url_name: str) -> None:
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "order_url": settings.SITE_URL.rstrip("/") + reverse(url_name, args=[order.pk]),
    }
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
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
    from payments.disputes import platform_admin_emails  # payments imports orders: read at call time

    context = {
        "order": order,
        "console_url": settings.SITE_URL.rstrip("/") + reverse("console_home"),
        "error": transfer_failure_reason(order.pk),
    }
    subject = render_to_string("emails/group_transfer_failed_subject.txt", context).strip()
    body = render_to_string("emails/group_transfer_failed.txt", context)
    for address in platform_admin_emails():
        if address:
            send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [address])
