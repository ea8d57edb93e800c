"""A buyer on a phone types a shop's name in the search box and finds what the shop sells, each card
naming the shop (why it matched) and linking to it; a paused shop of a like name stays hidden. Before,
the shop's name found nothing. Chromium at 375 px with axe-core and the live server; a USD and a JPY shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.catalog.factories import ListingFactory, SellerFactory, jpy_seller
from tests.e2e.browser import on_a_phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_shops_name_in_the_search_box_finds_its_items(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None, currency: str
) -> None:
    shop = (
        jpy_seller(shop_name="Brooklyn Ceramics") if currency == "jpy" else SellerFactory(shop_name="Brooklyn Ceramics")
    )
    price, shown = (3_600, "¥3,600") if currency == "jpy" else (2_400, "$24.00")
    ListingFactory(seller=shop, title="Speckled stoneware mug", price=price, description="Holds 350 ml.")
    ListingFactory(seller=shop, title="Porcelain tea bowl", price=price, description="Celadon glaze.")
    paused = SellerFactory(shop_name="Brooklyn Leather", paused_at=timezone.now(), status="paused")
    ListingFactory(seller=paused, title="Leather wallet")
    ListingFactory(seller=SellerFactory(shop_name="Hokusai Prints"), title="Woodblock print")

    phone = on_a_phone(page, axe_js, "buyer")
    page.goto(f"{live_server.url}/search/")
    expect(page.get_by_text("Type a word or a shop's name above")).to_be_visible()
    phone.check()

    page.get_by_label("Search listings").fill("brooklyn")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “brooklyn”")
    expect(page.get_by_text("2 listings found.")).to_be_visible()
    cards = page.get_by_test_id("listing-card")
    expect(cards).to_have_count(2)
    for title in ("Speckled stoneware mug", "Porcelain tea bowl"):
        card = cards.filter(has=page.get_by_role("link", name=title))
        expect(card.get_by_role("link", name="Brooklyn Ceramics")).to_be_visible()  # why it matched
        expect(card.get_by_text(shown)).to_be_visible()
    expect(page.get_by_text("Leather wallet")).to_have_count(0)
    phone.check()

    page.get_by_label("Search listings").fill("Brooklyn mug")
    page.get_by_role("button", name="Search").click()
    expect(cards).to_have_count(1)
    expect(cards.get_by_role("link", name="Speckled stoneware mug")).to_be_visible()

    page.get_by_label("Search listings").fill("Brooklyn Leather")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("no-results")).to_have_text("No listing matches every word. Try fewer words.")
    phone.check()

    page.get_by_label("Search listings").fill("Brooklyn")
    page.get_by_role("button", name="Search").click()
    cards.first.get_by_role("link", name="Brooklyn Ceramics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Brooklyn Ceramics")
    expect(page.get_by_test_id("listing-card")).to_have_count(2)
    assert [str(c) for c in phone.checks if not c.ok] == []
