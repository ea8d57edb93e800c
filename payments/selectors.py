"""Reads of payments."""

from __future__ import annotations

from payments.models import Payment


def payment_of_charge(*, charge_id: str) -> Payment | None:
    """The payment recorded for a Stripe charge, if it is recorded yet."""
    return Payment.objects.filter(stripe_charge_id=charge_id).first()
