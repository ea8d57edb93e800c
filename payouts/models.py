"""The seller's side of money, each row a mirror of one Stripe object, unique on its Stripe id.

- `Transfer`: what the platform sent a seller's connected account (all of a destination charge, or a
  seller order's share of a payment for several shops, made by `orders` from the charge).
- `TransferReversal`: a transfer taken (partly) back, e.g. with a refund.
- `ApplicationFee`: the platform's fee taken back from the seller's share, and `ApplicationFeeRefund`.
- `Payout`: what Stripe paid from a seller's balance to its bank (or failed to).
- `BankAccount`: a seller's bank account, which posts nothing.
- `AvailableBalance`: a seller's available balance per currency as Stripe last said it, moved by
  the reversals and fee refunds mirrored since.

Written only by `payouts.services`, which also posts each money row to the ledger, from whichever
arrives first: the paid charge (which names its transfer and fee) or their own webhooks. Amounts are
integer minor units of `currency`. The reconciliation's rows (`ReconciliationRun`, `ReconciliationLine`,
`ReconciliationDifference`) mirror no Stripe object: `payouts.reconciliation` writes them.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Transfer(models.Model):
    # Unique by a constraint, not `unique=True`: that would add an index for LIKE on Postgres, which
    # nothing uses (the admin searches with a leading wildcard), at the cost of an entry per transfer.
    stripe_id = models.CharField(max_length=255)
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
            models.UniqueConstraint(fields=["stripe_id"], name="transfer_stripe_id_unique"),
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
    # Ours, not Stripe's: what the seller's earnings per order count as taken for a lost dispute (the
    # reversals of a debt's later collections, from any transfer, name none: the debt counts them).
    for_dispute = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The lost dispute (dp_...) whose recovery made it, if one did.",
    )
    # Ours too: a debt's collection reverses whichever later sale had funds, so the seller's statement
    # names the disputed sale by this, not the sale it took from; earnings count it by the debt.
    for_debt_of = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The lost dispute (dp_...) whose debt it collected, if it did.",
    )
    # A failed refund's kept reversal that a lost dispute counted only in part (the dispute's share
    # smaller than it): the part not counted, still kept for the payment's next refund.
    kept_for_refund = models.BigIntegerField(
        default=0,
        help_text="Of a failed refund's reversal named for a lost dispute, what the dispute did not count.",
    )
    # On a payment for several shops such a reversal also carries the platform's fee share its refund
    # gave up: the dispute counts that in proportion to what it counts of the reversal, and this is
    # the rest, kept with `kept_for_refund` for the order's next refund.
    fee_kept_for_refund = models.BigIntegerField(
        default=0,
        help_text="Of the fee share booked with such a reversal, what the dispute did not count.",
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_reversal_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class ApplicationFee(models.Model):
    stripe_id = models.CharField(max_length=255)  # unique by a constraint: see `Transfer.stripe_id`
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
            models.UniqueConstraint(fields=["stripe_id"], name="application_fee_stripe_id_unique"),
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


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_TRANSIT = "in_transit", "In transit"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class Payout(models.Model):
    """Money Stripe sends from a seller's balance to its bank account, mirrored from `payout.*`
    Connect events (re-read through the gateway each time, so the row is Stripe's latest word).

    Posted to the ledger when first seen (the seller's balance to its bank payouts) and reversed
    when it fails or is canceled, as Stripe's `payout` and `payout_failure` balance transactions do.
    """

    stripe_id = models.CharField(max_length=255, unique=True)
    account = models.CharField(max_length=255, db_index=False, help_text="The connected account paid out, acct_...")
    amount = models.BigIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=PayoutStatus.choices)
    automatic = models.BooleanField(default=True)
    arrival_date = models.DateTimeField(help_text="When Stripe expects the bank to have it.")
    failure_code = models.CharField(max_length=60, blank=True, default="")
    failure_message = models.TextField(blank=True, default="")
    reconciliation_status = models.CharField(max_length=20, blank=True, default="")
    created_at = models.DateTimeField(help_text="When Stripe created it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "-created_at"], name="payout_account_newest"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class BankAccount(models.Model):
    """A seller's bank account at Stripe (an external account of its connected account), mirrored
    from `account.external_account.*` Connect events and when a payout fails, each time by reading
    the account again through the gateway (events come out of order; the read is Stripe's latest).

    Why: a failed payout marks it `errored` and Stripe sends no payout, automatic or manual, until
    the seller updates its bank details; the seller's pages say which of the two it is."""

    account = models.CharField(max_length=255, help_text="The connected account, acct_...")
    stripe_id = models.CharField(max_length=255, unique=True, help_text="ba_...")
    status = models.CharField(max_length=30, blank=True, default="", help_text="Stripe's: new, errored, ...")
    last4 = models.CharField(max_length=4, blank=True, default="")
    bank_name = models.CharField(max_length=255, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["account"], name="bank_account_of_account")]

    def __str__(self) -> str:
        return f"bank account {self.stripe_id} of {self.account} ({self.status})"

    @property
    def errored(self) -> bool:
        return self.status == "errored"


class AvailableBalance(models.Model):
    """A seller's available balance at Stripe in one currency, as Stripe last said it (`read_at`),
    moved since by the transfer reversals and fee refunds we mirrored (each is taken from, or given
    to, the available balance at once). What the console's "Sellers with a negative balance" lists.

    Why a row: the console must list the sellers whose available balance is below zero without
    reading every seller's balance (a partial index holds only the negative ones), and a reversal
    must move the figure without a Stripe call per reversal; it moves in the reversal's own
    transaction, once per reversal. Stripe's next read (the Money page, `balance.available`, the beat)
    replaces it, so anything Stripe changed that we do not mirror lasts until then; so does a read
    that crossed a reversal (Stripe answered before the reversal and the row was written after its
    move, or a reversal already in Stripe's answer is mirrored only after it, from a late webhook):
    the figure is off by that reversal until the next read, at most the beat's interval."""

    account = models.CharField(max_length=255, help_text="The connected account, acct_...")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Minor units; below zero when the seller owes.")
    read_at = models.DateTimeField(help_text="When Stripe's balance was last read.")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "currency"], name="available_balance_unique"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["currency", "amount"], condition=Q(amount__lt=0), name="available_balance_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount} {self.currency} available"


class ReconciliationRun(models.Model):
    """One pass of `payouts.reconciliation.reconcile`: Stripe's balance transactions of the platform
    and the sellers (or one account, from `since`) against the ledger."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    account = models.CharField(max_length=255, blank=True, default="", help_text='acct_..., "" = every account')
    accounts = models.IntegerField(default=0)
    stripe_transactions = models.IntegerField(default=0)
    differences = models.IntegerField(default=0)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.pk}"


class ReconciliationLine(models.Model):
    """Stripe's side of a run while it runs: one balance transaction, under the key its ledger
    posting has (its source, or for a seller's `py_` payment the transfer it came from). Written a
    page at a time so that the comparison is one SQL statement and memory stays flat; deleted when
    the run ends."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="lines", db_index=False)
    stripe_account = models.CharField(max_length=255, blank=True, default="")
    key = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    stripe_id = models.CharField(max_length=255)
    type = models.CharField(max_length=60)
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    net = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["run", "stripe_account", "key", "currency"], name="reconciliation_line_key"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class DifferenceKind(models.TextChoices):
    MISSING_IN_LEDGER = "missing_in_ledger", "At Stripe, not in our ledger"
    MISSING_AT_STRIPE = "missing_at_stripe", "In our ledger, not at Stripe"
    AMOUNT_MISMATCH = "amount_mismatch", "Amounts differ"


class ReconciliationDifference(models.Model):
    """Where Stripe and the ledger disagree, for one Stripe object on one account in one currency.
    Kept while runs keep finding it (`last_seen_run`); gone after the first run that does not."""

    stripe_account = models.CharField(max_length=255, blank=True, default="")
    key = models.CharField(max_length=255, help_text="The Stripe object: ch_, tr_, fee_, po_, dp_, re_ ...")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=30, choices=DifferenceKind.choices)
    stripe_id = models.CharField(max_length=255, blank=True, default="", help_text="A balance transaction, txn_...")
    stripe_type = models.CharField(max_length=60, blank=True, default="")
    stripe_amount = models.BigIntegerField(null=True, blank=True)
    stripe_fee = models.BigIntegerField(null=True, blank=True)
    stripe_net = models.BigIntegerField(null=True, blank=True)
    ledger_amount = models.BigIntegerField(null=True, blank=True)
    ledger_fee = models.BigIntegerField(null=True, blank=True)
    ledger_net = models.BigIntegerField(null=True, blank=True)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["-occurred_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["stripe_account", "key", "currency"], name="reconciliation_difference_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
