"""Balances at a time, balances of a kind, and the monthly report: sums of legs, by occurred_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.errors import InvalidInput
from marketplace.ledger.chart import PLATFORM_BALANCE, AccountKind, stripe_balance
from marketplace.ledger.selectors import (
    AccountBalance,
    ledger_balance,
    ledger_balances_of_kind,
    ledger_monthly_report,
)
from tests.ledger.helpers import post_together, sale

USD_SELLER, JPY_SELLER = "acct_1Usd", "acct_2Jpy"
OCT_31_LAST_SECOND = datetime(2026, 10, 31, 23, 59, 59, 999_999, tzinfo=UTC)
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def sales() -> None:
    post_together(postings=sale(1, seller=USD_SELLER), occurred_at=OCT_31_LAST_SECOND)  # October's, just
    post_together(postings=sale(2, seller=USD_SELLER), occurred_at=NOV_1)  # November's first instant
    jpy = sale(3, seller=JPY_SELLER, currency="jpy", stripe_fee=360)
    post_together(postings=jpy, occurred_at=NOV_1 + timedelta(days=10))
    post_together(postings=sale(4, seller=USD_SELLER), occurred_at=DEC_1)  # December's


@pytest.mark.django_db
@pytest.mark.usefixtures("sales")
def test_balance_at_a_time_counts_what_occurred_up_to_then() -> None:
    assert ledger_balance(account=PLATFORM_BALANCE, at=OCT_31_LAST_SECOND - timedelta(microseconds=1)) == {}
    assert ledger_balance(account=PLATFORM_BALANCE, at=OCT_31_LAST_SECOND) == {"usd": 680}
    assert ledger_balance(account=PLATFORM_BALANCE, at=DEC_1 - timedelta(microseconds=1)) == {"usd": 1_360, "jpy": 640}
    assert ledger_balance(account=PLATFORM_BALANCE) == {"usd": 2_040, "jpy": 640}
    assert ledger_balance(account=stripe_balance("acct_9NeverSeen")) == {}


@pytest.mark.django_db
@pytest.mark.usefixtures("sales")
def test_balances_of_a_kind_list_each_account_and_currency() -> None:
    assert ledger_balances_of_kind(kind=AccountKind.ASSET, at=NOV_1) == [
        AccountBalance(PLATFORM_BALANCE, "usd", 1_360),
        AccountBalance(stripe_balance(USD_SELLER), "usd", 18_000),
    ]
    revenue = ledger_balances_of_kind(kind=AccountKind.REVENUE)
    assert [(b.account.name, b.currency, b.balance) for b in revenue] == [
        ("Application fees", "jpy", 1_000),
        ("Application fees", "usd", 3_000),
        ("Payments from buyers", "jpy", 10_000),
        ("Payments from buyers", "usd", 30_000),
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("sales")
def test_the_monthly_report_has_the_months_movements_per_currency_by_account() -> None:
    report = ledger_monthly_report(year=2026, month=11)
    assert (report.start, report.end) == (NOV_1, DEC_1)
    assert report.currencies == ["jpy", "usd"]
    usd = [(line.account.name, line.debits, line.credits, line.net) for line in report.lines if line.currency == "usd"]
    assert usd == [
        ("Stripe balance — platform", 11_000, 10_320, 680),
        ("Stripe balance — seller acct_1Usd", 10_000, 1_000, 9_000),
        ("Application fees", 0, 1_000, 1_000),
        ("Payments from buyers", 0, 10_000, 10_000),
        ("Application fees paid — seller acct_1Usd", 1_000, 0, 1_000),
        ("Stripe processing fees", 320, 0, 320),
    ]
    for currency in report.currencies:  # each month balances on its own, in each currency
        lines = [line for line in report.lines if line.currency == currency]
        assert sum(line.debits for line in lines) == sum(line.credits for line in lines)
    december = ledger_monthly_report(year=2026, month=12)
    assert (december.end, december.currencies) == (datetime(2027, 1, 1, tzinfo=UTC), ["usd"])
    assert ledger_monthly_report(year=2026, month=9).lines == []


@pytest.mark.parametrize(("year", "month"), [(2026, 0), (2026, 13), (1999, 12), (9999, 12)])
def test_the_monthly_report_refuses_months_that_do_not_exist(year: int, month: int) -> None:
    with pytest.raises(InvalidInput, match="Pick a month"):
        ledger_monthly_report(year=year, month=month)
