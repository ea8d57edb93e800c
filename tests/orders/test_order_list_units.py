"""The buyer's order list: its "Items" column counts the units bought, in a fixed number of queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderLine, OrderStatus
from tests.catalog.factories import ListingFactory, SellerFactory
from tests.factories import UserFactory
from tests.orders.conftest import signed_in

pytestmark = pytest.mark.django_db


def _order(buyer: Any, currency: str, *quantities: int) -> Order:
    seller = SellerFactory(default_currency=currency, country="JP" if currency == "jpy" else "US")
    price = 1_500 if currency == "jpy" else 1_250
    order = Order.objects.create(
        buyer=buyer,
        seller=seller,
        status=OrderStatus.PAID,
        currency=currency,
        amount_total=price * sum(quantities),
        application_fee_amount=0,
        cart_fingerprint="x",
    )
    for n, quantity in enumerate(quantities):
        listing = ListingFactory(seller=seller, price=price, currency=currency, title=f"Mug {n}")
        OrderLine.objects.create(
            order=order, listing=listing, title=listing.title, unit_amount=price, quantity=quantity, fee_amount=0
        )
    return order


def _items_column(page: str) -> list[str]:
    return re.findall(r'<td data-label="Items">([^<]*)</td>', page)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_items_column_counts_units_not_lines(currency: str) -> None:
    buyer = UserFactory()
    _order(buyer, currency, 2, 3)  # two lines, five units
    page = signed_in(buyer).get("/orders/").content.decode()
    assert _items_column(page) == ["5"]


def test_the_order_list_costs_the_same_queries_whatever_the_number_of_orders() -> None:
    buyer = UserFactory()
    client = signed_in(buyer)
    _order(buyer, "usd", 1, 4)
    with CaptureQueriesContext(connection) as one:
        client.get("/orders/")
    _order(buyer, "jpy", 2)
    _order(buyer, "usd", 3, 1, 1)
    with CaptureQueriesContext(connection) as three:
        page = client.get("/orders/").content.decode()
    assert _items_column(page) == ["5", "2", "5"]  # newest first
    assert len(three) == len(one)


def test_a_buyer_with_more_orders_than_a_page_reaches_the_oldest_on_the_next_pages() -> None:
    """Newest first, a page at a time: the list came oldest first (Django drops `Meta.ordering` from a
    grouped query) and stopped at 100 orders, so a buyer's newest orders could not be reached from it."""
    buyer = UserFactory()
    oldest = _order(buyer, "usd", 1)
    seller = oldest.seller
    Order.objects.bulk_create(
        Order(
            buyer=buyer,
            seller=seller,
            status=OrderStatus.CANCELED,
            currency="usd",
            amount_total=1_250,
            application_fee_amount=0,
            cart_fingerprint="x",
        )
        for _ in range(120)
    )
    newest = Order.objects.filter(buyer=buyer).latest("created_at", "id")
    client = signed_in(buyer)
    first = client.get("/orders/").content.decode()
    assert re.findall(r">Order (\d+)<", first)[0] == str(newest.pk)
    assert f">Order {oldest.pk}<" not in first
    assert 'rel="next"' in first and "Page 1 of 3" in first
    last = client.get("/orders/?page=3").content.decode()
    assert f">Order {oldest.pk}<" in last and 'rel="prev"' in last
    assert client.get("/orders/?page=x").status_code == 200  # anything but a number: the first page
    listed = client.get("/api/v1/orders").json()
    assert (listed["count"], listed["page"], listed["pages"]) == (121, 1, 2)
    api = listed["items"]
    assert len(api) == 100 and api[0]["id"] == newest.pk  # the API's newest 100, newest first
    rest = client.get("/api/v1/orders", {"page": 2}).json()["items"]  # and the others after them
    assert len(rest) == 21 and rest[-1]["id"] == oldest.pk and not {o["id"] for o in api} & {o["id"] for o in rest}
    assert client.get("/api/v1/orders", {"page": 3}).json()["items"] == []
    assert client.get("/api/v1/orders", {"page": 0}).status_code == 422
