"""`seed_demo_sellers`: sellers in every interesting state, real on the sandbox's side, logins printed."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from catalog.models import Listing
from marketplace import gateway
from sellers.management.commands.seed_demo_sellers import DEMO_SELLERS
from sellers.models import Seller, SellerStatus
from sellers.services import currencies_of

pytestmark = pytest.mark.django_db


def test_seed_demo_sellers_makes_every_state_and_prints_logins(sandbox: Any) -> None:
    out = StringIO()
    call_command("seed_demo_sellers", stdout=out)
    text = out.getvalue()

    statuses = {s.user.email: s.status for s in Seller.objects.select_related("user")}
    assert statuses["seller.active@marketplace.test"] == SellerStatus.ACTIVE
    assert statuses["seller.action@marketplace.test"] == SellerStatus.ACTION_REQUIRED
    assert statuses["seller.restricted@marketplace.test"] == SellerStatus.RESTRICTED
    assert statuses["seller.onboarding@marketplace.test"] == SellerStatus.ONBOARDING
    assert statuses["seller.later@marketplace.test"] == SellerStatus.ONBOARDING  # never enabled: not "restricted"
    assert statuses["seller.paused@marketplace.test"] == SellerStatus.PAUSED
    restricted = Seller.objects.get(user__email="seller.restricted@marketplace.test")
    assert restricted.charges_first_enabled_at is not None and not restricted.charges_enabled
    assert "seller.action@marketplace.test" in text and "Stripe deadline:" in text
    assert f"Express dashboard (single use): {sandbox.url}/hosted/express/" in text
    jp = Seller.objects.get(user__email="seller.active@marketplace.test")
    assert gateway.client().v1.accounts.retrieve(str(jp.stripe_account_id)).default_currency == "jpy"

    call_command("seed_demo_sellers", stdout=StringIO())  # again: nothing new
    assert Seller.objects.count() == 7 and len(gateway.client().v1.accounts.list({"limit": 100}).data) == 7


# Where each demo shop's name says it is (a city, or Hokusai's Japan). "Portland Linen" was a US account
# selling in dollars: a newcomer reading the console saw a Portuguese shop paid out in USD.
PLACE_OF_NAME = {
    "Hokusai": "JP",
    "Brooklyn": "US",
    "Portland": "US",
    "Austin": "US",
    "Berlin": "DE",
    "Dublin": "IE",
    "Paris": "FR",
    "Lisbon": "PT",
}


def test_each_demo_shop_is_where_its_name_says_and_sells_in_that_countrys_currency() -> None:
    for demo in DEMO_SELLERS:
        place = demo.shop.split()[0]
        assert PLACE_OF_NAME.get(place) == demo.country, f"{demo.shop} is not a {demo.country} shop"
        assert demo.currency == currencies_of(demo.country)[0], f"{demo.shop} does not sell in its country's currency"


def test_the_seeded_shops_stripe_accounts_and_listings_agree_with_the_shop(sandbox: Any) -> None:
    call_command("seed_demo_sellers", stdout=StringIO())
    call_command("seed_demo_listings", stdout=StringIO())
    for seller in Seller.objects.select_related("user"):
        demo = next(d for d in DEMO_SELLERS if d.email == seller.user.email)
        account = gateway.client().v1.accounts.retrieve(str(seller.stripe_account_id))
        assert (seller.shop_name, seller.country, seller.default_currency) == (demo.shop, demo.country, demo.currency)
        assert (account.country, account.default_currency) == (demo.country, demo.currency)
        assert set(Listing.objects.filter(seller=seller).values_list("currency", flat=True)) == {demo.currency}
