"""A subscription row as the webhooks would mirror it, for the pages' tests (no Stripe needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from subscriptions.models import Subscription

END = datetime(2031, 3, 4, tzinfo=UTC)


def subscription(buyer: Any, listing: Any, **fields: Any) -> Subscription:
    values = {
        "status": "active",
        "amount": listing.price,
        "currency": listing.currency,
        "interval": "month",
        "application_fee_basis_points": 1_000,
        "current_period_end": END,
        "title": listing.title,
        **fields,
    }
    return Subscription.objects.create(
        buyer=buyer,
        seller=listing.seller,
        listing=listing,
        stripe_subscription_id=f"sub_{Subscription.objects.count()}_{buyer.pk}",
        **values,
    )
