"""Reads for the subscription pages: the buyer's subscriptions and their refunds, a seller's
subscribers, monthly recurring revenue and subscription payments (to refund one), and which of a
seller's listings are sold by subscription."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize

from catalog.models import Listing
from marketplace.errors import NotFound
from marketplace.money import format_money
from payments.models import Refund, RefundStatus
from payments.services import payment_refundable
from payouts.selectors import refunds_with_shares
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


def earlier_live_twins(*, subscription: Subscription) -> QuerySet[Subscription]:
    """The buyer's live subscriptions to the same listing recorded before this one: when there is
    one, this one is a duplicate (`services.subscription_duplicate_cancel` cancels and refunds it)."""
    return Subscription.objects.filter(
        buyer_id=subscription.buyer_id,
        listing_id=subscription.listing_id,
        status__in=LIVE_STATUSES,
        pk__lt=subscription.pk,
    )


def buyer_subscription_to(*, user: Any, listing_id: int) -> Subscription | None:
    """The buyer's live subscription to this listing, if any: its page then says so (and when it ends,
    if canceled at the period's end) instead of offering "Subscribe", which
    `services.subscription_checkout_start` would refuse."""
    return (
        Subscription.objects.filter(buyer=user, listing_id=listing_id, status__in=LIVE_STATUSES).order_by("-id").first()
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


def refunds_of_buyer_subscriptions(*, user: Any) -> dict[int, list[Refund]]:
    """The refunds of the buyer's subscription payments, newest first, per subscription id, each with
    `paid_amount` and `paid_at` (the payment it gave back part of): one query, for "Your
    subscriptions" to say what was given back and whether it reached them. Without the refunds that
    failed before they left (Stripe refused them, or we never sent them: no Stripe id), as the order
    page leaves them out: no money moved and none is on its way back."""
    rows = (
        Refund.objects.filter(payment__subscription_invoices__subscription__buyer=user)
        .exclude(status=RefundStatus.CANCELED)
        .exclude(status=RefundStatus.FAILED, stripe_refund_id__isnull=True)
        .annotate(
            subscription_id=F("payment__subscription_invoices__subscription_id"),
            paid_amount=F("payment__amount"),
            paid_at=F("payment__created_at"),
        )
        .order_by("-created_at", "-id")
    )
    found: dict[int, list[Refund]] = defaultdict(list)
    for refund in rows:
        found[refund.subscription_id].append(refund)
    return dict(found)


@dataclass(frozen=True)
class SubscriptionPayment:
    invoice: SubscriptionInvoice
    left: int  # what can still be refunded of it
    refunds: list[Refund]
    others: list[SubscriptionInvoice]  # the subscription's other paid invoices, newest first


def subscription_payment_for_seller(*, seller: Seller, invoice_id: int) -> SubscriptionPayment:
    """A paid invoice of one of the seller's subscriptions, for its page (refund it): what is left
    to refund, its refunds, and the subscription's other payments to move to. Another shop's, or
    an invoice not paid, is not found."""
    invoice = (
        SubscriptionInvoice.objects.filter(pk=invoice_id, subscription__seller=seller, payment__isnull=False)
        .select_related("subscription__buyer", "payment")
        .first()
    )
    if invoice is None or invoice.payment is None:
        raise NotFound("No such subscription payment.")
    others = (
        SubscriptionInvoice.objects.filter(subscription_id=invoice.subscription_id, payment__isnull=False)
        .exclude(pk=invoice.pk)
        .select_related("payment")
        .order_by("-created_at", "-id")[:24]
    )
    return SubscriptionPayment(
        invoice=invoice,
        left=payment_refundable(payment=invoice.payment),
        refunds=list(refunds_with_shares(invoice.payment.refunds.order_by("-created_at", "-id"))),
        others=list(others),
    )


def subscription_payments_of_seller(*, seller: Seller) -> QuerySet[SubscriptionInvoice]:
    """The paid invoices of the seller's subscriptions, newest first, each with its subscription, the
    subscriber and its payment (what was paid, its status, what is refunded so far) in one query: the
    console's seller page lists them, each to refund from the console's form by its invoice id."""
    return (
        SubscriptionInvoice.objects.filter(subscription__seller=seller, payment__isnull=False)
        .select_related("subscription__buyer", "payment")
        .order_by("-created_at", "-id")
    )


def subscription_payment_by_stripe_id(*, stripe_id: str) -> SubscriptionInvoice | None:
    """A paid subscription invoice by what an admin has of it from Stripe or a buyer's email: its
    invoice (`in_…`), charge (`ch_…`) or PaymentIntent (`pi_…`) id."""
    paid = SubscriptionInvoice.objects.filter(payment__isnull=False).select_related("subscription", "payment")
    if stripe_id.startswith("in_"):
        return paid.filter(stripe_invoice_id=stripe_id).first()
    if stripe_id.startswith("ch_"):
        return paid.filter(payment__stripe_charge_id=stripe_id).first()
    if stripe_id.startswith("pi_"):
        return paid.filter(payment__stripe_payment_intent_id=stripe_id).first()
    return None


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
    """Every subscriber of the seller's products, newest first, with the buyer and its latest paid
    invoice (`latest_payment_id`, the way to its payments and their refunds; one query, for the page
    to cut into pages), and the recurring revenue of them all (one more)."""
    latest_paid = SubscriptionInvoice.objects.filter(subscription=OuterRef("pk"), payment__isnull=False)
    rows = (
        Subscription.objects.filter(seller=seller)
        .exclude(status__in=("incomplete", "incomplete_expired"))
        .select_related("buyer")
        .annotate(latest_payment_id=Subquery(latest_paid.order_by("-created_at", "-id").values("pk")[:1]))
    )
    return Subscribers(rows=rows, revenue=recurring_revenue_of_seller(seller=seller))


def renewing_subscriptions() -> QuerySet[Subscription]:
    """Live subscriptions that renew: none set to end at its period end, nor with the shop's end on its
    way to Stripe (`services.subscription_shop_end`)."""
    return Subscription.objects.filter(status__in=LIVE_STATUSES, cancel_at_period_end=False).exclude(shop_pending="end")


def listings_with_plans(*, seller: Seller) -> QuerySet[Listing]:
    """The seller's listings with how each is sold (`subscription_plan` or none) and `renewing`, how
    many of its subscriptions renew (`renewing_subscriptions`: what selling it once may end), one query."""
    renewing = (
        renewing_subscriptions()
        .filter(listing=OuterRef("pk"))
        .order_by()
        .values("listing")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Listing.objects.filter(seller=seller)
        .select_related("subscription_plan")
        .annotate(renewing=Coalesce(Subquery(renewing), 0))
        .order_by("title", "id")
    )


def subscribers_price_sentence(*, listing: Listing) -> str:
    """What the listing's renewing subscribers pay when it is not its price now, in words ("" when they
    all pay it): Stripe goes on charging each subscription the price it was made with, so a seller
    who changes the price must read that the subscribers keep theirs. One ending at its period end
    pays nothing more (`renewing_subscriptions`): it was counted among those who "keep paying"."""
    rows = (
        renewing_subscriptions()
        .filter(listing=listing)
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
