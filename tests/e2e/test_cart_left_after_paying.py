"""A cart in two currencies is paid in two payments. Back from paying one, the buyer read "Thank you!
Your payment went through." and nothing of the other currency's items still waiting in the cart (at
375 px the cart's link is behind the menu): they could leave thinking all was paid. The page now says
what the cart still holds, with a link to it. 375 px with axe-core, the live server and the sandbox;
the USD part paid first, then the JPY part, and the other way round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from marketplace.money import format_money
from tests.e2e.browser import log_in, on_a_phone
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of
from tests.orders.test_e2e_checkout import add_to_cart, pay_on_hosted_page
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRICES = {"usd": 3_000, "jpy": 4_200}


@pytest.mark.parametrize("first", ["usd", "jpy"])
def test_back_from_paying_one_currency_the_buyer_is_told_the_cart_still_holds_the_other(
    live_server: Any, page: Page, sandbox: Any, clean_cache: None, axe_js: Path, first: str
) -> None:
    base = live_server.url
    on_a_phone(page, axe_js, "buyer")
    shops = {c: active_seller(sandbox, currency=c, shop=f"Shop in {c.upper()}") for c in PRICES}
    listings = {c: listing_of(shops[c], price=p, stock=5, title=f"Mug in {c.upper()}") for c, p in PRICES.items()}
    second = next(c for c in PRICES if c != first)
    log_in(page, base, UserFactory().email)
    for currency in PRICES:
        add_to_cart(page, base, listings[currency].pk)

    page.goto(base + "/cart/")
    page.get_by_role("button", name=f"Pay {format_money(PRICES[first], first)} to Shop in {first.upper()}").click()
    pay_on_hosted_page(page, "4242424242424242")
    expect(page.get_by_text("Thank you! Your payment went through.")).to_be_visible()
    left = f"Your cart still holds {format_money(PRICES[second], second)} to pay, in a payment of its own."
    expect(page.get_by_test_id("cart-left")).to_contain_text(left)
    fits_a_phone_and_passes_axe(page)
    page.get_by_test_id("cart-left").get_by_role("link", name="Pay it from your cart").click()
    expect(page).to_have_url(base + "/cart/")
    expect(page.get_by_role("link", name=f"Mug in {second.upper()}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Mug in {first.upper()}")).to_have_count(0)

    page.get_by_role("button", name=f"Pay {format_money(PRICES[second], second)} to Shop in {second.upper()}").click()
    pay_on_hosted_page(page, "4242424242424242")
    expect(page.get_by_text("Thank you! Your payment went through.")).to_be_visible()
    expect(page.get_by_test_id("cart-left")).to_have_count(0)  # nothing left: nothing said
    fits_a_phone_and_passes_axe(page)
    assert_ledger_equals_stripe()
