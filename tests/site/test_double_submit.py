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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from catalog.models import Cart, CartItem, Listing, ListingStatus
from fees.models import FeeRule
from fees.services import fee_rule_set
from marketplace.outbox.models import OutboxMessage
from orders.models import Order, OrderStatus, RefundRequest, RefundRequestStatus
from orders.services import checkout_start
from orders.services.fulfilment import order_mark_fulfilled
from orders.services.refunds import refund_request_create
from sellers.models import Seller, SellerModerationEntry
from tests.catalog.factories import ListingFactory, SellerFactory, jpy_seller
from tests.factories import UserFactory
from tests.orders.conftest import URLS
from tests.orders.test_races import run_together
from tests.site.conftest import World

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
@pytest.mark.parametrize("currency", CURRENCIES)
def test_add_to_cart_from_the_same_page_with_another_quantity_adds_it(currency: str) -> None:
    """Back from the cart (the browser shows the page it kept, with its token), the buyer asks for 3
    more: a new add, not the first one's replay ("Pressed twice: added once", 1 in the cart). The
    same quantity again is still the double click."""
    listing = _listing(currency, title="Blue mug", stock=10)
    client, buyer = _signed_in()
    form = _add_form(client, listing)
    client.post("/cart/add/", form, follow=True)

    more = client.post("/cart/add/", form | {"quantity": "3"}, follow=True)
    assert _quantity(buyer, listing) == 4
    assert _said(more) == ["Added to your cart: Blue mug (now 4)."]
    again = client.post("/cart/add/", form | {"quantity": "3"}, follow=True)
    assert _quantity(buyer, listing) == 4
    assert _said(again) == ["Added to your cart: Blue mug (now 4). Pressed twice: added once."]


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_apis_add_with_one_idempotency_key_and_another_quantity_adds_it(currency: str) -> None:
    """The key names a request, its quantity included: a retry sends the same quantity."""
    listing = _listing(currency, stock=10)
    client, buyer = _signed_in()

    def add(quantity: int) -> Any:
        body = json.dumps({"listing_id": listing.pk, "quantity": quantity})
        return client.post("/api/v1/cart/items", body, "application/json", headers={"Idempotency-Key": "k1"})

    assert [add(q).status_code for q in (1, 1, 2, 2)] == [201] * 4
    assert _quantity(buyer, listing) == 3


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
def test_a_new_visitors_double_click_on_add_to_cart_makes_one_cart(currency: str) -> None:
    """Browsing makes no session (only the CSRF cookie), so the two posts of a visitor's first double
    click reach us at once without a session cookie and neither finds the other's cart: each opened a
    cart of its own (two carts, two sessions, one of them kept by the browser). The second now joins
    the first's cart and its add is the same add: one cart with one unit, whichever session's cookie
    the browser keeps."""
    listing = _listing(currency, title="Blue mug")
    browser = Client()
    form = _add_form(browser, listing)
    assert settings.SESSION_COOKIE_NAME not in browser.cookies  # nothing shared but the form and its CSRF cookie
    posts = [Client() for _ in range(2)]
    for each in posts:
        each.cookies.load({name: morsel.value for name, morsel in browser.cookies.items()})

    answers = run_together([lambda c=c: c.post("/cart/add/", form) for c in posts])  # type: ignore[misc]

    assert [(a.status_code, a.url) for a in answers] == [(302, "/cart/")] * 2
    assert [(i.listing_id, i.quantity) for i in CartItem.objects.all()] == [(listing.pk, 1)]
    [cart] = Cart.objects.all()
    assert [each.session.get("cart_id") for each in posts] == [cart.pk, cart.pk]


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


# --- Every other form without a token: posted twice, done once, never a 500 ----------------------


@dataclass
class Form:
    """A form as its page posts it, by `role`; `done` asserts it was done once, after both posts."""

    role: str
    url: str
    data: dict[str, str]
    done: Callable[[], None]
    said_again: str = ""  # what the second post, one after the other, says (if not its own first words)


def _refund_request(world: World) -> Form:
    def done() -> None:
        assert RefundRequest.objects.filter(order=world.order).count() == 1
        assert OutboxMessage.objects.filter(name="orders.email.refund_requested").count() == 1

    data = {"scope": "whole", "reason": "damaged", "note": "Chipped"}
    return Form("buyer", f"/orders/{world.order.pk}/refund-request/", data, done)


def _refund_decline(world: World) -> Form:
    asked = refund_request_create(order=world.order, buyer=world.order.buyer, reason="damaged", note="", lines=None)

    def done() -> None:
        assert RefundRequest.objects.get(pk=asked.pk).status == RefundRequestStatus.DECLINED
        assert OutboxMessage.objects.filter(name="orders.email.refund_request_answered").count() == 1

    return Form("seller", f"/sell/refunds/{asked.pk}/decline/", {"reason": "Used"}, done)


