"""The Saved cards page while Stripe, which keeps the cards, cannot be reached: it said "You have no
saved cards." under the error, to a buyer whose cards were all there, and after a failed "Add a
card" it showed the same error twice. Now it says the cards cannot be shown and are not lost, once,
and lists them again as soon as Stripe answers. Chromium at 375 px with axe-core, the live server and
the sandbox (its hosted page saves the card)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import UserFactory
from tests.orders.test_e2e_saved_cards import save_card
from tests.orders.test_stripe_outage import UNREACHABLE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_while_stripe_is_down_the_page_never_says_the_buyer_has_no_cards(
    axe_js: Path, live_server: Any, sandbox_webhooks: Any, page: Page, stripe_down: Any, clean_cache: None
) -> None:
    base = live_server.url
    buyer = UserFactory()
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, base, buyer.email)
    save_card(page, base, "4242424242424242")
    expect(page.get_by_test_id("card-row")).to_have_count(1)

    stripe_down(True)
    page.goto(base + "/account/cards/")
    expect(page.get_by_test_id("cards-unreadable")).to_contain_text("Your saved cards cannot be shown right now")
    expect(page.get_by_test_id("cards-unreadable")).to_contain_text(UNREACHABLE)
    expect(page.get_by_test_id("no-cards")).to_have_count(0)
    phone.check()

    page.get_by_role("button", name="Add a card").click()
    expect(page.locator(".messages")).to_contain_text(UNREACHABLE)
    expect(page.get_by_text(UNREACHABLE)).to_have_count(1)  # said once, not by the message and the page both
    expect(page.get_by_test_id("cards-unreadable")).to_be_visible()
    expect(page.get_by_test_id("no-cards")).to_have_count(0)
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []

    stripe_down(False)
    page.goto(base + "/account/cards/")
    expect(page.get_by_test_id("card-row")).to_contain_text("Visa ending 4242")
    expect(page.get_by_test_id("cards-unreadable")).to_have_count(0)
