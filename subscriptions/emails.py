"""Subscription emails: a subscription started (to the buyer and the seller), a renewal failed or
needs 3-D Secure (to the buyer, with Stripe's hosted invoice page), a subscription ended after
Stripe's retries (to the seller and the buyer), ended at its period end by the shop or that end undone
(to the buyer), and a refund of a subscription payment made (to the buyer) or failed after it was
sent (to both). Plain text from `frontend/templates/emails/subscription_*`; links from SITE_URL."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from marketplace.email import email_subject
from payments.models import Refund
from subscriptions.models import Subscription, SubscriptionInvoice


def _send(template: str, to: str, context: dict[str, Any]) -> None:
    context = {**context, "site_url": settings.SITE_URL.rstrip("/")}
    subject = email_subject(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [to])


def _buyer_context(invoice: SubscriptionInvoice) -> dict[str, Any]:
    return {
        "invoice": invoice,
        "subscription": invoice.subscription,
        "subscriptions_url": settings.SITE_URL.rstrip("/") + reverse("my_subscriptions"),
    }


def send_payment_failed(invoice: SubscriptionInvoice) -> None:
    _send("subscription_payment_failed", invoice.subscription.buyer.email, _buyer_context(invoice))


def send_action_required(invoice: SubscriptionInvoice) -> None:
    _send("subscription_action_required", invoice.subscription.buyer.email, _buyer_context(invoice))


def send_started_for_buyer(sub: Subscription) -> None:
    """Its confirmation, as a paid order's: what is paid, when next, and where to cancel."""
    _send_buyer("subscription_started_buyer", sub)


def send_started_for_seller(sub: Subscription) -> None:
    """A new subscriber, as a new paid order is told to the seller."""
    context = {"subscription": sub, "subscribers_url": settings.SITE_URL.rstrip("/") + reverse("sell_subscriptions")}
    _send("subscription_started_seller", sub.seller.user.email, context)


def send_ended_for_seller(sub: Subscription) -> None:
    context = {"subscription": sub, "subscribers_url": settings.SITE_URL.rstrip("/") + reverse("sell_subscriptions")}
    _send("subscription_ended_seller", sub.seller.user.email, context)


def send_ended_for_buyer(sub: Subscription) -> None:
    context = {
        "subscription": sub,
        "listing_url": settings.SITE_URL.rstrip("/") + reverse("storefront_listing", args=[sub.listing_id]),
    }
    _send("subscription_ended_buyer", sub.buyer.email, context)


def _send_buyer(template: str, sub: Subscription) -> None:
    """An email about `sub` to its buyer, linking to "Your subscriptions"."""
    context = {"subscription": sub, "subscriptions_url": settings.SITE_URL.rstrip("/") + reverse("my_subscriptions")}
    _send(template, sub.buyer.email, context)


def send_duplicate_for_buyer(sub: Subscription) -> None:
    _send_buyer("subscription_duplicate_buyer", sub)


def send_shop_ended(sub: Subscription) -> None:
    """The shop ended it at its period end: the date, and that no further payment is taken."""
    _send_buyer("subscription_shop_ended", sub)


def send_shop_kept(sub: Subscription) -> None:
    """The shop undid its end: the subscription goes on, the next payment on that date."""
    _send_buyer("subscription_shop_kept", sub)


def _refund_subscription(refund: Refund) -> Subscription:
    invoice = SubscriptionInvoice.objects.select_related("subscription__buyer", "subscription__seller__user")
    return invoice.get(payment_id=refund.payment_id).subscription


def send_refund_made(refund: Refund) -> None:
    sub = _refund_subscription(refund)
    context = {
        "refund": refund,
        "subscription": sub,
        "subscriptions_url": settings.SITE_URL.rstrip("/") + reverse("my_subscriptions"),
    }
    _send("subscription_refund_made", sub.buyer.email, context)


def send_refund_failed(refund: Refund) -> None:
    sub = _refund_subscription(refund)
    site = settings.SITE_URL.rstrip("/")
    context = {"refund": refund, "subscription": sub, "url": site + reverse("my_subscriptions")}
    _send("subscription_refund_failed", sub.buyer.email, context)
    invoice_id = SubscriptionInvoice.objects.filter(payment_id=refund.payment_id).values_list("pk", flat=True)[0]
    seller_url = site + reverse("sell_subscription_payment", args=[invoice_id])
    _send("subscription_refund_failed", sub.seller.user.email, {**context, "url": seller_url, "seller": True})
