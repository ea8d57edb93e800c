"""A NUL character in a form loses nothing the person typed: the 400 page that refuses it says their
words are still in the form and leads back to it with the browser's Back, which brings the form back
as it was filled in (its link to the storefront alone lost it all). Chromium at 375 px with axe-core,
the live server and the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Category, Listing
from tests.e2e.browser import Phone, log_in, on_a_phone
from tests.orders.conftest import active_seller

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

KEPT = "What you typed is still in the form"
DESCRIPTION = "Hand-printed on cotton paper,\nsigned on the back."


def _new_listing_form(axe_js: Path, live_server: Any, page: Page, sandbox: Any) -> Phone:
    """A seller's new-listing form, open on a phone, with a category to choose."""
    phone = on_a_phone(page, axe_js, "seller")
    seller = active_seller(sandbox)
    Category.objects.create(name="Prints", slug="prints")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/listings/new/")
    return phone


def test_back_to_the_form_brings_back_what_was_typed(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    phone = _new_listing_form(axe_js, live_server, page, sandbox)
    page.get_by_label("Title").fill("Indigo print")
    page.get_by_label("Description", exact=True).fill(DESCRIPTION)
    page.get_by_label("Price").fill("24.50")
    page.get_by_label("Stock").fill("3")
    page.get_by_label("Category").select_option(label="Prints")
    # A NUL no keyboard types, pasted in from elsewhere: put straight into the box's value.
    page.get_by_label("Image description").evaluate("box => { box.value = 'Indigo\\u0000 waves' }")
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Save draft").click()
    assert answer.value is not None and answer.value.status == 400

    expect(page.get_by_role("heading", level=1)).to_have_text("We could not read this request")
    expect(page.get_by_test_id("error-page")).to_contain_text("This form contains a NUL character (%00)")
    expect(page.get_by_test_id("form-kept")).to_contain_text(KEPT)
    back = page.get_by_role("link", name="Back to the form")
    expect(back).to_be_visible()
    phone.check(status=400)

    back.click()
    expect(page).to_have_url(f"{live_server.url}/sell/listings/new/")
    expect(page.get_by_label("Title")).to_have_value("Indigo print")
    expect(page.get_by_label("Description", exact=True)).to_have_value(DESCRIPTION)
    expect(page.get_by_label("Price")).to_have_value("24.50")
    expect(page.get_by_label("Stock")).to_have_value("3")
    expect(page.get_by_label("Category").locator("option:checked")).to_have_text("Prints")
    assert not Listing.objects.exists()

    # Remove the invalid character and send the same form again: it is saved.
    page.get_by_label("Image description").fill("Indigo waves")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Indigo print”")
    listing = Listing.objects.get()
    assert (listing.title, listing.price, listing.stock) == ("Indigo print", 2450, 3)
    assert listing.description.replace("\r\n", "\n") == DESCRIPTION
    assert [str(c) for c in phone.checks if not c.ok] == []


def test_without_a_referer_the_button_still_goes_back_to_the_form(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    """A browser or proxy that sends no Referer leaves no page to link to: the script's button alone."""
    phone = _new_listing_form(axe_js, live_server, page, sandbox)
    # What a browser told to send no Referer does (a referrer policy of "no-referrer").
    page.evaluate("""() => {
        const policy = document.createElement('meta');
        policy.name = 'referrer';
        policy.content = 'no-referrer';
        document.head.append(policy);
    }""")
    page.get_by_label("Title").fill("Indigo print")
    page.get_by_label("Stock").fill("3")
    page.get_by_label("Description", exact=True).evaluate("box => { box.value = 'Indigo\\u0000 waves' }")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_test_id("form-kept")).to_contain_text(KEPT)
    expect(page.get_by_role("link", name="Back to the form")).to_have_count(0)
    phone.check(status=400)
    page.get_by_role("button", name="Back to the form").click()
    expect(page.get_by_label("Title")).to_have_value("Indigo print")
    expect(page.get_by_label("Stock")).to_have_value("3")
    assert not Listing.objects.exists()
    assert [str(c) for c in phone.checks if not c.ok] == []
