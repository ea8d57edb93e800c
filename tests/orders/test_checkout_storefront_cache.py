"""Stock taken and given back by checkout shows at once on the cached storefront (catalog/cache.py):
checkout changes stock with UPDATEs, which send no signal, so it replaces the cache's version itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import CartItem
from orders import services
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_stock_reserved_and_released_by_checkout_shows_at_once(sandbox: Any, client: Client, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=2_000, stock=10, title="Speckled mug")
    page = reverse("storefront_listing", args=[listing.pk])
    api = f"/api/v1/listings/{listing.pk}"
    assert "10 in stock" in client.get(page).content.decode()
    client.get(page)  # cached now
    assert client.get("/api/v1/listings").json()["items"][0]["stock"] == 10
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 2))
    services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency=currency, **URLS)
    assert "8 in stock" in client.get(page).content.decode()
    assert client.get("/api/v1/listings").json()["items"][0]["stock"] == 8
    assert client.get(api).json()["stock"] == 8
    # A changed cart: the first order is canceled (its 2 units come back), a new one takes 3.
    CartItem.objects.filter(cart=cart).update(quantity=3)
    services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency=currency, **URLS)
    assert "7 in stock" in client.get(page).content.decode()
    assert client.get("/api/v1/listings").json()["items"][0]["stock"] == 7
