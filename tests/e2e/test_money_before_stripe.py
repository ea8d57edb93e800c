"""The Money link of a shop whose Stripe account was never made (Stripe unreachable when it opened):
the nav shows Money to every seller, and the money pages answered a bare 404 "Page not found", a dead
end. The Money page says why there is no balance yet and leads to Stripe's onboarding; every other
money page and form leads back to it, changing nothing. At 375 px with no serious axe-core violation,
for a US (USD) and a Japanese (JPY) shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from sellers.models import Seller
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LEAD_TO_MONEY = (
    "/sell/money/payouts/",
    "/sell/money/payouts/1/",
    "/sell/money/statement/",
    "/sell/money/statement.csv",
)


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_a_shop_without_its_stripe_account_is_led_from_money_to_onboarding(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str, country: str
) -> None:
    seller = Seller.objects.create(user=UserFactory(), shop_name="Not Yet", country=country, default_currency=currency)
    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)

    page.goto(live_server.url + "/sell/")
    page.locator(".menu > summary").click()  # at 375 px the navigation is behind the menu button
    page.get_by_role("link", name="Money", exact=True).click()
    expect(page.get_by_role("heading", name="Money")).to_be_visible()
    expect(page.get_by_test_id("money-no-account")).to_contain_text("no Stripe account yet")
    fits_a_phone_and_passes_axe(page)

    for path in (
        "/sell/money/payouts/",
        "/sell/money/payouts/1/",
        "/sell/money/statement/",
        "/sell/money/statement.csv",
    ):
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, path
        expect(page.get_by_test_id("money-no-account")).to_be_visible()

    page.get_by_role("button", name="Set up payments with Stripe").click()
    page.wait_for_url(lambda url: "/sell/" not in url)  # Stripe's hosted onboarding
    seller.refresh_from_db()
    assert seller.stripe_account_id
    page.context.close()
