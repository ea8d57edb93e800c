"""Reads about sellers, for pages, the API and the other apps (listings, checkout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from marketplace.errors import NotFound
from sellers.models import Seller, SellerStatus
from sellers.requirements import disabled_reason_sentence, requirement_sentences
from sellers.status import STATUS_BADGE, NextStep, StatusMessage, ever_enabled, status_message


def seller_can_sell(seller: Seller | None) -> bool:
    """May this seller's listings be shown and bought right now?

    The same rule as `Seller.objects.sellable()`: Stripe lets the account take charges, the
    platform has not paused it and it is still connected. Listings and checkout call this (and the
    QuerySet for lists) so the rule lives in one place.
    """
    return bool(
        seller is not None
        and seller.stripe_account_id
        and seller.charges_enabled
        and seller.paused_at is None
        and seller.disconnected_at is None
    )


CANNOT_SELL_MESSAGE = "{shop} can't take orders right now, so this item can't be bought. Please try again later."


def seller_cannot_sell_message(seller: Seller) -> str:
    """What checkout tells a buyer whose cart holds items of a seller who cannot sell."""
    return CANNOT_SELL_MESSAGE.format(shop=seller.shop_name)


def seller_for_user(*, user: Any) -> Seller:
    """The signed-in user's own seller profile, or NotFound (never anyone else's)."""
    if not getattr(user, "is_authenticated", False):
        raise NotFound("You don't have a shop yet.", code="seller_not_found")
    try:
        return Seller.objects.get(user=user)
    except Seller.DoesNotExist:
        raise NotFound("You don't have a shop yet.", code="seller_not_found") from None


def seller_owned_by(*, user: Any, seller_id: int) -> Seller:
    """The seller `seller_id` if `user` owns it; NotFound otherwise (no hint that it exists)."""
    try:
        return Seller.objects.get(pk=seller_id, user_id=user.pk)
    except Seller.DoesNotExist:
        raise NotFound("No such shop.", code="seller_not_found") from None


@dataclass(frozen=True)
class SellerOverview:
    """Everything the seller's status card (and the API and emails) shows, worked out once."""

    seller: Seller
    status: str
    status_label: str
    message: StatusMessage
    badge: str
    due_sentences: list[str]
    eventually_due_sentences: list[str]
    errors: list[str]
    disabled_reason_sentence: str | None
    current_deadline: datetime | None
    deadline_passed: bool
    can_sell: bool
    actions: list[NextStep]
    pending_verification: list[str] = field(default_factory=list)
    bank_errored: bool = False  # as given to `seller_overview`


def seller_overview(*, seller: Seller, bank_errored: bool = False) -> SellerOverview:
    """`bank_errored`: as for `status_message`, known from the seller's failed-payout banner
    (`payouts.selectors.seller_home_overview` reads it, for the seller home and the API)."""
    status = SellerStatus(seller.status)
    message = status_message(seller, bank_errored=bank_errored)
    due = list(dict.fromkeys([*seller.past_due, *seller.currently_due]))
    later = [c for c in seller.eventually_due if c not in due]
    errors = [
        str(e.get("reason") or "") or f"Stripe could not verify: {e.get('requirement')}"
        for e in seller.requirement_errors
    ]
    # The next step first; then, while Stripe still needs something and the account can still take it,
    # the hosted form, and the Express dashboard once onboarded (where an Express account's owner
    # changes details and bank account: see seller_onboarding_link_create).
    actions = [message.next_step]
    open_for_changes = seller.disconnected_at is None and status != SellerStatus.REJECTED
    kinds = {message.next_step.kind}
    if open_for_changes and due and "onboarding" not in kinds:
        actions.append(NextStep("onboarding", "Provide what Stripe needs"))
    if seller.details_submitted and seller.disconnected_at is None and "dashboard" not in kinds:
        actions.append(NextStep("dashboard", "Open Stripe Express dashboard"))
    deadline = seller.current_deadline if due else None
    return SellerOverview(
        seller=seller,
        status=status.value,
        status_label=status.label,
        message=message,
        badge=STATUS_BADGE[status],
        due_sentences=requirement_sentences(due, country=seller.country),
        eventually_due_sentences=requirement_sentences(later, country=seller.country),
        errors=errors,
        disabled_reason_sentence=disabled_reason_sentence(seller.disabled_reason, ever_enabled=ever_enabled(seller))
        if status not in (SellerStatus.PAUSED, SellerStatus.DISCONNECTED)
        else None,
        current_deadline=deadline,
        deadline_passed=bool(deadline and deadline <= timezone.now()),
        can_sell=seller_can_sell(seller),
        actions=actions,
        pending_verification=requirement_sentences(
            seller.requirements.get("pending_verification") or [], country=seller.country
        ),
        bank_errored=bank_errored,
    )


def sellers_for_console(*, status: str | None = None, query: str | None = None) -> QuerySet[Seller]:
    qs = Seller.objects.select_related("user").order_by("-created_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if query:
        qs = qs.filter(shop_name__icontains=query) | qs.filter(user__email__icontains=query)
    return qs


def seller_status_counts() -> dict[str, int]:
    rows = Seller.objects.values("status").annotate(n=Count("id")).order_by()
    counts = {s.value: 0 for s in SellerStatus}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def sellers_with_deadline_between(*, start: datetime, end: datetime) -> QuerySet[Seller]:
    """Sellers with something due by a deadline in [start, end) who were not reminded of it yet."""
    from django.db.models import F, Q

    return (
        Seller.objects.filter(current_deadline__gte=start, current_deadline__lt=end, disconnected_at__isnull=True)
        .filter(Q(reminder_sent_for_deadline__isnull=True) | ~Q(reminder_sent_for_deadline=F("current_deadline")))
        .select_related("user")
    )


def seller_account_is_known(account_id: str) -> bool:
    """Is this Stripe account one of our sellers'? The webhook inbox asks (through the hook
    `SellersConfig.ready()` registers) before acting on a Connect event."""
    return Seller.objects.filter(stripe_account_id=account_id).exists()


def seller_account_ids() -> list[str]:
    """Every seller's Stripe account id, for the webhook catch-up (same hook)."""
    ids = Seller.objects.exclude(stripe_account_id__isnull=True).exclude(stripe_account_id="")
    return [str(a) for a in ids.values_list("stripe_account_id", flat=True)]
