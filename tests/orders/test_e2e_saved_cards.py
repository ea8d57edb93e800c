"""In Chromium, against the sandbox's hosted pages and its signed webhooks: a buyer saves cards on
Stripe's page, sees them (brand, last four, expiry, default), changes the default, removes one,
and buys in one click with a saved card: paid at once, paid after completing 3-D Secure, and not
paid after failing it (the sentence says why, the cart is untouched). USD and JPY; after each, the
ledger equals the sandbox's balances for the platform and the seller."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from catalog.models import CartItem
from orders.models import Order, OrderStatus
from tests.e2e.browser import log_in, phone_signed_in
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of, wait_until
from tests.orders.test_e2e_checkout import add_to_cart
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def save_card(page: Page, base: str, card: str, *, three_ds: str | None = None) -> None:
    page.goto(base + "/account/cards/")
    page.get_by_role("button", name="Add a card").click()
    expect(page.get_by_role("heading", name="Save a card")).to_be_visible()
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Save card").click()
    if three_ds:
        page.get_by_role("button", name=three_ds).click()
    expect(page.get_by_role("heading", name="Saved cards")).to_be_visible()


def test_saved_cards_page_default_and_remove(
    live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None
) -> None:
    base = live_server.url
    buyer = UserFactory()
    log_in(page, base, buyer.email)
    page.goto(base + "/account/cards/")
    expect(page.get_by_test_id("no-cards")).to_be_visible()
    # What the cards do for subscriptions is said only where there are cards.
    expect(page.get_by_test_id("cards-subscriptions")).to_have_count(0)

    save_card(page, base, "4242424242424242")
    expect(page.get_by_text("Saved: Visa ending 4242 (your default card).")).to_be_visible()
    expect(page.get_by_test_id("cards-subscriptions")).to_be_visible()
    # The card that asks for 3-D Secure when it is saved: the challenge, then back to the list.
    save_card(page, base, "4000002500003155", three_ds="Complete")
    expect(page.get_by_text("Saved: Visa ending 3155.")).to_be_visible()
    # The same card saved again is another PaymentMethod at Stripe, one row here, and the page says so.
    save_card(page, base, "4242424242424242")
    expect(page.get_by_text("Visa ending 4242 was saved already: it is listed once.")).to_be_visible()
    rows = page.get_by_test_id("card-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Visa ending 4242")
    expect(rows.first).to_contain_text("12/2034")
    expect(rows.first).to_contain_text("Default")

    page.get_by_role("button", name="Make Visa ending 3155 the default").click()
    expect(page.get_by_text("Visa ending 3155 is now your default card.")).to_be_visible()
    expect(page.get_by_test_id("card-row").first).to_contain_text("Visa ending 3155")
    page.get_by_role("button", name="Remove Visa ending 3155").click()
    expect(page.get_by_text("Removed Visa ending 3155.")).to_be_visible()
    expect(page.get_by_test_id("card-row")).to_have_count(1)
    expect(page.get_by_test_id("card-row")).to_contain_text("Visa ending 4242")

    # A declined card is not saved, and the page says why.
    page.get_by_role("button", name="Add a card").click()
    page.get_by_label("Card number").fill("4000000000000002")
    page.get_by_role("button", name="Save card").click()
    expect(page.get_by_role("alert")).to_contain_text("declined")


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 4_500, "$45.00"), ("jpy", 4_500, "¥4,500")])
def test_buy_now_with_saved_cards_and_3ds(
    live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None, currency: str, price: int, shown: str
) -> None:
    base = live_server.url
    seller = active_seller(sandbox_webhooks, currency=currency, shop="Kiln and Co")
    mug = listing_of(seller, price=price, stock=5, title="Speckled mug")
    cup = listing_of(seller, price=price, stock=5, title="Tea cup")
    buyer = UserFactory()
    log_in(page, base, buyer.email)
    add_to_cart(page, base, cup.pk)

    # 4242: paid in one click.
    save_card(page, base, "4242424242424242")
    page.goto(f"{base}/listing/{mug.pk}/")
    page.get_by_role("button", name="Buy now with Visa ending 4242").click()
    expect(page.get_by_text("Thank you! Your payment went through.")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("order-total")).to_have_text(shown)
    first = Order.objects.filter(buyer=buyer).latest("pk")
    assert first.status == OrderStatus.PAID and first.payment is not None
    assert first.payment.transfers.get().amount == price
    assert first.payment.application_fees.get().amount == first.application_fee_amount

    # The "always authenticate" card: complete the challenge, back to a paid order.
    save_card(page, base, "4000002760003184", three_ds="Complete")
    page.get_by_role("button", name="Make Visa ending 3184 the default").click()
    page.goto(f"{base}/listing/{mug.pk}/")
    page.get_by_role("button", name="Buy now with Visa ending 3184").click()
    expect(page.get_by_role("heading", name="3D Secure test page")).to_be_visible()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Thank you! Your payment went through.")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")

    # Fail the challenge: the sentence, back on the listing; nothing paid, the unit back in stock.
    page.goto(f"{base}/listing/{mug.pk}/")
    page.get_by_role("button", name="Buy now with Visa ending 3184").click()
    page.get_by_role("button", name="Fail").click()
    expect(page.get_by_text(re.compile("Your bank could not confirm it was you"))).to_be_visible()
    expect(page.get_by_role("heading", name="Speckled mug")).to_be_visible()
    failed = Order.objects.filter(buyer=buyer).latest("pk")
    assert failed.status == OrderStatus.PAYMENT_FAILED and failed.payment is None
    mug.refresh_from_db()
    assert mug.stock == 3  # two sold, the failed one released
    assert CartItem.objects.filter(cart__user=buyer, listing=cup).exists()  # the cart is untouched

    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: Order.objects.filter(buyer=buyer, status=OrderStatus.PAID).count() == 2)
    assert_ledger_equals_stripe()


def test_buy_now_decline_says_why(live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None) -> None:
    base = live_server.url
    seller = active_seller(sandbox_webhooks, shop="Kiln and Co")
    mug = listing_of(seller, price=2_500, stock=3, title="Speckled mug")
    buyer = UserFactory()
    log_in(page, base, buyer.email)
    save_card(page, base, "4000000000000341")  # saves fine; every payment with it is declined
    page.goto(f"{base}/listing/{mug.pk}/")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Buy now with Visa ending 0341").click()
    expect(page.get_by_text("Your card was declined. Nothing was charged.")).to_be_visible()
    expect(page.get_by_role("heading", name="Speckled mug")).to_be_visible()
    expect(page.get_by_text("3 in stock")).to_be_visible()
    # The quantity typed is still in its box, for another card or Add to cart: the refusal lost nothing.
    expect(page.get_by_label("Quantity")).to_have_value("2")
    page.get_by_label("Quantity").fill("4")  # more than the stock: refused with the sentence, 4 kept
    page.get_by_label("Quantity").evaluate("box => box.removeAttribute('max')")  # as a page older than the stock
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("heading", name="Speckled mug")).to_be_visible()
    expect(page.get_by_label("Quantity")).to_have_value("4")
    assert not CartItem.objects.filter(listing=mug).exists()


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 2_800, "$28.00"), ("jpy", 2_800, "¥2,800")])
def test_a_buy_now_left_at_the_bank_check_can_be_finished_from_its_order_page(
    live_server: Any,
    sandbox_webhooks: Any,
    page: Page,
    clean_cache: None,
    axe_js: Any,
    currency: str,
    price: int,
    shown: str,
) -> None:
    """The buyer closed the bank's 3-D Secure page and comes back later: the order's page (on a phone,
    without serious axe-core violations) offers that check again, not only "Cancel this order", and
    finishing it pays the order."""
    from tests.e2e.test_refund_flow import PHONE, fits_a_phone_and_passes_axe

    base = live_server.url
    seller = active_seller(sandbox_webhooks, currency=currency, shop="Kiln and Co")
    mug = listing_of(seller, price=price, stock=2, title="Speckled mug")
    buyer = UserFactory()
    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    log_in(page, base, buyer.email)
    save_card(page, base, "4000002760003184", three_ds="Complete")
    page.goto(f"{base}/listing/{mug.pk}/")
    page.get_by_role("button", name="Buy now with Visa ending 3184").click()
    expect(page.get_by_role("heading", name="3D Secure test page")).to_be_visible()
    order = Order.objects.get(buyer=buyer)

    page.goto(f"{base}/orders/")  # the buyer left the bank's page
    page.get_by_role("link", name=f"Order {order.pk}").click()
    expect(page.get_by_test_id("buy-now-pending")).to_be_visible()
    fits_a_phone_and_passes_axe(page)
    page.get_by_role("button", name="Continue to your bank's check").click()
    expect(page.get_by_role("heading", name="3D Secure test page")).to_be_visible()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_text("Thank you! Your payment went through.")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("order-total")).to_have_text(shown)
    fits_a_phone_and_passes_axe(page)
    mug.refresh_from_db()
    assert mug.stock == 1
    assert sandbox_webhooks.wait_for_webhooks(10)
    paid = Order.objects.get(pk=order.pk)
    assert paid.status == OrderStatus.PAID and paid.payment is not None
    assert paid.payment.transfers.get().amount == price
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 1_500, "$30.00"), ("jpy", 1_500, "¥3,000")])
def test_buy_now_buys_the_quantity_typed_in_the_box(
    live_server: Any,
    sandbox_webhooks: Any,
    page: Page,
    clean_cache: None,
    axe_js: Any,
    currency: str,
    price: int,
    shown: str,
) -> None:
    """On a phone (axe-core clean): the buyer types 2 in the listing's quantity box and presses Buy
    now; 2 are bought and paid (the box belonged to Add to cart only, and Buy now paid for one)."""
    from tests.e2e.test_refund_flow import PHONE, fits_a_phone_and_passes_axe

    base = live_server.url
    seller = active_seller(sandbox_webhooks, currency=currency, shop="Kiln and Co")
    mug = listing_of(seller, price=price, stock=5, title="Speckled mug")
    buyer = UserFactory()
    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    log_in(page, base, buyer.email)
    save_card(page, base, "4242424242424242")
    page.goto(f"{base}/listing/{mug.pk}/")
    expect(page.get_by_role("button", name="Buy now with Visa ending 4242")).to_have_accessible_description(
        re.compile("^The quantity above at .* each, paid at once with your saved card")
    )
    fits_a_phone_and_passes_axe(page)
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Buy now with Visa ending 4242").click()
    expect(page.get_by_text("Thank you! Your payment went through.")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("order-total")).to_have_text(shown)
    fits_a_phone_and_passes_axe(page)
    order = Order.objects.get(buyer=buyer)
    assert [(line.quantity, line.unit_amount) for line in order.lines.all()] == [(2, price)]
    mug.refresh_from_db()
    assert mug.stock == 3
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: Order.objects.get(pk=order.pk).payment is not None)
    assert Order.objects.get(pk=order.pk).payment.transfers.get().amount == 2 * price  # type: ignore[union-attr]
    assert_ledger_equals_stripe()


def test_remove_and_make_default_from_a_stale_tab_land_on_the_cards_page_with_a_sentence(
    live_server: Any, sandbox: Any, browser: Browser, clean_cache: None, axe_js: Path
) -> None:
    """The cards page open in three tabs on a phone: a card removed in the first, then Remove and Make
    default pressed for it in the others (a double click on Remove sends the second post the same
    way, once the first removed the card). The buyer used to get the site's 404 page; now they are
    back on their cards page with the sentence, the other cards as they were (375 px, axe)."""
    from orders.services import saved_cards
    from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
    from tests.orders.test_saved_cards import saved_card

    base = live_server.url
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    saved_card(sandbox, buyer, "pm_card_mastercard")
    saved_card(sandbox, buyer, "pm_card_createDispute")  # Visa ending 0259
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    first = phone_signed_in(browser, axe_js, base, buyer.email)
    stale = {
        "Remove Mastercard ending 4444": first.context.new_page(),
        "Make Mastercard ending 4444 the default": first.context.new_page(),
    }
    for tab in (first, *stale.values()):
        tab.goto(base + "/account/cards/")
        expect(tab.get_by_test_id("card-row")).to_have_count(3)

    first.get_by_role("button", name="Remove Mastercard ending 4444").click()
    expect(first.get_by_text("Removed Mastercard ending 4444.")).to_be_visible()
    for button, tab in stale.items():
        tab.get_by_role("button", name=button).click()
        expect(tab.get_by_role("heading", name="Saved cards")).to_be_visible()
        expect(tab.get_by_role("status")).to_have_text("That card is no longer saved on your account.")
        rows = tab.get_by_test_id("card-row")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Visa ending 4242")
        expect(rows.first).to_contain_text("Default")
        expect(rows.nth(1)).to_contain_text("Visa ending 0259")
        fits_a_phone_and_passes_axe(tab)
    first.context.close()
    assert [c.label for c in saved_cards.saved_cards_for(user=buyer)] == ["Visa ending 4242", "Visa ending 0259"]
