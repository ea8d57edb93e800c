"""The issue's flow in Chromium: a buyer asks for a partial refund of one line of a paid order, the
seller approves it from the Sell area's refund requests, and the buyer's order page says "Refunded";
the sandbox's balances of the platform and the seller move to the cent (the worked example: a
3000 refund of a 10000 sale with a 1000 fee leaves the platform 380 and the seller 6300), and the
emails of each step are sent. The live server, the sandbox over HTTP, Debian's Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from fees.services import fee_rule_set
from orders import services
from orders.models import OrderStatus
from tests.e2e.browser import log_in
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}


def fits_a_phone_and_passes_axe(page: Page) -> None:
    """The page as it is now (its forms and tables filled): no wider than 375 px, no critical or
    serious axe-core violation (axe-core is in every page: an init script, which the site's
    Content-Security-Policy lets run)."""
    violations = page.evaluate(
        "async () => (await axe.run({resultTypes: ['violations']})).violations.map(v => [v.id, v.impact])"
    )
    assert [v for v in violations if v[1] in ("critical", "serious")] == [], page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_buyer_asks_for_one_line_back_seller_approves_buyer_sees_refunded(
    live_server: Any, page: Page, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path
) -> None:
    base = live_server.url
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox, shop="Kiln & Co")
    account = str(seller.stripe_account_id)
    mug = listing_of(seller, price=3_000, stock=5, title="Blue mug")
    vase = listing_of(seller, price=4_000, stock=5, title="Tall vase")
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (mug, 2), (vase, 1)), seller_id=seller.pk, currency="usd", **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    order = services.order_sync_from_stripe(order=order)
    assert order.status == OrderStatus.PAID
    assert stripe_balances() == {"usd": 680} and stripe_balances(account) == {"usd": 9_000}
    mail.outbox.clear()

    page.set_default_timeout(20_000)
    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    log_in(page, base, buyer.email)
    page.goto(f"{base}/orders/{order.pk}/")
    fits_a_phone_and_passes_axe(page)  # the request form
    form = page.get_by_test_id("refund-request-form")
    form.get_by_label("Reason").select_option(label="Arrived damaged")
    form.get_by_label(re.compile("What happened")).fill("One mug arrived cracked")
    form.get_by_label("Some items:").check()
    form.get_by_label(re.compile("^Blue mug")).fill("1")
    form.get_by_role("button", name="Ask for a refund").click()
    expect(page.get_by_text("Your refund request is with the seller.")).to_be_visible()
    expect(page.get_by_test_id("refund-request-status")).to_have_text("Waiting for the seller")
    assert wait_until(lambda: any(m.to == [seller.user.email] for m in mail.outbox), timeout=20)

    seller_side = browser.new_context(viewport=PHONE)
    seller_side.add_init_script(path=axe_js)
    try:
        tab = seller_side.new_page()
        tab.set_default_timeout(20_000)
        log_in(tab, base, seller.user.email)
        nav = tab.get_by_test_id("nav-refund-requests")
        expect(nav).to_contain_text("1")
        tab.locator(".menu > summary").click()  # at 375 px the navigation is behind the menu button
        nav.click()
        request = tab.get_by_test_id("seller-refund-request")
        expect(request).to_contain_text("One mug arrived cracked")
        fits_a_phone_and_passes_axe(tab)  # the approve and decline forms
        expect(request).to_contain_text("Blue mug")
        request.get_by_label("Put the units back on stock").check()
        request.get_by_role("button", name="Approve and refund").click()
        expect(tab.get_by_text("Approved: $30.00 refunded to the buyer.")).to_be_visible()
        expect(tab.get_by_test_id("refund-request-status")).to_have_text("Approved")
    finally:
        seller_side.close()

    page.reload()
    expect(page.get_by_test_id("refund-status")).to_have_text("Refunded")
    expect(page.get_by_test_id("order-partially-refunded")).to_be_visible()
    expect(page.get_by_test_id("order-refunded")).to_have_text("$30.00")
    fits_a_phone_and_passes_axe(page)  # the refunds and the answered request

    # The money, to the cent: the seller gives back 3000 less the fee's 300; the platform keeps 380.
    assert stripe_balances() == {"usd": 380} and stripe_balances(account) == {"usd": 6_300}
    assert_ledger_equals_stripe()
    mug.refresh_from_db()
    assert mug.stock == 4, "the cracked mug's unit is back on stock"
    assert wait_until(lambda: len([m for m in mail.outbox if m.to == [buyer.email]]) >= 3, timeout=20)
    to_buyer = [m.subject for m in mail.outbox if m.to == [buyer.email]]
    assert any("approved" in s for s in to_buyer) and any("Refund of $30.00" in s for s in to_buyer)
    assert any("Refund request for order" in m.subject for m in mail.outbox if m.to == [seller.user.email])


@pytest.mark.parametrize(("currency", "price"), [("usd", 3_000), ("jpy", 3_000)])
def test_the_refund_request_form_of_an_item_with_a_long_unbroken_title_fits_a_phone(
    live_server: Any, page: Page, sandbox: Any, clean_cache: None, axe_js: Path, currency: str, price: int
) -> None:
    """A title of one long word (140 characters, as a listing allows) widened the order page to
    1700 px at 375: the form's fieldset took the width of its widest label (a fieldset's minimum
    is its content's), so the buyer had to scroll sideways to ask for a refund."""
    seller = active_seller(sandbox, currency=currency, shop="Kiln & Co")
    long_title = "Handwoven" + "X" * 126 + "Towel"
    towel = listing_of(seller, price=price, stock=5, title=long_title)
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (towel, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    assert services.order_sync_from_stripe(order=order).status == OrderStatus.PAID

    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    log_in(page, live_server.url, buyer.email)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_test_id("refund-request-form")).to_be_visible()
    fits_a_phone_and_passes_axe(page)
