"""On a 375 px phone the cart's "Pay … to 2 shops at once" button had its note ("One payment on Stripe's
secure page; …") squeezed beside it, a narrow column of words running down next to the button. The note
now sits under the button, as wide as the form. Chromium, the live server and the sandbox, USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, cart_with, listing_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The button's box and the note's, and the form's width.
BOXES = """(form) => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, width: r.width};
  };
  return {form: box(form), button: box(form.querySelector('button')), note: box(form.querySelector('.muted'))};
}"""


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$45.00"), ("jpy", "¥4,500")])
def test_the_pay_all_note_sits_under_its_button_on_a_phone(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None, currency: str, shown: str
) -> None:
    kiln = active_seller(sandbox, currency=currency)
    paper = active_seller(sandbox, currency=currency, shop="Kyoto Paper")
    buyer = UserFactory()
    cart_with(buyer, (listing_of(kiln, price=2_000), 1), (listing_of(paper, price=2_500, title="Washi"), 1))
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, live_server.url, buyer.email)
    page.goto(f"{live_server.url}/cart/")
    button = page.get_by_role("button", name=f"Pay {shown} to 2 shops at once")
    expect(button).to_be_visible()
    boxes = page.locator('[data-testid="checkout-form"]').filter(has=button).evaluate(BOXES)
    assert boxes["note"]["top"] >= boxes["button"]["bottom"], boxes  # under the button, not beside it
    assert boxes["note"]["width"] >= boxes["form"]["width"] - 1, boxes  # the form's whole width
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
