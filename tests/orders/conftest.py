"""Helpers of the order tests: sellers onboarded on the sandbox for real, listings, carts, paying.

Sellers go through the sellers app's own services and the sandbox's hosted-onboarding control
call, so their Stripe accounts exist and can receive destination charges.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.db.models import Q
from django.test import Client

from catalog.models import Cart, CartItem, Listing
from fees.services import fee_rule_set
from sellers import services as seller_services
from sellers.models import Seller, shop_name_key, shop_name_looks
from tests.catalog.factories import ListingFactory
from tests.factories import PASSWORD, UserFactory

DEFAULT_FEES = {"usd": (1000, 30), "jpy": (1000, 0)}  # the platform defaults of fees/0002


@pytest.fixture(autouse=True)
def default_fees(db: Any) -> None:
    """The platform's default fee rules (a transactional test's flush removes migration rows)."""
    for currency, (bps, fixed) in DEFAULT_FEES.items():
        fee_rule_set(currency=currency, basis_points=bps, fixed_amount=fixed)


def active_seller(sandbox: Any, *, currency: str = "usd", shop: str = "Rosen Ceramics") -> Seller:
    """A seller whose Express account finished onboarding on the sandbox (charges enabled). No two
    shops may read or look alike (`sellers.models.shop_name_key`, `shop_name_looks`): a name
    another shop of the test has is numbered, "Rosen Ceramics 2"."""
    country = "JP" if currency == "jpy" else "US"
    name, n = shop, 1
    while Seller.objects.filter(
        Q(shop_name_key=shop_name_key(name)) | Q(name_looks__look__in=shop_name_looks(name))
    ).exists():
        n += 1
        name = f"{shop} {n}"
    seller = Seller.objects.create(user=UserFactory(), shop_name=name, country=country, default_currency=currency)
    link = seller_services.seller_onboarding_link_create(
        seller=seller, refresh_url="http://testserver/refresh", return_url="http://testserver/return"
    )
    token = link.url.rstrip("/").rsplit("/", 1)[-1]
    requests.post(f"{sandbox.url}/_sandbox/account_links/{token}/complete", json={}, timeout=10).raise_for_status()
    # Re-read the account, as the return page does. A webhook may apply a newer read meanwhile: the
    # refresh then hands back that newer state (tests/sellers/test_onboarding_race.py), never its own.
    seller.refresh_from_db()  # the link call made the account on its own copy of the row
    seller_services.seller_refresh_from_stripe(seller=seller)
    assert seller.charges_enabled, "the sandbox account should take charges after onboarding"
    return seller


def listing_of(seller: Seller, *, price: int, stock: int = 10, title: str = "Stoneware mug") -> Listing:
    listing: Listing = ListingFactory(
        seller=seller, price=price, stock=stock, title=title, currency=seller.default_currency
    )
    return listing


def cart_with(buyer: Any, *items: tuple[Listing, int]) -> Cart:
    cart, _ = Cart.objects.get_or_create(user=buyer)
    for listing, quantity in items:
        CartItem.objects.update_or_create(cart=cart, listing=listing, defaults={"quantity": quantity})
    return cart


def pay(sandbox: Any, session_id: str, card: str = "4242424242424242") -> dict[str, Any]:
    """The buyer submits the hosted page (control API: tests and seeding only)."""
    r = requests.post(f"{sandbox.url}/_sandbox/checkout/sessions/{session_id}/pay", json={"card": card}, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


URLS = {
    "success_url": "http://testserver/checkout/success/?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "http://testserver/checkout/canceled/?order={ORDER_ID}",
}


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `check` until it holds (True) or `timeout` passes (its last answer): a condition, not a sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
