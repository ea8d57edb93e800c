"""Reads for the subscription pages: the buyer's subscriptions, a seller's subscribers and monthly
recurring revenue, and which of a seller's listings are sold by subscription."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.template.defaultfilters import pluralize

from catalog.models import Listing
from marketplace.money import format_money
from sellers.models import Seller
from subscriptions.models import (
    LIVE_STATUSES,
    Interval,
    Subscription,
    SubscriptionInvoice,
    SubscriptionPlan,
    SubscriptionStatus,
    monthly_amount,
)


def subscriptions_of_buyer(*, user: Any) -> QuerySet[Subscription]:
    """Newest first, with the shop's name, in one query; never-started ones are left out. A past-due
    one carries `overdue_url`, the hosted page of its unpaid invoice: what the buyer owes is that
    invoice now, not the next period's payment (Stripe moves the period on while it retries)."""
    unpaid = SubscriptionInvoice.objects.filter(subscription=OuterRef("pk"), status="open").exclude(
        hosted_invoice_url=""
    )
    return (
        Subscription.objects.filter(buyer=user)
        .exclude(status__in=("incomplete", "incomplete_expired"))
        .select_related("seller")
        .annotate(overdue_url=Subquery(unpaid.order_by("-created_at", "-id").values("hosted_invoice_url")[:1]))
    )


@dataclass(frozen=True)
class Revenue:
    mrr: dict[str, int]  # currency -> minor units per month, of the live subscriptions
    active: int
    past_due: int
    live: int  # active, past due or trialing
    paused: int = 0  # live but charging nothing while the shop is paused (not in the above)


def recurring_revenue_of_seller(*, seller: Seller) -> Revenue:
    """The seller's monthly recurring revenue per currency and how many subscriptions bring it:
    active, past-due and trialing ones, a yearly one counting a twelfth; not those whose collection is
    paused with the shop (they charge nothing: counted apart, as `paused`, so a paused shop does not
    read that it has none). One query grouped by price, so it does not grow with subscribers; the
    Subscribers page and the money page both show this."""
    groups = (
        Subscription.objects.filter(seller=seller, status__in=LIVE_STATUSES)
        .values("currency", "status", "interval", "amount", "collection_paused")
        .annotate(count=Count("id"))
        .order_by()
    )
    mrr: dict[str, int] = defaultdict(int)
    per_status: dict[str, int] = defaultdict(int)
    paused = 0
    for group in groups:
        if group["collection_paused"]:
            paused += group["count"]
            continue
        mrr[group["currency"]] += group["count"] * monthly_amount(group["amount"], group["interval"])
        per_status[group["status"]] += group["count"]
    return Revenue(
        mrr=dict(sorted(mrr.items())),
        active=per_status[SubscriptionStatus.ACTIVE],
        past_due=per_status[SubscriptionStatus.PAST_DUE],
        live=sum(per_status.values()),
        paused=paused,
    )


@dataclass(frozen=True)
class Subscribers:
    rows: QuerySet[Subscription]
    revenue: Revenue


def subscribers_of_seller(*, seller: Seller) -> Subscribers:
    """Every subscriber of the seller's products, newest first, with the buyer (one query, for the
    page to cut into pages), and the recurring revenue of them all (one more)."""
    rows = (
        Subscription.objects.filter(seller=seller)
        .exclude(status__in=("incomplete", "incomplete_expired"))
        .select_related("buyer")
    )
    return Subscribers(rows=rows, revenue=recurring_revenue_of_seller(seller=seller))


def listings_with_plans(*, seller: Seller) -> QuerySet[Listing]:
    """The seller's listings with how each is sold (`subscription_plan` or none), one query."""
    return Listing.objects.filter(seller=seller).select_related("subscription_plan").order_by("title", "id")


def subscribers_price_sentence(*, listing: Listing) -> str:
    """What the listing's live subscribers pay when it is not its price now, in words ("" when they
    all pay it): Stripe goes on charging each subscription the price it was made with, so a seller
    who changes the price must read that the subscribers keep theirs."""
    rows = (
        Subscription.objects.filter(listing=listing, status__in=LIVE_STATUSES)
        .exclude(amount=listing.price, currency=listing.currency)
        .values("amount", "currency", "interval")
        .annotate(n=Count("pk"))
        .order_by("currency", "amount", "interval")
    )
    labels = dict(Interval.choices)
    parts = [
        f"{row['n']} subscriber{pluralize(row['n'])} {'keeps' if row['n'] == 1 else 'keep'} paying "
        f"{format_money(row['amount'], row['currency'])} {labels.get(row['interval'], row['interval']).lower()}"
        for row in rows
    ]
    if not parts:
        return ""
    sentence = f"Its {', '.join(parts)} until they cancel"
    if SubscriptionPlan.objects.filter(listing=listing).exists():
        sentence += f"; new subscribers pay {format_money(listing.price, listing.currency)}"
    return sentence + "."
