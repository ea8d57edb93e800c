"""On a phone, an admin reads the ledger's month: a table per currency (USD and JPY sales through the
sandbox), each with its totals and the sentence that they balance; the month links go no further than
the months the ledger spans (they once went on, month after empty month, to the year 2000), and the
month before the first, typed in, is refused beside the box with the months there are; the way back
is this month. The page fits 375 px and passes axe-core; the ledger equals Stripe after."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.ledger.test_console_ledger import paid_in_usd_and_jpy
from tests.orders.conftest import default_fees  # noqa: F401 - autouse: the fees the figures assume
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_reads_both_currencies_then_the_month_before(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path
) -> None:
    _, _, month = paid_in_usd_and_jpy(sandbox)
    start = datetime.strptime(month, "%Y-%m")
    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    try:
        page.goto(f"{live_server.url}/console/")
        page.get_by_role("link", name="Ledger", exact=True).click()
        page.get_by_label("Month:", exact=True).fill(month)  # the current month may be another one than Stripe dated
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Ledger: {start:%B %Y}")
        for currency, total in (("usd", "$"), ("jpy", "¥")):
            section = page.locator(f'[data-testid="ledger"][data-currency="{currency}"]')
            expect(section.get_by_role("heading", level=2)).to_have_text(currency.upper())
            expect(section.get_by_test_id("balanced")).to_contain_text(f"debits and credits are both {total}")
            expect(section.get_by_role("row", name="Payments from buyers")).to_contain_text(
                "$100.00" if currency == "usd" else "¥10,000"
            )
            totals = section.get_by_test_id("ledger-total").get_by_role("cell")
            expect(totals.nth(1)).to_have_text(totals.nth(2).inner_text())  # debits == credits
        fits_a_phone_and_passes_axe(page)

        # The ledger spans the sales' month and this one (the sales' month, unless the test ran at a month's end).
        today = timezone.localtime(timezone.now(), timezone.get_default_timezone())
        first, last = sorted([start, datetime(today.year, today.month, 1)])
        nav = page.get_by_test_id("month-nav")
        expect(nav.get_by_role("link", name="Previous month")).to_have_count(1 if start > first else 0)
        expect(nav.get_by_role("link", name="Next month")).to_have_count(1 if start < last else 0)

        before = first - timedelta(days=1)
        page.get_by_label("Month:", exact=True).fill(f"{before:%Y-%m}")
        page.get_by_role("button", name="Show").click()
        box = page.get_by_label("Month:", exact=True)
        span = f"from {first:%B %Y} to {last:%B %Y}" if first < last else f"{first:%B %Y}"
        expect(box).to_have_accessible_description(re.compile(f"Pick (a month )?{span}: the ledger has no entries"))
        expect(box).to_be_focused()
        expect(page.get_by_test_id("ledger")).to_have_count(0)
        expect(page.get_by_role("link", name="Previous month")).to_have_count(0)
        fits_a_phone_and_passes_axe(page)

        page.get_by_role("link", name="Show this month").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Ledger: {today:%B %Y}")
        this_month = datetime(today.year, today.month, 1)
        expect(page.get_by_role("link", name="Next month")).to_have_count(1 if this_month < last else 0)
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
