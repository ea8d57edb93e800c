"""A photo larger than the site reads at all (`REQUEST_BODY_MAX_BYTES`, 10 MB) is refused before any
of it is read, on a page that says so and leads back to the form with what was typed in it; a smaller
photo then saves the listing. Chromium at 375 px with axe-core, the live server and the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Listing
from tests.catalog.factories import png_bytes
from tests.e2e.test_nul_in_a_form import _new_listing_form

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HUGE = b"\x89PNG" + b"\0" * (10 * 1024 * 1024)


def test_a_huge_photo_is_refused_unread_and_the_form_comes_back(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    phone = _new_listing_form(axe_js, live_server, page, sandbox)
    page.get_by_label("Title").fill("Indigo print")
    page.get_by_label("Price").fill("24.50")
    page.get_by_label("Stock").fill("3")
    page.get_by_label("Category").select_option(label="Prints")
    page.get_by_label("Image", exact=True).set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": HUGE}
    )
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Save draft").click()
    assert answer.value is not None and answer.value.status == 413

    expect(page.get_by_test_id("error-page")).to_contain_text("larger than the 10 MB this site accepts")
    expect(page.get_by_test_id("form-kept")).to_contain_text("choose a smaller file")
    back = page.get_by_role("link", name="Back to the form")
    expect(back).to_be_visible()
    phone.check(status=413)
    assert not Listing.objects.exists()

    back.click()
    expect(page).to_have_url(f"{live_server.url}/sell/listings/new/")
    expect(page.get_by_label("Title")).to_have_value("Indigo print")
    page.get_by_label("Image", exact=True).set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": png_bytes(40, 30)}
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Indigo print”")
    listing = Listing.objects.get()
    assert listing.images.count() == 1
    assert [str(c) for c in phone.checks if not c.ok] == []
