"""The seller's emails: onboarding complete, action required, the deadline reminder, Stripe letting the
shop take payments and receive payouts again, and the platform's pause and unpause of the shop.

Each is a subject line and a plain-text body rendered from `frontend/templates/emails/seller_*`,
with links built from SITE_URL (emails are read outside any request).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from catalog.models import ListingStatus
from marketplace.email import email_subject
from sellers.models import Seller
from sellers.selectors import seller_can_sell, seller_overview


def _site_url(name: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name)


def _send(seller: Seller, template: str, **extra: Any) -> None:
    context = {
        **extra,
        "seller": seller,
        "overview": seller_overview(seller=seller),
        "sell_url": _site_url("sell_home"),
    }
    subject = email_subject(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [seller.user.email])


def _listings(seller: Seller) -> dict[str, Any]:
    """What buyers see of the shop's listings once it sells: a shop just onboarded often has none, or
    only drafts, so "your listings are visible" would be untrue; the email says so and where to go
    (the sentence: `emails/_seller_listings.txt`)."""
    published = seller.listings.filter(status=ListingStatus.PUBLISHED).count()
    return {
        "published": published,
        "unpublished": seller.listings.count() - published,
        "listings_url": _site_url("sell_listings"),
        "new_listing_url": _site_url("sell_listing_new"),
    }


def send_onboarding_complete(seller: Seller) -> None:
    _send(seller, "seller_onboarding_complete", **_listings(seller))


def send_payments_back(seller: Seller) -> None:
    _send(seller, "seller_payments_back", **_listings(seller))


def send_action_required(seller: Seller) -> None:
    _send(seller, "seller_action_required")


def send_deadline_reminder(seller: Seller) -> None:
    _send(seller, "seller_deadline_reminder")


def send_paused(seller: Seller, *, reason: str) -> None:
    _send(seller, "seller_paused", reason=reason)


def send_unpaused(seller: Seller) -> None:
    """Where the shop stands now: selling again, or what Stripe still holds it back for."""
    _send(seller, "seller_unpaused", can_sell=seller_can_sell(seller), **_listings(seller))
