"""A seller refunds without typing a reason, the box being optional: the buyer read "Refunded by
the shop", words nobody wrote, as why (and, under a refund Stripe refused, "Failed" above "Refunded
by the shop"). No reason typed is none said, on the seller's order page and the buyer's. USD and
JPY, the sandbox over HTTP; each page at 375 px passes axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from marketplace.money import format_money
from payments.models import Refund
from tests.e2e.browser import log_in, on_a_phone, phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.conftest import default_fees  # noqa: F401 - autouse
from tests.orders.test_refunds import _paid_two_lines

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_without_a_reason_says_none_to_the_buyer(
    live_server: Any, page: Page, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    on_a_phone(page, axe_js, "seller")
    log_in(page, live_server.url, order.seller.user.email)
    page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
    form = page.get_by_test_id("seller-refund-form")
    form.get_by_label("Amount").fill("10.00" if currency == "usd" else "1000")
    form.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"{format_money(1_000, currency)} refunded to the buyer.")
    expect(page.get_by_test_id("refund-status")).to_have_text("Refunded")
    expect(page.get_by_test_id("refund-reason")).to_have_count(0)
    expect(page.get_by_text("Refunded by the shop")).to_have_count(0)
    fits_a_phone_and_passes_axe(page)
    assert list(Refund.objects.values_list("amount", "reason")) == [(1_000, "")]

    buyer = phone_signed_in(browser, axe_js, live_server.url, order.buyer.email)
    buyer.goto(f"{live_server.url}/orders/{order.pk}/")
    expect(buyer.get_by_test_id("refund-status")).to_have_text("Refunded")
    expect(buyer.get_by_test_id("refund-reason")).to_have_count(0)
    expect(buyer.get_by_text("Refunded by the shop")).to_have_count(0)
    fits_a_phone_and_passes_axe(buyer)
    buyer.context.close()
