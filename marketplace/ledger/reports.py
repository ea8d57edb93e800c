"""The platform's revenue by month and currency, read from the ledger (one aggregate query).

Why from the ledger: it is the record that equals Stripe's balances to the cent, so the revenue an
admin reads is the money that really moved, not a counter kept beside it. Figures are on each
account's normal side (positive in the normal case):

- gross volume: *Payments from buyers* (the sellers' sales), and refunds to buyers against it;
- the platform's result: *Application fees* less *Application fee refunds*, *Stripe processing
  fees*, *Dispute losses* net of what was recovered from the sellers (*Dispute losses recovered
  from sellers*: the transfer reversals of lost disputes and of the debts they left) and *Dispute
  fees*, and the *refunds the platform paid*: refunds to buyers less what came back for them from
  the sellers (their transfer reversals and, on a transfer the platform made itself, the part of
  its fee given up, already among the fee refunds), since an admin's refund "without taking it
  back from the seller" is the platform's own money. It equals the change of the platform's own
  Stripe balance from sales, since the sellers' shares pass through it, except for what banks hold
  for disputes still open (*Funds held for open disputes*): withdrawn from the balance, but a loss
  only once the dispute is lost. A lost
  dispute of a 10000 sale with a 1000 fee, recovered in full, shows 10000 lost, 10000 recovered
  and the 1000 fee refunded to the seller; while it is open, only its dispute fee. On a payment for
  several shops the shop gives back the 9000 it received and the platform gives up its 1000 fee
  share: the same 10000 recovered and 1000 fee refunded.

A refund that fails after its reversal leaves that reversal in place: until something uses it, the
month shows it as taken back for refunds with no refund against it (the platform holds the seller's
share). A refund sent again uses it and is its refund; a lost dispute that counts it posts it as
recovered for the dispute when it does (`flows.kept_reversal_for_dispute`), which moves it from the
refund lines to the dispute's: a refund of 3000 failed, then 5000 disputed and lost, shows no refund
paid by the platform and 5000 recovered, with the same net revenue.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Sum
from django.db.models.functions import TruncMonth

from marketplace.ledger.chart import CHART, AccountCode
from marketplace.ledger.flows import PostingKind
from marketplace.ledger.models import LedgerLeg
from marketplace.ledger.selectors import ledger_totals_by_period

FIGURES: dict[str, AccountCode] = {
    "gross_volume": AccountCode.BUYER_PAYMENTS,
    "refunds_to_buyers": AccountCode.BUYER_REFUNDS,
    "application_fees": AccountCode.APPLICATION_FEES,
    "fees_refunded": AccountCode.APPLICATION_FEE_REFUNDS,
    "stripe_fees": AccountCode.STRIPE_FEES,
    "dispute_losses": AccountCode.DISPUTE_LOSSES,
    "dispute_recoveries": AccountCode.DISPUTE_RECOVERIES,
    "dispute_fees": AccountCode.DISPUTE_FEES,
}


@dataclass(frozen=True)
class RevenueMonth:
    month: datetime  # the 1st, 00:00 UTC
    currency: str
    gross_volume: int = 0
    refunds_to_buyers: int = 0
    application_fees: int = 0
    fees_refunded: int = 0
    stripe_fees: int = 0
    dispute_losses: int = 0
    dispute_recoveries: int = 0
    dispute_fees: int = 0
    refunds_paid_by_platform: int = 0  # not an account: refunds to buyers less what sellers gave back for them

    @property
    def net_dispute_losses(self) -> int:
        """What banks took back for lost disputes less what the sellers gave back for them."""
        return self.dispute_losses - self.dispute_recoveries

    @property
    def net_revenue(self) -> int:
        """What the platform kept: its fees less fee refunds, Stripe's fees, dispute costs and the
        refunds it paid itself."""
        return (
            self.application_fees
            - self.fees_refunded
            - self.stripe_fees
            - self.net_dispute_losses
            - self.dispute_fees
            - self.refunds_paid_by_platform
        )

    def as_row(self) -> dict[str, int | str]:
        row: dict[str, int | str] = {"month": self.month.strftime("%Y-%m"), "currency": self.currency}
        row.update({f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("month", "currency")})
        row["net_revenue"] = self.net_revenue
        return row


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def next_month(when: datetime) -> datetime:
    return month_start(when.year + when.month // 12, when.month % 12 + 1)


def revenue_by_month(*, start: datetime, end: datetime) -> list[RevenueMonth]:
    """Every month from `start` (a month's 1st, UTC) up to `end` (exclusive) that had movements, per
    currency, oldest first; a month without any is left out. Three aggregate queries."""
    codes = list(FIGURES.values())
    totals = ledger_totals_by_period(period="month", start=start, end=end, codes=codes, stripe_account="")
    figure_of = {code: name for name, code in FIGURES.items()}
    months: dict[tuple[datetime, str], dict[str, int]] = {}
    for row in totals:
        code = AccountCode(row.code)
        sign = CHART[code].kind.normal_sign
        months.setdefault((row.period, row.currency), {})[figure_of[code]] = sign * row.amount
    # What came back from sellers for refunds, from the platform's legs of transfer reversals (debit
    # positive): the money back on its balance, less what a lost dispute's recovery brought (not a
    # refund's), plus the fee share given up on a transfer the platform made (booked as a fee refund),
    # less what a lost dispute later counted of a failed refund's reversal (`kept_reversal_for_dispute`).
    reversals = ledger_totals_by_period(
        period="month",
        start=start,
        end=end,
        codes=[AccountCode.STRIPE_BALANCE, AccountCode.DISPUTE_RECOVERIES, AccountCode.APPLICATION_FEE_REFUNDS],
        stripe_account="",
        kinds=[PostingKind.TRANSFER_REVERSAL, PostingKind.KEPT_REVERSAL_FOR_DISPUTE],
    )
    taken_back: dict[tuple[datetime, str], int] = {}
    for row in reversals:
        taken_back[(row.period, row.currency)] = taken_back.get((row.period, row.currency), 0) + row.amount
    fee_shares = _fee_shares_of_dispute_recoveries(start=start, end=end)
    for key, values in months.items():
        # A lost dispute's recovery on a transfer the platform made: the seller gives back what it
        # received, and the fee share the platform gives up with it is the rest of that seller's part
        # of the loss, recovered as on a destination charge (where the seller gives the whole sale
        # back and gets the fee refunded); counted once, not again as a dispute loss.
        values["dispute_recoveries"] = values.get("dispute_recoveries", 0) + fee_shares.get(key, 0)
        values["refunds_paid_by_platform"] = (
            values.get("refunds_to_buyers", 0) - taken_back.get(key, 0) + fee_shares.get(key, 0)
        )
    return [RevenueMonth(month, currency, **values) for (month, currency), values in sorted(months.items())]


def _fee_shares_of_dispute_recoveries(*, start: datetime, end: datetime) -> dict[tuple[datetime, str], int]:
    """Per month and currency: the platform's fee given up by transfer reversals that recover a lost
    dispute (their posting has a *Dispute losses recovered from sellers* leg). One aggregate query."""
    recovers = LedgerLeg.objects.filter(
        transaction=OuterRef("transaction"), account__code=AccountCode.DISPUTE_RECOVERIES
    )
    rows = (
        LedgerLeg.objects.filter(
            occurred_at__gte=start,
            occurred_at__lt=end,
            account__code=AccountCode.APPLICATION_FEE_REFUNDS,
            account__stripe_account="",
            transaction__kind=PostingKind.TRANSFER_REVERSAL,
        )
        .filter(Exists(recovers))
        .annotate(period=TruncMonth("occurred_at", tzinfo=UTC))
        .values_list("period", "currency")
        .annotate(total=Sum("amount"))
        .order_by("period", "currency")
    )
    return {(period, currency): int(total) for period, currency, total in rows}
