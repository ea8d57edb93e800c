"""Accounts, transactions and legs. Write through `services`, read through `selectors`.

The rows carry their own guarantees on Postgres (migration 0002): legs of a transaction sum to zero
per currency at commit, and transactions and legs can be inserted, never updated or deleted. The
unique constraints below hold on every database.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from marketplace.ledger.chart import AccountCode, AccountRef


class Account(models.Model):
    """An account of the chart (`chart.CHART`), created on first use, unique on (code, stripe_account).

    `name` and `kind` are copies of the chart's, stored so that SQL readers and reports need not
    know the chart; Postgres refuses a change of code, Stripe account or kind (migration 0002).
    """

    code = models.CharField(max_length=40, help_text="chart.AccountCode")
    stripe_account = models.CharField(max_length=255, blank=True, default="", help_text='acct_..., "" = platform')
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, help_text="chart.AccountKind")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "stripe_account"], name="ledger_account_unique_ref"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ref(self) -> AccountRef:
        return AccountRef(AccountCode(self.code), self.stripe_account)


class LedgerTransaction(models.Model):
    """One money movement: a Stripe object (`source_id`) seen as one `kind` of posting.

    Unique on (source_id, kind): a webhook delivered twice, or replayed, finds its posting already
    there. `occurred_at` is when the money moved (Stripe's `created`), which balances and reports
    go by; `created_at` is when we recorded it. `reverses` links a correction to what it undoes,
    and a transaction can be reversed once.
    """

    source_id = models.CharField(max_length=255, help_text="Stripe object id: ch_, tr_, fee_, re_, dp_, po_ ...")
    kind = models.CharField(max_length=60)
    description = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # Indexed by `ledger_transaction_reversed_once` alone: the few corrections, not a NULL for every
    # posting (a OneToOneField's unique index holds one per row).
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_id", "kind"], name="ledger_transaction_unique_source"),
            models.UniqueConstraint(
                fields=["reverses"], condition=models.Q(reverses__isnull=False), name="ledger_transaction_reversed_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}"


class LedgerLeg(models.Model):
    """One side of a transaction: a signed amount (debit positive) on one account, in one currency.

    `occurred_at` repeats the transaction's (Postgres refuses a leg whose time differs), so that a
    report or a balance at a date is one scan of this table with no join.
    """

    # Both keys are checked by the ledger's own statement trigger, not by foreign key constraints
    # (migration 0003): once per INSERT statement instead of twice per leg at commit, without a
    # share lock on the platform's accounts, which every posting names. So are the amount (never 0)
    # and the currency (three lowercase letters), not by CHECK constraints (migration 0007), which
    # Postgres plans anew for every INSERT.
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="legs", db_constraint=False
    )
    # No index of its own: `ledger_leg_account_time` starts with the account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="legs", db_index=False, db_constraint=False
    )
    amount = models.BigIntegerField(help_text="Minor units; debit positive, credit negative; never 0")
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217")
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [
            # A balance at a date: one account's legs up to a time, read from the index alone
            # (INCLUDE would say it better, but SQLite warns about it at every start of the demo).
            models.Index(fields=["account", "occurred_at", "currency", "amount"], name="ledger_leg_account_time"),
            # A monthly report: the legs of a time range.
            models.Index(fields=["occurred_at"], name="ledger_leg_time"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.currency} on account {self.account_id}"