def _fulfil(world: World) -> Form:
    def done() -> None:
        order = Order.objects.get(pk=world.order.pk)
        assert (order.status, order.tracking_number) == (OrderStatus.FULFILLED, "TRK1")
        assert OutboxMessage.objects.filter(name="orders.email.order_shipped").count() == 1

    return Form("seller", f"/sell/orders/{world.order.pk}/fulfil/", {"tracking_number": "TRK1"}, done)


def _received(world: World) -> Form:
    order_mark_fulfilled(order=world.order, seller=world.seller, tracking_number="TRK1")

    def done() -> None:
        assert Order.objects.get(pk=world.order.pk).status == OrderStatus.COMPLETED

    return Form("buyer", f"/orders/{world.order.pk}/received/", {}, done)


def _cancel(world: World) -> Form:
    cart = Cart.objects.get(user=world.users["buyer"])
    started = checkout_start(buyer=world.users["buyer"], cart=cart, seller_id=world.seller.pk, currency="usd", **URLS)
    stock = Listing.objects.get(pk=world.listing.pk).stock

    def done() -> None:
        assert Order.objects.get(pk=started.order.pk).status == OrderStatus.CANCELED
        assert Listing.objects.get(pk=world.listing.pk).stock == stock + 2, "the two units are given back once"

    return Form("buyer", f"/orders/{started.order.pk}/cancel/", {}, done, "Order canceled. Nothing was charged.")


def _cart_update(world: World) -> Form:
    item = CartItem.objects.get(cart__user=world.users["buyer"])

    def done() -> None:
        assert CartItem.objects.get(pk=item.pk).quantity == 5

    return Form("buyer", f"/cart/items/{item.pk}/update/", {"quantity": "5"}, done)


def _cart_remove(world: World) -> Form:
    item = CartItem.objects.get(cart__user=world.users["buyer"])

    def done() -> None:
        assert not CartItem.objects.filter(pk=item.pk).exists()

    return Form("buyer", f"/cart/items/{item.pk}/remove/", {}, done)


def _pause(world: World) -> Form:
    def done() -> None:
        assert SellerModerationEntry.objects.filter(seller=world.seller).count() == 1
        assert Seller.objects.get(pk=world.seller.pk).paused_at is not None

    return Form("admin", f"/console/sellers/{world.seller.pk}/pause/", {"reason": "Checking"}, done)


def _fee_rule_delete(world: World) -> Form:
    rule = fee_rule_set(currency="usd", basis_points=500, fixed_amount=0, seller=world.seller)

    def done() -> None:
        assert not FeeRule.objects.filter(pk=rule.pk).exists()
        assert (
            OutboxMessage.objects.filter(name="subscriptions.follow_fee_policy", key__contains="-deleted-").count() == 1
        )

    return Form("admin", f"/console/fees/{rule.pk}/delete/", {}, done, "This rule is deleted already.")


def _publish(world: World) -> Form:
    def done() -> None:
        assert Listing.objects.get(pk=world.draft.pk).status == ListingStatus.PUBLISHED

    return Form("seller", f"/sell/listings/{world.draft.pk}/publish/", {}, done)


FORMS = {
    "buyer asks for a refund": _refund_request,
    "seller declines a refund request": _refund_decline,
    "seller marks an order shipped": _fulfil,
    "buyer says it arrived": _received,
    "buyer cancels a pending order": _cancel,
    "buyer changes a cart quantity": _cart_update,
    "buyer removes a cart item": _cart_remove,
    "admin pauses a seller": _pause,
    "admin deletes a fee rule": _fee_rule_delete,
    "seller publishes a draft": _publish,
}


@pytest.mark.parametrize("together", [False, True], ids=["one after the other", "at the same moment"])
@pytest.mark.parametrize("name", FORMS)
def test_a_form_posted_twice_is_done_once_and_both_posts_are_answered(world: World, name: str, together: bool) -> None:
    form = FORMS[name](world)
    clients = [world.client(form.role)] * 2
    if together:
        clients[1] = Client()
        clients[1].cookies = clients[0].cookies
        answers = run_together([lambda c=c: c.post(form.url, form.data) for c in clients])  # type: ignore[misc]
    else:
        answers = [c.post(form.url, form.data) for c in clients]

    assert [a.status_code for a in answers] == [302, 302], [a.content[:300] for a in answers]
    assert answers[0].url == answers[1].url
    form.done()
    said = [str(m) for m in clients[0].get(answers[1].url).context["messages"]]
    assert said, "the page it lands on says what happened"
    if form.said_again and not together:
        assert said[-1] == form.said_again
