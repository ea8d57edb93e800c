"""Stock taken and given back by checkout (one shop, several shops, buy now) shows at once on the cached
storefront (catalog/cache.py): checkout changes stock with UPDATEs, which send no signal, so it replaces
the cache's version itself (`orders.services._stock.change_stock`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import CartItem, Listing
from orders import services
from orders.models import Order
from orders.services import saved_cards
from orders.services.checkout import buyer_customer_ensure
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of
from tests.orders.test_saved_cards import saved_card

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


def test_stock_taken_by_a_checkout_of_several_shops_shows_at_once(sandbox: Any, client: Client) -> None:
    first, second = active_seller(sandbox, shop="Kiln"), active_seller(sandbox, shop="Loom")
    mug = listing_of(first, price=2_000, stock=10, title="Speckled mug")
    towel = listing_of(second, price=1_500, stock=5, title="Linen towel")
    pages = [reverse("storefront_listing", args=[mug.pk]), reverse("storefront_listing", args=[towel.pk])]
    for page in pages:
        client.get(page)  # cached
    buyer = UserFactory()
    cart = cart_with(buyer, (mug, 2), (towel, 1))
    services.checkout_start_cart(buyer=buyer, cart=cart, currency="usd", **URLS)
    assert "8 in stock" in client.get(pages[0]).content.decode()
    assert "4 in stock" in client.get(pages[1]).content.decode()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_unit_taken_by_buy_now_shows_at_once(sandbox: Any, client: Client, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=3_300, stock=2, title="Speckled mug")
    page = reverse("storefront_listing", args=[mug.pk])
    assert "2 in stock" in client.get(page).content.decode()
    buyer = UserFactory()
    card = saved_card(sandbox, buyer, "pm_card_visa")
    saved_cards.buy_now(
        buyer=buyer,
        listing_id=mug.pk,
        payment_method=card,
        attempt="a" * 32,
        return_url="x",
        price_seen=(mug.price, mug.currency),
    )
    assert "1 in stock" in client.get(page).content.decode()


def test_checkout_costs_the_same_statements_for_one_item_and_for_six(
    sandbox: Any, django_assert_max_num_queries: Any
) -> None:
    """Checkout's statements are as many for six lines as for one: the stock of every line is taken in
    one UPDATE and the lines inserted in one INSERT. A returning buyer (the Stripe customer exists), as
    `make bench-pages` measures it. Called here without a request: the cart and the Stripe customer are
    read by queries of their own (through the API they come with the session: see the next test)."""
    seller = active_seller(sandbox)
    listings = [listing_of(seller, price=1_000 + i, stock=10, title=f"Mug {i}") for i in range(6)]
    counts = []
    for items in (listings[:1], listings):
        buyer = UserFactory()
        buyer_customer_ensure(user=buyer)
        cart = cart_with(buyer, *((listing, 1) for listing in items))
        with django_assert_max_num_queries(11) as captured:
            services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_checkout_through_the_api_costs_a_fixed_number_of_statements(
    sandbox: Any, django_assert_num_queries: Any, currency: str
) -> None:
    """`POST /api/v1/checkout` for a returning buyer, one item or six: the session with the user, the cart's
    id and the Stripe customer's (one statement), then the transaction (the cart's lines with the cart's
    lock, the pending orders, the listings' locks, the fee rules, the order, its lines, the stock), and the
    session's id stored on the order. The order the API answers with is the one Stripe was asked to pay."""
    seller = active_seller(sandbox, currency=currency)
    listings = [listing_of(seller, price=1_000 + i, stock=10, title=f"Mug {i}") for i in range(6)]
    for items in (listings[:1], listings):
        buyer = UserFactory()
        buyer_customer_ensure(user=buyer)
        cart_with(buyer, *((listing, 2) for listing in items))
        client = Client()
        client.force_login(buyer)
        stock = dict(Listing.objects.values_list("pk", "stock"))
        with django_assert_num_queries(11):  # the savepoint and its release stand for BEGIN and COMMIT
            response = client.post(
                "/api/v1/checkout", {"seller_id": seller.pk, "currency": currency}, content_type="application/json"
            )
        assert response.status_code == 201, response.content
        order = Order.objects.get(pk=response.json()["order_id"])
        assert order.buyer == buyer and order.checkout_url == response.json()["url"]
        assert order.amount_total == sum(2 * (1_000 + i) for i in range(len(items)))
        assert [(line.listing_id, line.quantity) for line in order.lines.all()] == [(x.pk, 2) for x in items]
        assert dict(Listing.objects.values_list("pk", "stock")) == {
            pk: units - 2 * any(x.pk == pk for x in items) for pk, units in stock.items()
        }
