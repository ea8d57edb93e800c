"""On a phone, the buyer's pages that changed for subscribers: the listing page of a product they
subscribe to says so (with the way to Your subscriptions) instead of offering "Subscribe"; Your
subscriptions says a subscription Stripe ended after failed payments ended for that; the saved cards
page says what its default is for. Each fits 375 px and passes axe-core. USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from subscriptions import services
from subscriptions.models import SubscriptionStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of
from tests.subscriptions.factories import subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 2_500, "$25.00"), ("jpy", 2_500, "¥2,500")])
def test_a_subscribers_pages_say_what_they_subscribe_to_and_how_it_ended(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    price: int,
    shown: str,
) -> None:
    seller = active_seller(sandbox, currency=currency)
    box = listing_of(seller, price=price, title="Coffee box")
    beans = listing_of(seller, price=price, title="Beans")
    for listing in (box, beans):
        services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    buyer = UserFactory()
    subscription(buyer, box)
    subscription(buyer, beans, status=SubscriptionStatus.CANCELED, ended_for_nonpayment=True)

    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    try:
        page.goto(f"{live_server.url}/listing/{box.pk}/")
        expect(page.get_by_test_id("subscribed")).to_contain_text(f"You subscribe to this: {shown} every month.")
        expect(page.get_by_test_id("subscribe")).to_have_count(0)
        fits_a_phone_and_passes_axe(page)

        page.goto(f"{live_server.url}/account/subscriptions/")
        expect(page.get_by_test_id("subscription-status").filter(has_text="payments failed")).to_have_text(
            "Canceled: your payments failed"
        )
        fits_a_phone_and_passes_axe(page)

        # These subscriptions were made here, with no card at Stripe: the page says so, and says what
        # cards do for subscriptions only where there are cards (tests/orders/test_e2e_saved_cards.py).
        page.goto(f"{live_server.url}/account/cards/")
        expect(page.get_by_test_id("no-cards")).to_be_visible()
        expect(page.get_by_test_id("cards-subscriptions")).to_have_count(0)
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
