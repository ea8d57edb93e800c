"""Stripe disabled a shop and its account.updated has not reached us: a buyer on a phone presses Pay in the
cart and reads that the shop can't take orders (it flashed Stripe's sentence for developers about the
destination account's capabilities), and the shop's listing has left the storefront. 375 px, axe-core,
USD and JPY; the sandbox delivers no webhook to this server, so our row stays stale until the refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, cart_with, listing_of
from tests.sellers.conftest import set_requirements

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STRIPE_WORDS = "Your destination account needs"


@pytest.mark.parametrize(("currency", "price"), [("usd", "$25.00"), ("jpy", "¥2,500")])
def test_pay_for_a_shop_stripe_stopped_says_the_shop_cannot_take_orders(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str, price: str
) -> None:
    seller = active_seller(sandbox, currency=currency, shop="Stale Studio")
    listing = listing_of(seller, price=2500, title="Glazed jug")
    buyer = UserFactory()
    cart_with(buyer, (listing, 1))
    due = ["individual.verification.document"]
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=due, past_due=due)

    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    try:
        page.goto(f"{live_server.url}/cart/")
        page.get_by_role("button", name=f"Pay {price} to Stale Studio").click()
        expect(page.get_by_text("Stale Studio can't take orders right now", exact=False).first).to_be_visible()
        expect(page.get_by_text(STRIPE_WORDS)).to_have_count(0)
        fits_a_phone_and_passes_axe(page)
        page.goto(f"{live_server.url}/")
        expect(page.get_by_text("Glazed jug")).to_have_count(0)
    finally:
        page.context.close()
