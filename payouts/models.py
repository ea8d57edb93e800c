"""The seller's side of money, each row a mirror of one Stripe object, unique on its Stripe id.

- `Transfer`: what the platform sent a seller's connected account (all of a destination charge, or a
  seller order's share of a payment for several shops, made by `orders` from the charge).
- `TransferReversal`: a transfer taken (partly) back, e.g. with a refund.
- `ApplicationFee`: the platform's fee taken back from the seller's share, and `ApplicationFeeRefund`.

Written only by `payouts.services`, which also posts each to the ledger, from whichever arrives
first: the paid charge (which names its transfer and fee) or their own webhooks. Amounts are
integer minor units of `currency`.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q


class Transfer(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    destination = models.CharField(max_length=255, help_text="The seller's connected account, acct_...")
    amount = models.BigIntegerField()
    amount_reversed = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="transfers"
    )
    created_at = models.DateTimeField(help_text="When Stripe created it.")

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class TransferReversal(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="reversals")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    source_refund = models.CharField(
        max_length=255, blank=True, default="", help_text="The refund (re_...) that made it, if a refund did."
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_reversal_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class ApplicationFee(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    account = models.CharField(max_length=255, help_text="The seller's connected account it was taken from.")
    amount = models.BigIntegerField()
    amount_refunded = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="application_fees"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_fee_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class ApplicationFeeRefund(models.Model):
    stripe_id = models.CharField(max_length=255, unique=True)
    fee = models.ForeignKey(ApplicationFee, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_fee_refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id
