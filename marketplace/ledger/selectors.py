"""Reading the ledger: balances and reports, always summed from the legs, in one SQL aggregate each.

A balance is given on the account's normal side (`AccountKind.normal_sign`): an asset's or an
expense's balance is the sum of its legs, a revenue account's is minus that sum, so every figure a
person reads is positive in the normal case. Times are `occurred_at` (when Stripe moved the money).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

from marketplace.errors import InvalidInput
from marketplace.ledger.chart import AccountCode, AccountKind, AccountRef
from marketplace.ledger.models import Account, LedgerLeg

# The years a monthly report exists for: December 9999 would end in the year 10000, past `datetime`.
REPORT_YEARS = range(2000, 9999)


@dataclass(frozen=True)
class AccountBalance:
    account: AccountRef
    currency: str
    balance: int  # minor units, on the account's normal side


@dataclass(frozen=True)
class ReportLine:
    """One account's movements in one currency over the report's period."""

    account: AccountRef
    currency: str
    debits: int  # sum of the debit legs, >= 0
    credits: int  # sum of the credit legs, as a positive number

    @property
    def net(self) -> int:
        """The change of the account's balance over the period, on its normal side."""
        return self.account.kind.normal_sign * (self.debits - self.credits)


@dataclass(frozen=True)
class MonthlyReport:
    start: datetime
    end: datetime  # exclusive
    lines: list[ReportLine]  # by currency, then kind and name

    @property
    def currencies(self) -> list[str]:
        return sorted({line.currency for line in self.lines})


def ledger_balance(*, account: AccountRef, at: datetime | None = None) -> dict[str, int]:
    """The account's balance per currency, of everything that occurred up to `at` (inclusive; now
    when None). A currency appears once the account has had a leg in it, even if it is back to 0."""
    legs = LedgerLeg.objects.filter(account__code=account.code, account__stripe_account=account.stripe_account)
    if at is not None:
        legs = legs.filter(occurred_at__lte=at)
    rows = legs.values_list("currency").annotate(total=Sum("amount")).order_by("currency")
    sign = account.kind.normal_sign
    return {currency: sign * total for currency, total in rows}


def ledger_has_currency(*, currency: str) -> bool:
    """Has any money moved in `currency`? What the revenue API asks of a currency nobody sells in,
    so that one the ledger holds (and the revenue page shows) is never refused."""
    return LedgerLeg.objects.filter(currency=currency).exists()


def ledger_last_movement() -> datetime | None:
    """When the latest leg occurred (None for an empty ledger): one read of the time index's end."""
    last: datetime | None = LedgerLeg.objects.aggregate(last=Max("occurred_at"))["last"]
    return last


def ledger_sources_posted_to(*, source_ids: Iterable[str], kind: str, code: AccountCode) -> set[str]:
    """Which of `source_ids` (Stripe ids) have a posting of `kind` with a leg on an account of `code`:
    what a page asks to tell postings of one kind apart by where their money went (a transfer reversal
    that recovered a lost dispute from one that gave a refund's share back). One query."""
    return set(
        LedgerLeg.objects.filter(
            transaction__source_id__in=list(source_ids), transaction__kind=kind, account__code=code
        ).values_list("transaction__source_id", flat=True)
    )


def ledger_balances_of_kind(*, kind: AccountKind, at: datetime | None = None) -> list[AccountBalance]:
    """Every account of `kind` with its balance per currency (e.g. all Stripe balances and bank
    payouts for `ASSET`), ordered by account name then currency."""
    legs = LedgerLeg.objects.filter(account__kind=kind)
    if at is not None:
        legs = legs.filter(occurred_at__lte=at)
    rows = list(legs.values_list("account_id", "currency").annotate(total=Sum("amount")))
    refs = _refs({account_id for account_id, _, _ in rows})
    balances = [
        AccountBalance(refs[account_id], currency, kind.normal_sign * total) for account_id, currency, total in rows
    ]
    return sorted(balances, key=lambda b: (b.account.name, b.currency))


def ledger_monthly_report(*, year: int, month: int) -> MonthlyReport:
    """What moved on each account in each currency during a calendar month (in the site's time zone):
    debits, credits and the net change, one aggregate over the month's legs. The console's Ledger
    page reads it as a trial balance, for an accountant."""
    if not (1 <= month <= 12 and year in REPORT_YEARS):
        raise InvalidInput("Pick a month between January 2000 and December 9998.", code="invalid_month")
    zone = timezone.get_default_timezone()
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    rows = list(
        LedgerLeg.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .values_list("account_id", "currency")
        .annotate(
            debits=Coalesce(Sum("amount", filter=Q(amount__gt=0)), 0),
            credits=Coalesce(Sum("amount", filter=Q(amount__lt=0)), 0),
        )
    )
    refs = _refs({account_id for account_id, _, _, _ in rows})
    lines = [ReportLine(refs[account_id], currency, debits, -credits) for account_id, currency, debits, credits in rows]
    order = list(AccountKind)
    lines.sort(key=lambda line: (line.currency, order.index(line.account.kind), line.account.name))
    return MonthlyReport(start=start, end=end, lines=lines)


