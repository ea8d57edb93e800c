"""In Chromium: a seller lists a mug with a photo and publishes it; a buyer finds it by search, puts 2 in the
cart next to 2 tea bowls from a Japanese shop, and sees one total in USD and one in JPY."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Listing
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, jpy_seller, png_bytes
from tests.e2e.browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_seller_lists_buyer_finds_and_fills_a_two_currency_cart(  # type: ignore[no-untyped-def]
    live_server, page: Page, clean_cache: None, tmp_path
) -> None:
    base = live_server.url
    page.set_default_timeout(10_000)
    seller = SellerFactory(shop_name="Kiln & Co", user__email="kiln@example.com")
    CategoryFactory(name="Kitchen", slug="kitchen")
    ListingFactory(seller=jpy_seller(shop_name="Tokyo Tea"), title="Tea bowl", price=3000, stock=5)

    # The seller creates the listing with a photo, then publishes it.
    log_in(page, base, "kiln@example.com")
    page.get_by_role("link", name="Your listings").click()
    page.get_by_role("link", name="New listing").click()
    page.get_by_role("textbox", name="Title", exact=True).fill("Speckled blue mug")
    page.get_by_role("textbox", name="Description", exact=True).fill("Stoneware, glazed by hand.")
    page.get_by_role("textbox", name="Price (USD)", exact=True).fill("12.50")
    page.get_by_role("spinbutton", name="Stock", exact=True).fill("5")
    page.get_by_role("combobox", name="Category", exact=True).select_option(label="Kitchen")
    page.locator("#id_image").set_input_files({"name": "mug.png", "mimeType": "image/png", "buffer": png_bytes(8, 8)})
    page.get_by_role("textbox", name="Image description").fill("A speckled blue mug")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("is saved as a draft")).to_be_visible()
    expect(page.get_by_role("img", name="A speckled blue mug")).to_be_attached()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("“Speckled blue mug” is published.")).to_be_visible()
    listing = Listing.objects.get(title="Speckled blue mug")
    assert (listing.price, listing.currency, listing.seller_id) == (1250, "usd", seller.pk)
    assert listing.images.count() == 1
    page.get_by_role("button", name="Log out").click()

    # A buyer (not signed in) searches, opens the mug and adds 2.
    page.goto(base + "/")
    page.get_by_label("Search listings").fill("speckled mug")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 listing found.")).to_be_visible()
    page.get_by_role("link", name="Speckled blue mug").click()
    expect(page.get_by_test_id("listing-price")).to_have_text("$12.50")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added to your cart: Speckled blue mug (now 2).")).to_be_visible()

    # And 2 tea bowls from the Japanese shop.
    page.get_by_role("link", name="Shop", exact=True).click()
    page.get_by_role("link", name="Tea bowl").click()
    expect(page.get_by_test_id("listing-price")).to_have_text("¥3,000")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()

    # Two shops in two currencies: two payments, one total per currency with the right decimals.
    expect(page.get_by_test_id("cart-group")).to_have_count(2)
    expect(page.get_by_test_id("per-seller-note")).to_contain_text("you pay 2 times: once per currency")
    expect(page.get_by_test_id("total-usd")).to_have_text("USD: $25.00")
    expect(page.get_by_test_id("total-jpy")).to_have_text("JPY: ¥6,000")
    pay = page.get_by_role("button", name="Pay $25.00 to Kiln & Co")
    expect(pay).to_be_enabled()
    page.screenshot(path=str(tmp_path / "cart.png"), full_page=True)
