"""Payments: the buyer's side of money, one row per PaymentIntent and its charge.

Why a row of its own: an order says what was bought; a payment says what Stripe took from the
buyer, what was refunded and disputed of it, and under which Stripe ids, so that one payment can
pay several orders (a cart with several shops, later) and refunds and disputes can hang off it.
Orders point at their payment (`Order.payment`). Amounts are integer minor units of `currency`.

Written only by `payments.services`, which also posts the money it records to the ledger.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, unique=True)
    stripe_balance_transaction_id = models.CharField(
        max_length=255, blank=True, default="", help_text="The platform's balance transaction of the charge."
    )
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217.")
    amount = models.BigIntegerField(help_text="Minor units: what the buyer paid.")
    amount_refunded = models.BigIntegerField(default=0)
    amount_disputed = models.BigIntegerField(default=0)
    stripe_fee = models.BigIntegerField(default=0, help_text="Stripe's processing fee, from the balance transaction.")
    created_at = models.DateTimeField(help_text="When Stripe created the charge.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payment_refunded_within_amount",
            ),
            models.CheckConstraint(condition=Q(amount_disputed__gte=0), name="payment_disputed_non_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="payment_currency_lowercase_iso"),
        ]

    def __str__(self) -> str:
        return self.stripe_charge_id
