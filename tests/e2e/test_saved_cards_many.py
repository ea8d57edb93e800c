"""A buyer whose Customer holds 101 saved PaymentMethods (Stripe saves the card again on every
Checkout): the cards page listed Stripe's first page of 100 only, so the card saved first was
missing. On a 375 px phone with axe-core, the live server and the sandbox: both cards are there,
and the oldest, the default, can be made it again after another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import UserFactory
from tests.orders.test_saved_cards import saved_card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_card_saved_before_100_others_is_listed_and_made_the_default_on_a_phone(
    axe_js: Path, live_server: Any, sandbox: Any, page: Page, clean_cache: None
) -> None:
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_mastercard")
    for _ in range(100):
        saved_card(sandbox, buyer, "pm_card_visa")
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, live_server.url, buyer.email)

    page.goto(live_server.url + "/account/cards/")
    rows = page.get_by_test_id("card-row")
    expect(rows).to_have_count(2)
    # the card saved first is the one made the default (Stripe had none): it is on the page, on top
    expect(rows.first).to_contain_text("Mastercard ending 4444")
    phone.check()
    page.get_by_role("button", name="Make Visa ending 4242 the default").click()
    expect(page.get_by_test_id("card-row").first).to_contain_text("Visa ending 4242")
    expect(page.get_by_test_id("card-row")).to_have_count(2)
    page.get_by_role("button", name="Make Mastercard ending 4444 the default").click()
    expect(page.get_by_test_id("card-row").first).to_contain_text("Mastercard ending 4444")
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
