"""An admin pauses a shop in the console; a buyer following the shop's old link is told it isn't
open right now, in the site's layout, and finds the way back; the seller reads that the platform
paused the shop, the admin's reason, and how to reach support. Chromium, the live server and the
sandbox (the seller's Express account is real on its side)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import log_in
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller, listing_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_pauses_a_shop_buyer_sees_it_closed_seller_reads_why(
    live_server: Any, page: Page, browser: Browser, sandbox: Any, clean_cache: None
) -> None:
    base = live_server.url
    seller = active_seller(sandbox, shop="Kiln & Co")
    mug = listing_of(seller, price=2500, title="Blue mug")
    admin = make_platform_admin()

    log_in(page, base, admin.email)
    page.goto(f"{base}/console/sellers/{seller.pk}/")
    page.get_by_label("Reason").fill("Chargebacks under review")
    page.get_by_role("button", name="Pause seller").click()
    expect(page.get_by_test_id("seller-status")).to_have_text("Paused by the platform")
    expect(page.get_by_test_id("seller-status-headline")).to_have_text("The marketplace has paused your shop")

    buyer = browser.new_context()
    try:
        tab = buyer.new_page()
        tab.set_default_timeout(10_000)
        response = tab.goto(f"{base}/shop/{seller.pk}/")
        assert response is not None and response.status == 404
        expect(tab.get_by_role("heading", level=1)).to_have_text("Kiln & Co isn't open right now")
        expect(tab.get_by_role("navigation", name="Main")).to_be_visible()  # the site's own layout
        expect(tab.get_by_text("Chargebacks")).to_have_count(0)
        tab.goto(f"{base}/listing/{mug.pk}/")
        expect(tab.get_by_role("heading", level=1)).to_have_text("Blue mug isn't available right now")
        tab.get_by_role("link", name="Back to the storefront").click()
        expect(tab).to_have_url(f"{base}/")
        expect(tab.get_by_text("Blue mug")).to_have_count(0)
    finally:
        buyer.close()

    page.get_by_role("button", name="Log out").click()
    log_in(page, base, seller.user.email)
    page.get_by_role("link", name="Sell", exact=True).click()
    expect(page.get_by_test_id("status-headline")).to_have_text("The marketplace has paused your shop")
    reason = page.get_by_test_id("pause-reason")
    expect(reason).to_have_text("Reason given by the marketplace: Chargebacks under review")
    expect(page.get_by_test_id("listings-visibility")).to_have_text(
        "Your listings are hidden from buyers because the marketplace paused your shop."
    )
    support = page.get_by_role("link", name="Contact support")
    expect(support).to_have_attribute("href", re.compile(r"^mailto:support@marketplace\.example\?subject=Kiln"))
