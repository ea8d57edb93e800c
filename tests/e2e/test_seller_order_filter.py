"""The seller finds what to ship: on its orders received it picks "To ship" and sees only the paid
orders not yet shipped, with the filter's count; a filter with nothing says so. Chromium at 375 px with
axe-core and the live server, a USD and a JPY shop."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from orders.models import OrderStatus
from tests.catalog.factories import SellerFactory, jpy_seller
from tests.e2e.browser import log_in, on_a_phone
from tests.orders.test_seller_order_list import _order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_to_ship_shows_only_the_orders_not_yet_shipped(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None, currency: str
) -> None:
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    waiting = [_order(seller, currency, OrderStatus.PAID) for _ in range(2)]
    _order(seller, currency, OrderStatus.FULFILLED)
    _order(seller, currency, OrderStatus.COMPLETED)
    phone = on_a_phone(page, axe_js, "seller")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/orders/")
    expect(page.get_by_test_id("seller-order-row")).to_have_count(4)

    page.get_by_label("Show").select_option(label="To ship (2)")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/sell/orders/\?status=to_ship$"))
    rows = page.get_by_test_id("seller-order-row")
    expect(rows).to_have_count(2)
    for order in waiting:
        expect(rows.get_by_role("link", name=f"Order {order.pk}", exact=True)).to_be_visible()
    expect(rows.get_by_test_id("order-status")).to_have_text(["Paid", "Paid"])
    expect(page.get_by_label("Show")).to_have_value("to_ship")
    phone.check()

    page.get_by_label("Show").select_option("disputed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No disputed orders.")).to_be_visible()
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
