"""Reads for the subscription pages: the buyer's subscriptions, a seller's subscribers and monthly
recurring revenue, and which of a seller's listings are sold by subscription."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from catalog.models import Listing
from sellers.models import Seller
from subscriptions.models import LIVE_STATUSES, Subscription


def subscriptions_of_buyer(*, user: Any) -> QuerySet[Subscription]:
    """Newest first, with the shop's name, in one query; never-started ones are left out."""
    return (
        Subscription.objects.filter(buyer=user)
        .exclude(status__in=("incomplete", "incomplete_expired"))
        .select_related("seller")
    )


@dataclass(frozen=True)
class Subscribers:
    rows: list[Subscription]
    mrr: dict[str, int]  # currency -> minor units per month, of the live subscriptions
    live: int


def subscribers_of_seller(*, seller: Seller) -> Subscribers:
    """Every subscriber of the seller's products and the monthly recurring revenue per currency:
    active and past-due subscriptions, a yearly one counting a twelfth (one query)."""
    rows = list(
        Subscription.objects.filter(seller=seller)
        .exclude(status__in=("incomplete", "incomplete_expired"))
        .select_related("buyer")
    )
    mrr: dict[str, int] = defaultdict(int)
    live = 0
    for sub in rows:
        if sub.status in LIVE_STATUSES:
            mrr[sub.currency] += sub.monthly_amount
            live += 1
    return Subscribers(rows=rows, mrr=dict(sorted(mrr.items())), live=live)


def listings_with_plans(*, seller: Seller) -> QuerySet[Listing]:
    """The seller's listings with how each is sold (`subscription_plan` or none), one query."""
    return Listing.objects.filter(seller=seller).select_related("subscription_plan").order_by("title", "id")
