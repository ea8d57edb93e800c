"""Reads of the seller's side of money: payouts, the failed-payout banner."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from payouts.models import Payout, PayoutStatus


def payouts_for_account(*, account: str) -> QuerySet[Payout]:
    """The account's payouts, newest first."""
    return Payout.objects.filter(account=account).order_by("-created_at", "-id")


def payout_failure_unresolved(*, account: str) -> Payout | None:
    """The latest failed payout with no paid payout created after it: what the seller's banner is
    about. One query; None once a later payout was paid."""
    paid_later = Payout.objects.filter(account=account, status=PayoutStatus.PAID, created_at__gt=OuterRef("created_at"))
    return (
        Payout.objects.filter(account=account, status=PayoutStatus.FAILED)
        .exclude(Exists(paid_later))
        .order_by("-created_at", "-id")
        .first()
    )
