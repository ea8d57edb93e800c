"""On a phone (375 px, axe-core), the saved cards page of a buyer who subscribed twice with one card
and saved another on the page: the card Checkout saved twice is one row naming both subscriptions;
the default's "Pay my subscriptions with ..." moves them to it; removing that card moves them back
to the card left, now the default; removing the last card that pays them is refused with the reason;
one page's forms used again after Back (Mastercard, Visa, Mastercard) end on Mastercard.
Stripe charges the card the page says. Chromium, the live server, the sandbox over HTTP and its
signed webhooks; USD and JPY, the ledger equal to Stripe at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import UserFactory
from tests.orders.test_e2e_saved_cards import save_card
from tests.orders.test_saved_cards_and_subscriptions import MASTERCARD, card_of, plans, renew, subscribe
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_800), ("jpy", 1_800)])
def test_one_row_per_card_and_the_subscriptions_follow_the_cards(
    axe_js: Path, live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None, currency: str, price: int
) -> None:
    base = live_server.url
    box, beans = plans(sandbox_webhooks, currency, price, "Coffee box", "Beans")
    buyer = UserFactory()
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, base, buyer.email)
    save_card(page, base, "4242424242424242")
    subs = [subscribe(sandbox_webhooks, buyer, listing, MASTERCARD) for listing in (box, beans)]

    page.goto(base + "/account/cards/")
    rows = page.get_by_test_id("card-row")
    expect(rows).to_have_count(2)
    visa, mastercard = rows.filter(has_text="Visa ending 4242"), rows.filter(has_text="Mastercard ending 4444")
    expect(visa).to_contain_text("Default")
    expect(mastercard.get_by_test_id("card-pays-for")).to_have_text("Beans, Coffee box")
    phone.check()

    page.get_by_role("button", name="Pay my subscriptions with Visa ending 4242").click()
    expect(page.locator(".messages")).to_contain_text("Visa ending 4242 now pays for Beans and Coffee box too.")
    expect(visa.get_by_test_id("card-pays-for")).to_have_text("Beans, Coffee box")
    expect(mastercard.get_by_test_id("card-pays-for")).to_have_text("—")
    expect(page.get_by_role("button", name="Pay my subscriptions with Visa ending 4242")).to_have_count(0)
    assert [card_of(sandbox_webhooks, sub) for sub in subs] == ["4242", "4242"]
    phone.check()

    page.get_by_role("button", name="Remove Visa ending 4242").click()
    expect(page.locator(".messages")).to_contain_text(
        "Removed Visa ending 4242. Beans and Coffee box are now paid with Mastercard ending 4444, "
        "now your default card."
    )
    expect(rows).to_have_count(1)
    expect(mastercard).to_contain_text("Default")
    expect(mastercard.get_by_test_id("card-pays-for")).to_have_text("Beans, Coffee box")
    assert [card_of(sandbox_webhooks, sub) for sub in subs] == ["4444", "4444"]
    phone.check()

    page.get_by_role("button", name="Remove Mastercard ending 4444").click()
    expect(page.locator(".messages")).to_contain_text(
        "Mastercard ending 4444 pays for your subscriptions to Beans and Coffee box, and you have no other card "
        "to pay them with: add another card first, or cancel them under Your subscriptions. Nothing was removed."
    )
    expect(rows).to_have_count(1)
    expect(mastercard).to_contain_text("Default")
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_200), ("jpy", 1_200)])
def test_the_card_a_first_subscription_saved_is_shown_as_the_default(
    axe_js: Path, live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None, currency: str, price: int
) -> None:
    """A buyer whose only card came from subscribing (Checkout sets the subscription's card, not the
    customer's default) sees it as their default card, as one saved on the cards page would be."""
    base = live_server.url
    [box] = plans(sandbox_webhooks, currency, price, "Coffee box")
    buyer = UserFactory()
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, base, buyer.email)
    sub = subscribe(sandbox_webhooks, buyer, box, MASTERCARD)

    page.goto(base + "/account/cards/")
    row = page.get_by_test_id("card-row")
    expect(row).to_have_count(1)
    expect(row.locator('[data-label="Default"]')).to_have_text("Default")
    expect(row.get_by_test_id("card-pays-for")).to_have_text("Coffee box")
    expect(page.get_by_role("button", name="Make Mastercard ending 4444 the default")).to_have_count(0)
    phone.check()
    assert card_of(sandbox_webhooks, sub) == "4444"
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_600), ("jpy", 1_600)])
def test_mastercard_visa_mastercard_from_one_page_and_back_to_it_ends_on_mastercard(
    axe_js: Path, live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None, currency: str, price: int
) -> None:
    """One cards page, whose forms share one visit token, and Back to it after each change (the page
    as first drawn): Mastercard the default, then Visa (its "Pay my subscriptions with ..."), then
    Mastercard again. The third
    change had the first's Stripe key (customer, card, card replaced, visit): Stripe replayed the first
    answer, Visa stayed the default and the page said Mastercard was. The renewal charges Mastercard."""
    base = live_server.url
    [box] = plans(sandbox_webhooks, currency, price, "Coffee box")
    buyer = UserFactory()
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, base, buyer.email)
    save_card(page, base, "4242424242424242")  # the first card: the default
    sub = subscribe(sandbox_webhooks, buyer, box, MASTERCARD)

    cards = base + "/account/cards/"
    drawn = page.goto(cards)
    assert drawn is not None
    first_page = drawn.text()
    token = page.locator('input[name="attempt"]').first.input_value()
    rows = page.get_by_test_id("card-row")
    visa, mastercard = rows.filter(has_text="Visa ending 4242"), rows.filter(has_text="Mastercard ending 4444")
    phone.check()
    steps = [
        ("Make Mastercard ending 4444 the default", "Mastercard ending 4444 is now your default card.", "4444"),
        (
            "Pay my subscriptions with Visa ending 4242",
            "Visa ending 4242 is now your default card. It now pays for Coffee box too.",
            "4242",
        ),
        (
            "Make Mastercard ending 4444 the default",
            "Mastercard ending 4444 is now your default card. It now pays for Coffee box too.",
            "4444",
        ),
    ]
    for n, (button, said, last4) in enumerate(steps):
        if n:  # Back to the first page, as it was drawn (a browser's back-forward cache: Playwright turns it off)
            page.route(cards, lambda route: route.fulfill(status=200, content_type="text/html", body=first_page))
            page.go_back()
            page.unroute(cards)
            expect(page.locator('input[name="attempt"]').first).to_have_value(token)
        page.get_by_role("button", name=button).click()
        expect(page.locator(".messages")).to_have_text(said)
        assert card_of(sandbox_webhooks, sub) == last4

    expect(mastercard).to_contain_text("Default")
    expect(mastercard.get_by_test_id("card-pays-for")).to_have_text("Coffee box")
    expect(visa.get_by_test_id("card-pays-for")).to_have_text("—")
    phone.check()
    charge = renew(sandbox_webhooks, sub, paid=2)
    assert (charge.amount, charge.currency, charge.payment_method_details.card.last4) == (price, currency, "4444")
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert_ledger_equals_stripe()
