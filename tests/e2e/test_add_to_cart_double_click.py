"""A double click on Add to cart adds one unit (it added two: both posts reached the server and each
added its quantity); a new visit of the listing's page adds the next one. Playwright's dblclick() sends
the form once (Chromium drops the first submission when the second comes in the same moment), so the
test clicks twice, the second while the first's answer is still on its way, as a person's does. Chromium at 375 px with
axe-core, the live server, USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Route, expect

from catalog.models import CartItem
from tests.catalog.factories import ListingFactory, SellerFactory, jpy_seller
from tests.e2e.browser import log_in, on_a_phone
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRICE = {"usd": ("$12.50", "$25.00"), "jpy": ("¥1,250", "¥2,500")}


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_double_click_on_add_to_cart_adds_one_unit(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None, currency: str
) -> None:
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    listing = ListingFactory(seller=seller, title="Blue mug", price=1250, stock=5)
    buyer = UserFactory()
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/cart/add/") else None)
    answered: list[int] = []

    def lose_the_first_answer(route: Route) -> None:
        """The first post reaches the server and is answered, but the browser never shows that answer
        (204: it stays on the listing's page), as when a second click comes before it: the second
        click sends the same form again and its answer is the page the buyer sees."""
        if answered:
            route.continue_()
            return
        answered.append(route.fetch(max_redirects=0).status)
        route.fulfill(status=204)

    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, live_server.url, buyer.email)
    page.goto(f"{live_server.url}/listing/{listing.pk}/")
    page.route(f"{live_server.url}/cart/add/", lose_the_first_answer)
    add = page.get_by_role("button", name="Add to cart")
    with page.expect_response(f"{live_server.url}/cart/add/"):
        add.click()
    assert answered == [302] and page.url.endswith(f"/listing/{listing.pk}/")
    add.click()

    expect(page).to_have_url(f"{live_server.url}/cart/")
    said = page.locator(".messages")
    expect(said).to_have_text("Added to your cart: Blue mug (now 1).")  # said once: the first's words
    expect(page.get_by_label("Quantity of Blue mug")).to_have_value("1")
    expect(page.get_by_test_id("line-total")).to_have_text(PRICE[currency][0])
    assert len(posts) == 2, "the browser sent the form twice"
    assert CartItem.objects.get(cart__user=buyer).quantity == 1
    phone.check()

    # Back to the listing on purpose (a new visit): one more.
    page.goto(f"{live_server.url}/listing/{listing.pk}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(said).to_have_text("Added to your cart: Blue mug (now 2).")
    expect(page.get_by_test_id("line-total")).to_have_text(PRICE[currency][1])
    assert [str(c) for c in phone.checks if not c.ok] == []
