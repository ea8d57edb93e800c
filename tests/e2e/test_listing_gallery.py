"""A listing with many images on a phone: each image was drawn the width of the screen, one under the
other, before the title, the price and the button, so a buyer scrolled past eight screen-wide images
(some 2,600 px) to learn what the thing was and what it cost. The first image stays large and the
others are a row of small ones under it: the title and price are on the first screen, every image
still shown. USD and JPY; Chromium at 375 px with axe-core, the live server and the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from catalog.images import MAX_IMAGES_PER_LISTING
from catalog.services import listing_image_add
from marketplace.money import format_money
from tests.catalog.factories import png_upload
from tests.e2e.browser import PHONE, phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_listing_with_many_images_shows_its_title_and_price_on_a_phones_first_screen(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=12_000, title="Lacquered bowl")
    for n in range(MAX_IMAGES_PER_LISTING):
        listing_image_add(
            listing=listing, upload=png_upload(f"bowl-{n}.png", width=60, height=60), alt_text=f"View {n}"
        )

    page = phone_signed_in(browser, axe_js, live_server.url, UserFactory().email)
    try:
        page.goto(f"{live_server.url}/listing/{listing.pk}/")
        images = page.get_by_role("img", name="View")
        expect(images).to_have_count(MAX_IMAGES_PER_LISTING)
        for n in range(MAX_IMAGES_PER_LISTING):
            image = page.get_by_role("img", name=f"View {n}", exact=True)
            image.scroll_into_view_if_needed()
            expect(image).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        for part in (page.get_by_role("heading", name="Lacquered bowl"), page.get_by_test_id("listing-price")):
            box = part.bounding_box()
            assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
        expect(page.get_by_test_id("listing-price")).to_have_text(format_money(12_000, currency))
        first, second = (page.get_by_role("img", name=f"View {n}", exact=True).bounding_box() for n in (0, 1))
        assert first is not None and second is not None and second["width"] < first["width"] / 2  # a small one
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
