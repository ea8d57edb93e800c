"""A buyer who types how many units of an item to give back, but leaves the form's first choice "The
whole order" as it was (it starts checked), meant those units, not the whole order: the request is not
sent for the whole order; the page says to choose one, and keeps what was typed. In Chromium at 375 px
with axe-core, JPY."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from orders import services
from orders.models import RefundRequest
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_units_typed_with_the_whole_order_still_chosen_ask_nothing_and_keep_the_units(
    live_server: Any, browser: Browser, axe_js: Path, sandbox: Any, clean_cache: None
) -> None:
    seller = active_seller(sandbox, currency="jpy", shop="Edo Prints")
    wave = listing_of(seller, price=7_200, stock=5, title="Great wave")
    mug = listing_of(seller, price=3_600, stock=5, title="Speckled mug")
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (wave, 2), (mug, 1)), seller_id=seller.pk, currency="jpy", **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    services.order_sync_from_stripe(order=order)

    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    form = page.get_by_test_id("refund-request-form")
    form.get_by_label("Reason").select_option(label="Arrived damaged")
    expect(form.get_by_label(re.compile("The whole order"))).to_be_checked()
    form.get_by_label(re.compile("^Great wave")).fill("1")  # one print, the radio left as it was
    form.get_by_role("button", name="Ask for a refund").click()

    expect(page.get_by_text(re.compile("without choosing “Some items”"))).to_be_visible()
    assert not RefundRequest.objects.filter(order=order).exists()  # not ¥18,000 asked for one ¥7,200 print
    form = page.get_by_test_id("refund-request-form")
    expect(form.get_by_label(re.compile("^Great wave"))).to_have_value("1")
    expect(form.get_by_label("Reason")).to_have_value("damaged")
    fits_a_phone_and_passes_axe(page)  # the refusal above the form kept as typed

    form.get_by_label("Some items:").check()
    form.get_by_role("button", name="Ask for a refund").click()
    expect(page.get_by_text("Your refund request is with the seller.")).to_be_visible()
    page.context.close()
    assert RefundRequest.objects.get(order=order).amount == 7_200