def ledger_months(*, current: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The first and last (year, month), in the site's time zone, that a monthly report has anything
    to say about: from the month of the earliest leg to that of the latest, `current` always within
    (an empty ledger is this month alone). The console's Ledger page moves between these and no
    further, so its month links end instead of walking every month back to the year 2000."""
    zone = timezone.get_default_timezone()
    span = LedgerLeg.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    moments = [moment.astimezone(zone) for moment in span.values() if moment is not None]
    months = [current, *((moment.year, moment.month) for moment in moments)]
    return min(months), max(months)


def _refs(account_ids: set[int]) -> dict[int, AccountRef]:
    rows = Account.objects.filter(id__in=account_ids).values_list("id", "code", "stripe_account")
    return {pk: AccountRef(AccountCode(code), stripe_account) for pk, code, stripe_account in rows}


@dataclass(frozen=True)
class PeriodTotal:
    """The movement of one account code in one currency over one period (a week, a month)."""

    period: datetime  # the period's start
    code: str
    currency: str
    amount: int  # sum of the legs, debit positive (not on the normal side: callers pick their sign)


def ledger_totals_by_period(
    *,
    period: str,
    start: datetime,
    end: datetime | None = None,
    codes: Iterable[str] | None = None,
    stripe_account: str | None = None,
    exclude_kinds: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
) -> list[PeriodTotal]:
    """Sums of legs per `period` ("week", Monday 00:00 UTC; or "month", in UTC), account code and
    currency, from `start` (inclusive) to `end` (exclusive): one aggregate, for the seller's
    earnings chart and the platform's revenue by month. `stripe_account` narrows to one Stripe
    account's accounts ("" the platform's); `exclude_kinds` leaves out postings of those kinds
    (e.g. payouts, which move money without earning it), `kinds` keeps only postings of those kinds."""
    trunc = {"week": TruncWeek, "month": TruncMonth}.get(period)
    if trunc is None:
        raise InvalidInput(f"Unknown period {period!r}: week or month.", code="invalid_period")
    legs = LedgerLeg.objects.filter(occurred_at__gte=start)
    if end is not None:
        legs = legs.filter(occurred_at__lt=end)
    if codes is not None:
        legs = legs.filter(account__code__in=[str(c) for c in codes])
    if stripe_account is not None:
        legs = legs.filter(account__stripe_account=stripe_account)
    excluded = [str(k) for k in exclude_kinds]
    if excluded:
        legs = legs.exclude(transaction__kind__in=excluded)
    if kinds is not None:
        legs = legs.filter(transaction__kind__in=[str(k) for k in kinds])
    rows = (
        legs.annotate(period=trunc("occurred_at", tzinfo=UTC))
        .values_list("period", "account__code", "currency")
        .annotate(total=Sum("amount"))
        .order_by("period", "account__code", "currency")
    )
    return [PeriodTotal(when, code, currency, total) for when, code, currency, total in rows]


@dataclass(frozen=True)
class StatementLine:
    occurred_at: datetime
    kind: str
    source_id: str
    description: str
    currency: str
    amount: int  # on the account, debit positive


StatementRow = tuple[datetime, str, str, str, str, int]  # a `StatementLine`'s fields, as the database gives them


def ledger_statement_rows(*, account: AccountRef, start: datetime, end: datetime) -> QuerySet[LedgerLeg, StatementRow]:
    """Every leg on `account` from `start` (inclusive) to `end` (exclusive), oldest first, as rows a
    page can count and slice (`Paginator`) or a file can stream from the database in chunks (a CSV
    statement of years of sales never sits in memory); `statement_line` makes each a line."""
    legs = LedgerLeg.objects.filter(
        account__code=account.code,
        account__stripe_account=account.stripe_account,
        occurred_at__gte=start,
        occurred_at__lt=end,
    ).order_by("occurred_at", "id")
    return legs.values_list(
        "occurred_at", "transaction__kind", "transaction__source_id", "transaction__description", "currency", "amount"
    )


def statement_line(row: StatementRow) -> StatementLine:
    return StatementLine(*row)
