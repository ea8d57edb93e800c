"""A seller chooses an image for a new listing, gets the price wrong, puts it right and saves: the
listing had no image. A refused form saves nothing and no browser sends a chosen file twice; the page
came back with the Image box empty and not a word about it. Now the box says to choose the file
again, by name, and the listing saved after that has its image. USD and JPY; Chromium at 375 px with
axe-core, the live server and the sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Category, Listing
from tests.catalog.factories import png_bytes
from tests.e2e.browser import log_in, on_a_phone
from tests.orders.conftest import active_seller

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("currency", "wrong", "price", "minor"), [("usd", "12.505", "12.50", 1250), ("jpy", "1,200.5", "1,200", 1200)]
)
def test_an_image_chosen_before_a_refused_price_is_asked_for_again_and_then_kept(
    axe_js: Path,
    live_server: Any,
    page: Page,
    sandbox: Any,
    clean_cache: None,
    tmp_path: Path,
    currency: str,
    wrong: str,
    price: str,
    minor: int,
) -> None:
    photo = tmp_path / "kiln-photo.png"
    photo.write_bytes(png_bytes(width=40, height=30))
    phone = on_a_phone(page, axe_js, "seller")
    seller = active_seller(sandbox, currency=currency)
    Category.objects.create(name="Kitchen", slug="kitchen")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/listings/new/")
    page.get_by_label("Title").fill("Lacquered bowl")
    page.get_by_label("Price").fill(wrong)
    page.get_by_label("Stock").fill("3")
    page.get_by_label("Category").select_option(label="Kitchen")
    page.get_by_label("Image", exact=True).set_input_files(photo)
    page.get_by_label("Image description").fill("A red bowl")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_label("Price")).to_be_focused()  # the first box to put right, as before
    image = page.get_by_label("Image", exact=True)
    expect(image).to_have_attribute("aria-invalid", "true")
    expect(image).to_have_accessible_description(
        re.compile(r"Choose your image \(“kiln-photo\.png”\) again: it was not saved, as the form was refused\.")
    )
    expect(page.get_by_label("Image description")).to_have_value("A red bowl")
    phone.check(status=422)
    assert not Listing.objects.exists()

    page.get_by_label("Price").fill(price)
    image.set_input_files(photo)
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Lacquered bowl”")
    expect(page.get_by_role("img", name="A red bowl")).to_be_visible()
    phone.check()
    listing = Listing.objects.get()
    assert (listing.price, listing.currency, listing.images.count()) == (minor, currency, 1)
    assert [str(c) for c in phone.checks if not c.ok] == []
