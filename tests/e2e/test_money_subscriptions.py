"""The money page's Subscriptions section on a phone: its stacked table of recurring revenue per
currency fits 375 px and passes axe-core, with subscribers in USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.catalog.factories import ListingFactory
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import active_seller
from tests.subscriptions.factories import paid_invoice, subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_money_pages_subscriptions_fit_a_phone(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path
) -> None:
    seller = active_seller(sandbox, shop="Kiln & Co")
    coffee = subscription(UserFactory(), ListingFactory(seller=seller, title="Coffee box", price=2_000))
    tea = subscription(
        UserFactory(), ListingFactory(seller=seller, title="Tea", price=12_000, currency="jpy"), interval="year"
    )
    for sub in (coffee, tea):  # a paid invoice each: a row of "Earnings per subscription payment"
        paid_invoice(sub)
    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    page.goto(live_server.url + "/sell/money/")
    expect(page.get_by_test_id("money-mrr-usd")).to_have_text("$20.00 per month")
    expect(page.get_by_test_id("money-mrr-jpy")).to_have_text("¥1,000 per month")
    expect(page.get_by_test_id("sub-net")).to_have_text(["¥12,000", "$20.00"])
    fits_a_phone_and_passes_axe(page)
    page.context.close()
