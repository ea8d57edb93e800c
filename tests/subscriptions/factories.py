"""A subscription row, and a paid invoice of it, as the webhooks would mirror them, for the pages'
tests (no Stripe needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from payments.models import Payment
from subscriptions.models import Subscription, SubscriptionInvoice

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


def paid_invoice(sub: Subscription, n: int = 1) -> SubscriptionInvoice:
    """The subscription's `n`th paid invoice back from END (its payment recorded, ids made up)."""
    payment = Payment.objects.create(
        stripe_payment_intent_id=f"pi_{sub.pk}_{n}",
        stripe_charge_id=f"ch_{sub.pk}_{n}",
        currency=sub.currency,
        amount=sub.amount,
        created_at=END - timedelta(days=30 * n),
    )
    return SubscriptionInvoice.objects.create(
        subscription=sub,
        stripe_invoice_id=f"in_{sub.pk}_{n}",
        status="paid",
        amount_due=sub.amount,
        amount_paid=sub.amount,
        currency=sub.currency,
        payment=payment,
        created_at=END - timedelta(days=30 * n),
    )
