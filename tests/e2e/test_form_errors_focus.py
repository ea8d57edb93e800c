"""After a refused form the page comes back with the cursor in the first box to correct, the box marked
invalid and its error read with it: a keyboard or screen-reader user lands where the problem is instead
of at the top of a long page, hunting for which box the message at the top meant. No script: the
`autofocus` attribute of the page as served. Chromium, the live server and the sandbox."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from catalog.models import Category
from payments.models import Dispute
from tests.e2e.browser import Phone, log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller, listing_of
from tests.payments.helpers import process
from tests.payments.test_disputes import disputed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fits_and_passes_axe(phone: Phone) -> None:
    phone.check(status=422)
    assert [str(c) for c in phone.checks if not c.ok] == []


def test_a_refused_pause_reason_comes_back_focused_marked_and_described(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    phone = on_a_phone(page, axe_js, "refused")
    seller = active_seller(sandbox, shop="Kiln & Co")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/sellers/{seller.pk}/")
    page.get_by_label("Reason").fill("   ")  # passes the browser's `required`, not ours
    page.get_by_role("button", name="Pause seller").click()

    box = page.get_by_label("Reason")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description("Give a reason: the seller and other admins will read it.")
    expect(page.get_by_test_id("seller-status")).not_to_have_text("Paused by the platform")
    _fits_and_passes_axe(phone)

    box.fill("Chargebacks under review")
    page.get_by_role("button", name="Pause seller").click()
    unpause = page.get_by_label("Reason for unpausing")
    expect(unpause).to_be_visible()
    expect(unpause).not_to_be_focused()  # a page that refused nothing puts the cursor nowhere
    expect(unpause).not_to_have_attribute("aria-invalid", "true")


def test_a_refused_listing_form_comes_back_with_the_cursor_in_the_first_wrong_box(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    phone = on_a_phone(page, axe_js, "refused")
    seller = active_seller(sandbox, currency="jpy")
    Category.objects.create(name="Prints", slug="prints")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/listings/new/")
    page.get_by_label("Title").fill("Indigo print")
    page.get_by_label("Price").fill("12")  # under Stripe's lowest charge in JPY (the service says so)
    page.get_by_label("Stock").fill("3")
    page.get_by_label("Category").select_option(index=1)
    page.get_by_role("button", name="Save draft").click()

    price = page.get_by_label("Price")
    expect(price).to_be_focused()
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_accessible_description(re.compile("The lowest price Stripe can charge in JPY is ¥50"))
    _fits_and_passes_axe(phone)

    price.fill("1200")
    page.get_by_label("Stock").fill("")
    page.get_by_label("Title").fill("")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_label("Title")).to_be_focused()  # the first of the two, in the form's order
    expect(page.get_by_label("Stock")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Title").fill("Indigo print")
    page.get_by_label("Stock").fill("3")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit “Indigo print”")
    expect(page.get_by_label("Title")).not_to_be_focused()
    page.get_by_label("Stock").fill("-1")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_label("Stock")).to_be_focused()


def test_a_refused_fee_rule_comes_back_with_the_cursor_in_the_first_wrong_box(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None
) -> None:
    phone = on_a_phone(page, axe_js, "refused")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/fees/")
    page.get_by_role("button", name="Save rule").click()
    percentage = page.get_by_label("Percentage")
    expect(percentage).to_be_focused()
    expect(percentage).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Fixed amount per payment")).to_have_attribute("aria-invalid", "true")
    _fits_and_passes_axe(phone)

    percentage.fill("5")
    page.get_by_label("Fixed amount per payment").fill("0.30")
    page.get_by_label("Seller id").fill("999999")
    page.get_by_role("button", name="Save rule").click()
    seller = page.get_by_label("Seller id")
    expect(seller).to_be_focused()
    expect(seller).to_have_accessible_description("No seller with this id.")


def test_a_refused_payout_schedule_or_statement_comes_back_with_the_cursor_in_the_wrong_box(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    """Both forms used to redirect to the money page with the sentence at its top, the cursor nowhere:
    the seller had to find which box of which form it meant."""
    phone = on_a_phone(page, axe_js, "refused")
    seller = active_seller(sandbox, currency="jpy")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/money/")
    page.get_by_label("How often Stripe pays you out").select_option("monthly")
    page.get_by_label("Day of the month (monthly)").fill("")  # the browser lets it through, we do not
    page.get_by_role("button", name="Save schedule").click()

    day = page.get_by_label("Day of the month (monthly)")
    expect(day).to_be_focused()
    expect(day).to_have_attribute("aria-invalid", "true")
    expect(day).to_have_accessible_description("Choose a day of the month between 1 and 31.")
    expect(page.get_by_label("How often Stripe pays you out")).to_have_value("monthly")  # as sent
    _fits_and_passes_axe(phone)

    day.fill("15")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_test_id("schedule")).to_contain_text("15")
    expect(page.get_by_label("Day of the month (monthly)")).not_to_be_focused()

    page.get_by_label("From").fill("2026-02-01")
    page.get_by_label("To (included)").fill("2026-01-01")
    page.get_by_role("button", name="Download CSV").click()
    end = page.get_by_label("To (included)")
    expect(end).to_be_focused()
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(end).to_have_accessible_description("The end date must be on or after the start date.")
    expect(page.get_by_label("From")).to_have_value("2026-02-01")
    _fits_and_passes_axe(phone)


def test_a_shop_name_like_another_shops_comes_back_saying_why(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    """A word mixing lookalike letters of two alphabets, then a name that looks like another shop's
    in another alphabet, then one that looks like another shop's in capitals: each refused with its
    own sentence, read with the box."""
    from sellers.models import Seller
    from tests.catalog.factories import SellerFactory
    from tests.factories import UserFactory

    phone = on_a_phone(page, axe_js, "refused")
    SellerFactory(shop_name="Top")
    log_in(page, live_server.url, UserFactory().email)
    page.goto(f"{live_server.url}/sell/")
    page.get_by_label("Currency for prices and payouts").select_option("usd")
    box = page.get_by_label("Shop name")
    box.fill("B\u03bfok Nook")  # a Greek omicron among Latin letters
    page.get_by_role("button", name=re.compile("Start selling", re.I)).click()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(
        re.compile("This name mixes Latin letters with Greek ones that look the same \\(\u201c\u03bf\u201d\\)")
    )
    _fits_and_passes_axe(phone)

    box.fill("\u03a4\u039f\u03a1")  # TOP in Greek capitals
    page.get_by_role("button", name=re.compile("Start selling", re.I)).click()
    expect(box).to_have_accessible_description(re.compile("This name looks the same as another shop's"))
    _fits_and_passes_axe(phone)

    SellerFactory(shop_name="kit")
    box.fill("\u041a\u0406\u0422")  # KIT in Cyrillic capitals: Latin "KIT" is "kit" to the first key
    with page.expect_navigation() as answer:  # the page that comes back, not the one refusing TOP
        page.get_by_role("button", name=re.compile("Start selling", re.I)).click()
    assert answer.value is not None and answer.value.status == 422
    expect(box).to_have_value("\u041a\u0406\u0422")
    expect(box).to_have_accessible_description(re.compile("This name looks the same as another shop's"))
    _fits_and_passes_axe(phone)
    assert Seller.objects.count() == 2


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_unticked_confirmation_on_a_dispute_comes_back_focused_marked_and_described(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None, currency: str
) -> None:
    """ "Submit evidence to the bank" and "Accept dispute" unticked said so at the top of a long page, the
    cursor nowhere: the box to tick is now focused and says why."""
    _, _, events = disputed_order(sandbox, currency)
    assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    phone = on_a_phone(page, axe_js, "refused")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/disputes/{dispute.pk}/")

    page.get_by_label("Shipping carrier").fill("Yamato")
    page.get_by_role("button", name="Submit evidence to the bank").click()
    box = page.get_by_label(re.compile("^I have checked the evidence"))
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    said = "Saved as a draft, not submitted: tick the confirmation, because evidence can be submitted to the bank"
    said += " only once."
    expect(box).to_have_accessible_description(said)
    expect(page.get_by_label("Shipping carrier")).to_have_value("Yamato")  # the draft
    _fits_and_passes_axe(phone)

    page.get_by_role("button", name="Accept dispute").click()
    box = page.get_by_label("I accept this dispute; this cannot be undone.")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description("Tick the confirmation: accepting a dispute cannot be undone.")
    expect(page.get_by_label(re.compile("^I have checked the evidence"))).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("dispute-status")).to_have_text("Needs response")
    _fits_and_passes_axe(phone)
    dispute.refresh_from_db()
    assert dispute.submitted_at is None and dispute.evidence == {**dispute.evidence, "shipping_carrier": "Yamato"}


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 2_400, "$24.00"), ("jpy", 3_600, "¥3,600")])
def test_a_refused_cart_quantity_comes_back_focused_marked_and_described(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None, currency: str, price: int, shown: str
) -> None:
    """More than the stock typed in the cart said so at the top of the page, the cursor nowhere and the box
    back at the old quantity: the box now keeps what was typed, says why beside it and is focused."""
    mug = listing_of(active_seller(sandbox, currency=currency), price=price, stock=5, title="Speckled mug")
    phone = on_a_phone(page, axe_js, "refused")
    page.goto(f"{live_server.url}/listing/{mug.pk}/")
    page.get_by_role("button", name="Add to cart").click()
    box = page.get_by_label("Quantity of Speckled mug")
    box.fill("50")
    page.get_by_role("button", name="Update").click()

    box = page.get_by_label("Quantity of Speckled mug")
    expect(box).to_be_focused()
    expect(box).to_have_value("50")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description("Only 5 of “Speckled mug” left: choose 5 or fewer.")
    box_id = box.get_attribute("id")
    expect(box).to_have_attribute("aria-describedby", f"{box_id}-error")
    expect(page.get_by_test_id("line-total")).to_have_text(shown)  # nothing changed
    _fits_and_passes_axe(phone)

    box.fill("2")
    page.get_by_role("button", name="Update").click()
    expect(page.locator(".messages")).to_contain_text("Quantity updated.")
    expect(page.get_by_label("Quantity of Speckled mug")).not_to_have_attribute("aria-invalid", "true")


def test_a_refused_sign_in_sign_up_or_password_change_puts_the_cursor_back_in_the_form(
    live_server: Any, page: Page
) -> None:
    """allauth's refused forms came back with the cursor on the page's body: a wrong password put it
    nowhere, a too short new password too. The cursor is now in the form: the first box of a refused
    sign-in (its error is the whole form's), the first wrong box of the others."""
    from tests.factories import UserFactory

    user = UserFactory()
    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password:", exact=True).fill("not-the-password")
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_text("not correct")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_focused()

    page.goto(base + "/accounts/signup/")
    page.get_by_label("Email").fill("someone.new@example.com")
    page.get_by_label("Password:", exact=True).fill("short")
    page.get_by_label("Password (again):").fill("short")
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    expect(page.get_by_text("too short")).to_be_visible()
    expect(page.get_by_label("Password:", exact=True)).to_be_focused()

    log_in(page, base, user.email)
    page.goto(base + "/accounts/password/change/")
    page.get_by_label("Current Password:").fill("not-the-password")
    page.get_by_label("New Password:", exact=True).fill("Another-long-pass-1")
    page.get_by_label("New Password (again):").fill("Another-long-pass-1")
    page.get_by_role("button", name=re.compile("Change Password", re.I)).click()
    expect(page.get_by_text("Please type your current password.")).to_be_visible()
    expect(page.get_by_label("Current Password:")).to_be_focused()
