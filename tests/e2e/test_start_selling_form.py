"""The "Start selling" form on a phone: the currency box follows the country (it offered AUD first to a
US shop) and offers only the currencies the country pays out in (it offered JPY to a British shop,
then refused it), with a script (the box is asked again for the new country) and without one (its
first choice is the country's own currency; another country's currency, from the box shown before,
is refused with the cursor in the box and the country's currencies named).
Chromium at 375 px with axe-core, the live server and the sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from sellers.models import Seller
from tests.e2e.browser import PHONE, log_in, on_a_phone
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CURRENCY = "Currency for prices and payouts"
COUNTRY = "Country where your business is based"


def test_the_currency_follows_the_country_and_a_refusal_lands_on_its_box(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    phone = on_a_phone(page, axe_js, "seller-to-be")
    log_in(page, live_server.url, UserFactory().email)
    page.goto(live_server.url + "/sell/")
    currency = page.get_by_label(CURRENCY)
    expect(currency).to_have_value("")  # the country's own
    expect(currency.locator("option").nth(1)).to_have_text("USD")
    phone.check()

    page.get_by_label(COUNTRY).select_option("JP")
    expect(page.get_by_label(CURRENCY)).to_have_value("jpy")
    page.get_by_label(COUNTRY).focus()
    page.get_by_label(COUNTRY).select_option("GB")
    expect(page.get_by_label(CURRENCY)).to_have_value("gbp")
    expect(page.get_by_label(COUNTRY)).to_be_focused()  # the swap left the cursor where it was
    # Only what a British shop can be paid out in: no JPY to pick and then be refused.
    expect(page.get_by_label(CURRENCY).locator("option")).to_have_text(
        [re.compile("country's own"), "GBP", "EUR", "USD"]
    )
    phone.check()

    page.get_by_label("Shop name").fill("Kiln")
    page.get_by_label(CURRENCY).select_option("")
    page.get_by_role("button", name="Start selling").click()
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()  # Stripe's onboarding
    assert Seller.objects.get().default_currency == "gbp"
    assert [str(c) for c in phone.checks if not c.ok] == []


def test_without_a_script_the_countrys_own_currency_is_taken(
    axe_js: Path, browser: Browser, live_server: Any, sandbox: Any, clean_cache: None
) -> None:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, UserFactory().email)
    page.goto(live_server.url + "/sell/")
    page.get_by_label("Shop name").fill("Kiln")
    page.get_by_label(COUNTRY).select_option("JP")
    expect(page.get_by_label(CURRENCY)).to_have_value("")  # no script: the box stays at "the country's own"
    expect(page.get_by_label(CURRENCY).locator("option:checked")).to_have_text(re.compile("country's own"))

    # The box is still the US one: its USD, picked for a Japanese shop, is refused beside the box.
    page.get_by_label(CURRENCY).select_option("usd")
    page.get_by_role("button", name="Start selling").click()
    box = page.get_by_label(CURRENCY)
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description("For this country, choose one of: JPY.")
    expect(page.get_by_label("Shop name")).to_have_value("Kiln")  # nothing typed is lost
    expect(box.locator("option")).to_have_text([re.compile("country's own"), "JPY"])  # now Japan's box
    box.select_option("")
    page.get_by_role("button", name="Start selling").click()
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    assert Seller.objects.get().default_currency == "jpy"
    context.close()
