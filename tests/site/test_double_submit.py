"""A double click loses nothing and does nothing twice: forms posted twice with the Django test client,
one after the other and at the same moment (threads, each with its own connection), on Postgres.

Add to cart carries the listing page's visit token (`attempt`): the same token is the same add, a new
visit's is another unit. The refund, listing, payout and dispute-proof forms have their own tests of
this (tests/orders/test_refund_double_submits.py, tests/catalog/test_sell_pages.py,
tests/e2e/test_seller_pay_out_now.py, tests/e2e/test_dispute_proof_double_click.py); the forms below
are the ones that had none.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from catalog.models import CartItem, Listing
from tests.catalog.factories import ListingFactory, SellerFactory, jpy_seller
from tests.factories import UserFactory
from tests.orders.test_races import run_together

CURRENCIES = ["usd", "jpy"]


def _listing(currency: str, **kwargs: Any) -> Listing:
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    listing: Listing = ListingFactory(seller=seller, **kwargs)
    assert listing.currency == currency
    return listing


def _signed_in() -> tuple[Client, Any]:
    buyer = UserFactory()
    client = Client()
    client.force_login(buyer)
    return client, buyer


def _add_form(client: Client, listing: Listing) -> dict[str, str]:
    """The Add to cart form as the listing's page draws it, for one visit."""
    page = client.get(f"/listing/{listing.pk}/").content.decode()
    form = re.search(r'<form method="post" action="/cart/add/">(.*?)</form>', page, re.S)
    assert form, "the listing's page offers Add to cart"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(1)))
    assert re.fullmatch(r"[0-9a-f]{32}", fields.get("attempt", "")), "the form carries its visit's token"
    return fields | {"quantity": "1"}


def _quantity(buyer: Any, listing: Listing) -> int:
    return sum(CartItem.objects.filter(cart__user=buyer, listing=listing).values_list("quantity", flat=True))


def _said(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Add to cart ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_add_to_cart_posted_twice_adds_one_unit_and_both_land_on_the_cart(currency: str) -> None:
    listing = _listing(currency, title="Blue mug")
    client, buyer = _signed_in()
    form = _add_form(client, listing)

    first = client.post("/cart/add/", form, follow=True)
    second = client.post("/cart/add/", form, follow=True)

    assert _quantity(buyer, listing) == 1
    assert first.redirect_chain == second.redirect_chain == [("/cart/", 302)]
    assert _said(first) == ["Added to your cart: Blue mug (now 1)."]
    assert _said(second) == ["Added to your cart: Blue mug (now 1). Pressed twice: added once."]


@pytest.mark.django_db
def test_add_to_cart_posted_twice_before_the_cart_is_shown_says_added_once() -> None:
    """A double click: the browser shows the second answer only, and the first's words are said once."""
    listing = _listing("usd", title="Blue mug")
    client, buyer = _signed_in()
    form = _add_form(client, listing)

    assert [client.post("/cart/add/", form).url for _ in range(2)] == ["/cart/", "/cart/"]

    assert _said(client.get("/cart/")) == ["Added to your cart: Blue mug (now 1)."]
    assert _quantity(buyer, listing) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_add_to_cart_again_from_a_new_visit_adds_another_unit(currency: str) -> None:
    listing = _listing(currency, title="Blue mug")
    client, buyer = _signed_in()

    client.post("/cart/add/", _add_form(client, listing))
    again = client.post("/cart/add/", _add_form(client, listing), follow=True)

    assert _quantity(buyer, listing) == 2
    assert _said(again) == ["Added to your cart: Blue mug (now 2)."]


@pytest.mark.django_db
def test_add_to_cart_posted_twice_by_a_visitor_not_signed_in_adds_one_unit() -> None:
    listing = _listing("usd", title="Blue mug")
    client = Client()
    form = _add_form(client, listing)

    client.post("/cart/add/", form)
    client.post("/cart/add/", form)

    assert [(i.listing_id, i.quantity) for i in CartItem.objects.all()] == [(listing.pk, 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_add_to_cart_posted_four_times_at_the_same_moment_adds_one_unit(currency: str) -> None:
    """Five listings, so that the moment two of them overlap (first add of a listing) comes up."""
    client, buyer = _signed_in()
    for n in range(5):
        listing = _listing(currency, title=f"Blue mug {n}")
        form = _add_form(client, listing)
        clients = [Client() for _ in range(4)]
        for each in clients:
            each.cookies = client.cookies  # the same browser: its session, its cart

        answers = run_together([lambda c=c, f=form: c.post("/cart/add/", f) for c in clients])  # type: ignore[misc]

        assert [(a.status_code, a.url) for a in answers] == [(302, "/cart/")] * 4
        assert _quantity(buyer, listing) == 1


@pytest.mark.django_db
def test_add_to_cart_without_a_token_adds_nothing_and_says_to_press_again() -> None:
    """An old page's form (or curl) cannot be told from its own double click, so it adds nothing; the
    buyer is sent back to the listing's page, whose form now carries a token."""
    listing = _listing("usd", title="Blue mug")
    client, buyer = _signed_in()

    for attempt in (None, "", "not-a-token"):
        form = {"listing": str(listing.pk), "quantity": "1"} | ({"attempt": attempt} if attempt is not None else {})
        answer = client.post("/cart/add/", form, follow=True)
        assert answer.redirect_chain == [(f"/listing/{listing.pk}/", 302)]
        assert _said(answer) == ["Nothing was added: the page was out of date. Press Add to cart again."]
    assert _quantity(buyer, listing) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_apis_add_with_one_idempotency_key_adds_once_and_without_one_adds_each_time(currency: str) -> None:
    listing = _listing(currency)
    client, buyer = _signed_in()
    body = json.dumps({"listing_id": listing.pk, "quantity": 1})

    def add(**headers: str) -> Any:
        return client.post("/api/v1/cart/items", body, "application/json", headers=headers)

    first, second = add(**{"Idempotency-Key": "k1"}), add(**{"Idempotency-Key": "k1"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json() and _quantity(buyer, listing) == 1
    assert add(**{"Idempotency-Key": "k2"}).status_code == 201 and _quantity(buyer, listing) == 2
    assert add().status_code == add().status_code == 201 and _quantity(buyer, listing) == 4
    assert add(**{"Idempotency-Key": "\x01"}).status_code == 422 and _quantity(buyer, listing) == 4
