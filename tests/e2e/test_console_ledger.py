"""On a phone, an admin reads the ledger's month: a table per currency (USD and JPY sales through the
sandbox), each with its totals and the sentence that they balance; then the previous month, where
nothing moved. The page fits 375 px and passes axe-core; the ledger equals Stripe after."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
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
    before = start - timedelta(days=1)
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

        page.get_by_role("link", name="Previous month").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Ledger: {before:%B %Y}")
        expect(page.get_by_test_id("empty-month")).to_have_text(
            f"Nothing moved in {before:%B %Y}: the ledger has no entry in that month."
        )
        expect(page.get_by_label("Month:", exact=True)).to_have_value(f"{before:%Y-%m}")
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
