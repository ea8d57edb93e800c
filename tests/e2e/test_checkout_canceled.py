"""On a phone, a buyer goes from the cart to Stripe's hosted Checkout page (the sandbox's) and comes
back by its Cancel link: the order page says once, in the flash, "You left Stripe's page: nothing was
charged." (not again on the next visit), and the cart still holds the items, payable at their total.
Each of our pages fits 375 px and passes axe-core. USD and JPY; nothing moved at Stripe, and the
ledger equals Stripe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import CartItem
from marketplace.money import format_money
from orders.models import Order, OrderStatus
from tests.e2e.browser import log_in, on_a_phone
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of
from tests.orders.test_e2e_checkout import add_to_cart
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.payouts.helpers import advance

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEFT = "You left Stripe's page: nothing was charged."


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_back_from_stripes_page_by_cancel_the_flash_says_so_once_and_the_cart_is_kept(
    live_server: Any, page: Page, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    base = live_server.url
    on_a_phone(page, axe_js, "buyer")
    seller = active_seller(sandbox, currency=currency, shop="Kiln and Co")
    mug = listing_of(seller, price=3_000, stock=5, title="Speckled mug")
    vase = listing_of(seller, price=4_000, stock=5, title="Tall vase")
    buyer = UserFactory()
    total = format_money(10_000, currency)

    log_in(page, base, buyer.email)
    add_to_cart(page, base, mug.pk, quantity=2)
    add_to_cart(page, base, vase.pk)
    page.goto(base + "/cart/")
    fits_a_phone_and_passes_axe(page)
    page.get_by_role("button", name=f"Pay {total} to Kiln and Co").click()
    expect(page.get_by_role("heading", name=re.compile("^Pay "))).to_be_visible()
    assert page.url.startswith(sandbox.url)  # Stripe's page, not ours

    page.get_by_role("link", name="Cancel").click()
    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(f"{base}/orders/{order.pk}/")
    expect(page.locator(".messages li")).to_have_text([LEFT])
    expect(page.get_by_text(LEFT)).to_have_count(1)
    expect(page.get_by_test_id("order-status")).to_have_text("Pending payment")
    fits_a_phone_and_passes_axe(page)

    page.reload()  # a flash: said once
    expect(page.get_by_test_id("order-status")).to_have_text("Pending payment")
    expect(page.get_by_text(LEFT)).to_have_count(0)

    page.get_by_role("link", name="Back to your cart").click()
    expect(page).to_have_url(base + "/cart/")
    expect(page.get_by_role("link", name="Speckled mug")).to_be_visible()
    expect(page.get_by_role("link", name="Tall vase")).to_be_visible()
    expect(page.get_by_test_id(f"total-{currency}")).to_have_text(f"{currency.upper()}: {total}")
    expect(page.get_by_role("button", name=f"Pay {total} to Kiln and Co")).to_be_enabled()
    expect(page.get_by_text(LEFT)).to_have_count(0)
    fits_a_phone_and_passes_axe(page)

    assert sorted(CartItem.objects.filter(cart__user=buyer).values_list("listing_id", "quantity")) == [
        (mug.pk, 2),
        (vase.pk, 1),
    ]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT
    assert stripe_balances() == {} and stripe_balances(str(seller.stripe_account_id)) == {}  # nothing charged
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_back_from_an_expired_stripe_page_the_order_page_leads_to_the_cart_still_holding_the_items(
    live_server: Any, page: Page, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    """Stripe's page of a session that expired links back to the shop (the cancel URL): the order page
    said the items were released, with no way on but "All your orders", though the cart still held them
    and they could be paid at once. It now says what the cart holds, with a link to it."""
    base = live_server.url
    on_a_phone(page, axe_js, "buyer")
    seller = active_seller(sandbox, currency=currency, shop="Kiln and Co")
    mug = listing_of(seller, price=3_000, stock=5, title="Speckled mug")
    buyer = UserFactory()
    total = format_money(6_000, currency)
    log_in(page, base, buyer.email)
    add_to_cart(page, base, mug.pk, quantity=2)
    page.goto(base + "/cart/")
    page.get_by_role("button", name=f"Pay {total} to Kiln and Co").click()
    expect(page.get_by_role("heading", name=re.compile("^Pay "))).to_be_visible()

    advance(sandbox, 2 * 86_400)  # past the session's expiry: Stripe's page now says it expired
    page.reload()
    expect(page.get_by_role("heading", name="This checkout session has expired")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Return to")).click()
    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(f"{base}/orders/{order.pk}/")
    expect(page.get_by_test_id("order-status")).to_have_text("Expired")
    left = page.get_by_test_id("cart-left")
    expect(left).to_have_text(f"Your cart still holds {total} to pay. Pay it from your cart")
    fits_a_phone_and_passes_axe(page)

    page.get_by_test_id("cart-left").get_by_role("link", name="Pay it from your cart").click()
    expect(page).to_have_url(base + "/cart/")
    expect(page.get_by_role("button", name=f"Pay {total} to Kiln and Co")).to_be_enabled()
    fits_a_phone_and_passes_axe(page)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    assert stripe_balances() == {} and stripe_balances(str(seller.stripe_account_id)) == {}  # nothing charged
    assert_ledger_equals_stripe()
