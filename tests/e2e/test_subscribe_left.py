"""A buyer presses Subscribe, the card is declined on Stripe's page, and they leave it by its Cancel
link: they came back to the listing with not a word, where an order's Checkout says "You left
Stripe's page: nothing was charged." A subscription's now says the same, once (not on the next
visit), with Subscribe there to try again. USD and JPY; Chromium at 375 px with axe-core, the live
server and the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from orders.services import PAYMENT_NOT_COMPLETED
from subscriptions.models import Subscription
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.payments.helpers import stripe_balances
from tests.subscriptions.test_e2e_subscriptions import coffee_box

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 2_999, "$29.99"), ("jpy", 3_333, "¥3,333")])
def test_leaving_stripes_subscription_page_says_nothing_was_charged(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    price: int,
    shown: str,
) -> None:
    seller, listing = coffee_box(sandbox, currency, price, 1_000)
    page = phone_signed_in(browser, axe_js, live_server.url, UserFactory().email)
    try:
        page.goto(f"{live_server.url}/listing/{listing.pk}/")
        expect(page.get_by_text(PAYMENT_NOT_COMPLETED)).to_have_count(0)
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_role("heading", name=f"Pay {shown} per month")).to_be_visible()
        page.get_by_label("Card number").fill("4000000000000002")
        page.get_by_role("button", name="Pay").click()
        expect(page.get_by_text("Your card was declined.")).to_be_visible()
        page.get_by_role("link", name="Cancel").click()

        expect(page.get_by_role("heading", name="Coffee box")).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/listing/{listing.pk}/")
        expect(page.locator(".messages li")).to_have_text([PAYMENT_NOT_COMPLETED])
        expect(page.get_by_role("button", name="Subscribe")).to_be_enabled()
        fits_a_phone_and_passes_axe(page)
        page.reload()
        expect(page.get_by_text(PAYMENT_NOT_COMPLETED)).to_have_count(0)  # said once
    finally:
        page.context.close()
    assert not Subscription.objects.filter(status="active").exists()
    assert stripe_balances(str(seller.stripe_account_id)) == {}  # nothing charged
