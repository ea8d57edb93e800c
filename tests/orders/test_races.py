"""Races on real Postgres: threads, each with its own connection, checking out at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from catalog.models import Listing
from marketplace.errors import DomainError
from marketplace.gateway import checkout as gateway_checkout
from orders import services
from orders.models import Order, OrderStatus
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at once (a barrier), each in its own thread and DB connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return call()
        except DomainError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_twenty_buyers_racing_for_the_last_unit_make_exactly_one_order(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=4_500, stock=1, title="Last vase")
    buyers = [UserFactory() for _ in range(20)]
    carts = [cart_with(buyer, (listing, 1)) for buyer in buyers]

    def checkout(buyer: Any, cart: Any) -> Any:
        return lambda: services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS)

    results = run_together([checkout(b, c) for b, c in zip(buyers, carts, strict=True)])
    winners = [r for r in results if isinstance(r, services.CheckoutStart)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1 and len(losers) == 19
    # Refused under the row lock ("sold out"), or before it when the winner had already committed.
    assert all(r.code in {"out_of_stock", "cart_not_payable"} for r in losers), [r.code for r in losers]
    assert all("sold out" in r.message or "Out of stock" in r.message for r in losers)
    assert Listing.objects.get(pk=listing.pk).stock == 0
    assert Order.objects.count() == 1 and Order.objects.get().status == OrderStatus.PENDING_PAYMENT
    assert winners[0].url.startswith(sandbox.url)


def test_a_buyer_double_clicking_five_times_at_once_gets_one_order_and_one_session(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=4_500, stock=5)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 2))

    results = run_together(
        [
            lambda: services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS)
            for _ in range(5)
        ]
    )
    assert all(isinstance(r, services.CheckoutStart) for r in results), results
    assert len({r.order.pk for r in results}) == 1 and len({r.url for r in results}) == 1
    assert Listing.objects.get(pk=listing.pk).stock == 3
    order = Order.objects.get()
    session = gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id), expand_payment=False)
    assert session.url == results[0].url
