"""Subscriptions sold by sellers: which listings are sold by subscription, and what Stripe says of
each buyer's subscription and its invoices.

Stripe owns the truth (status, periods, retries); these rows mirror it for our pages and emails and
are only written from what the gateway re-reads or answers (`subscriptions.services.subscription_sync`),
so an event arriving late or twice cannot move them backwards; the shop's own end at period end adds
what only we know: that the shop asked (`shop_pending`) and which cancellation was its
(`shop_canceled_at`). Money is posted to the ledger like any charge: each paid invoice's charge
becomes a `payments.Payment` (charge, Stripe fee, transfer, application fee), linked from its
`SubscriptionInvoice`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class SubscriptionPlan(models.Model):
    """A listing sold by subscription: its price (`Listing.price`, in the listing's currency) is
    charged every `interval` instead of once."""

    listing = models.OneToOneField("catalog.Listing", on_delete=models.CASCADE, related_name="subscription_plan")
    interval = models.CharField(max_length=5, choices=Interval.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.listing_id} per {self.interval}"


class SubscriptionStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "Waiting for the first payment"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Never started"
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment overdue"
    UNPAID = "unpaid", "Unpaid"
    CANCELED = "canceled", "Canceled"
    PAUSED = "paused", "Paused"


LIVE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.TRIALING)


class Subscription(models.Model):
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions")
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="subscriptions")
    listing = models.ForeignKey("catalog.Listing", on_delete=models.PROTECT, related_name="subscriptions")
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=20, choices=SubscriptionStatus.choices)
    title = models.CharField(max_length=140, help_text="The listing's title when subscribed.")
    amount = models.BigIntegerField(help_text="Minor units charged each interval.")
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=5, choices=Interval.choices)
    application_fee_basis_points = models.PositiveIntegerField()
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(
        null=True, blank=True, help_text="Stripe's `canceled_at`: when its cancellation was last asked for."
    )
    shop_canceled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Stripe's `canceled_at` in its answer to the shop's own end at period end: while the two are "
        "equal, the shop ended it (a buyer's cancellation in the portal has its own).",
    )
    shop_changes = models.PositiveIntegerField(
        default=0, help_text="How many ends and undos of the shop Stripe answered (made or refused): names the next."
    )
    shop_pending = models.CharField(
        max_length=4,
        choices=[("", "None"), ("end", "End at period end"), ("keep", "Keep")],
        blank=True,
        default="",
        help_text="The shop's change not yet answered by Stripe (its outbox follow-up sends it).",
    )
    shop_pending_read = models.BooleanField(
        default=True,
        help_text="Whether Stripe was read after the pending change was made: until it is, the change was never "
        "sent, and its follow-up reads Stripe before sending it.",
    )
    collection_paused = models.BooleanField(
        default=False,
        help_text="Stripe charges nothing at renewals (the seller's shop is paused here, or Stripe disabled it).",
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_for_nonpayment = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["seller", "status"], name="subscription_seller_status")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="subscription_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_subscription_id

    @property
    def ended_by(self) -> str:
        """Who set it to end at its period end: "shop", "buyer" (in Stripe's portal), or "" when it
        is not set to. The shop's is the one whose `canceled_at` Stripe answered to the shop."""
        if not self.cancel_at_period_end:
            return ""
        if self.shop_canceled_at is not None and self.canceled_at == self.shop_canceled_at:
            return "shop"
        return "buyer"


def monthly_amount(amount: int, interval: str) -> int:
    """What a subscription of `amount` per `interval` brings per month, in minor units (a yearly one
    counts a twelfth, rounded down so the sum never claims more than will come)."""
    return amount if interval == Interval.MONTH else amount // 12


class SubscriptionInvoice(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=20)
    amount_due = models.BigIntegerField()
    amount_paid = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    hosted_invoice_url = models.URLField(max_length=500, blank=True, default="")
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="subscription_invoices"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.stripe_invoice_id
