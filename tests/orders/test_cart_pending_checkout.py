"""Back from Stripe's page to the cart: the buyer's own pending checkout holds the stock it took, and the
cart counts those units back, so the cart stays payable and Pay leads to the same session (no second
order, no second reservation); once the reservation is released, or for another buyer's, the stock
rule is the plain one; a changed cart replaces the checkout. One shop and several, USD and JPY, against
the sandbox over HTTP.

Worked example (the newcomer's report): 2 of a listing with 3 in stock, at ¥7,200 / $72.00: after Pay
the stock reads 1, and the cart still shows 2 x ¥7,200 = ¥14,400, payable.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import Cart, CartItem, Listing
from catalog.selectors import cart_view
from marketplace.errors import InvalidInput
from marketplace.gateway import checkout as gateway_checkout
from marketplace.money import format_money
from orders import services
from orders.models import CheckoutGroup, Order, OrderStatus
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, signed_in

pytestmark = pytest.mark.django_db

PRICE = {"usd": 7_200, "jpy": 7_200}  # $72.00 / ¥7,200


def start(buyer: Any, currency: str) -> services.CartCheckoutStart:
    return services.checkout_start_cart(buyer=buyer, cart=Cart.objects.get(user=buyer), currency=currency, **URLS)


def stock(listing: Listing) -> int:
    listing.refresh_from_db()
    return listing.stock


def cart_page(client: Client) -> str:
    return client.get(reverse("cart")).content.decode()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_one_shop_back_from_paying_the_cart_is_payable_and_pay_reuses_the_session(
    sandbox: Any, currency: str, django_assert_num_queries: Any
) -> None:
    seller = active_seller(sandbox, currency=currency, shop="Hokusai Prints")
    listing = listing_of(seller, price=PRICE[currency], stock=3, title="Wave print")
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 2))
    total = format_money(2 * PRICE[currency], currency)

    first = start(buyer, currency)
    assert stock(listing) == 1, "the pending order holds 2 of the 3"

    view = cart_view(cart=cart)
    [group] = view.groups
    [line] = group.lines
    assert line.ok, line.problem
    assert (line.line_total, group.subtotal, group.payable) == (2 * PRICE[currency], 2 * PRICE[currency], True)
    assert view.totals == {currency: 2 * PRICE[currency]}

    client = signed_in(buyer)
    client.get(reverse("cart"))  # the session's first read
    with django_assert_num_queries(2):  # the session with the cart's id, the cart's lines: as without an order
        page = cart_page(client)
    assert "left: lower the quantity" not in page
    assert f'data-testid="pay-button">Pay {total} to Hokusai Prints</button>' in page
    assert f"{currency.upper()}: <strong>{total}</strong>" in page

    again = start(buyer, currency)
    assert again.url == first.url and again.orders[0].pk == first.orders[0].pk
    assert Order.objects.filter(buyer=buyer).count() == 1
    assert stock(listing) == 1, "stock is taken once"
    assert Order.objects.get(buyer=buyer).status == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_several_shops_back_from_paying_the_cart_is_payable_and_pay_reuses_the_session(
    sandbox: Any, currency: str
) -> None:
    shops = [active_seller(sandbox, currency=currency, shop=name) for name in ("Hokusai Prints", "Kiln & Co")]
    prints = listing_of(shops[0], price=PRICE[currency], stock=3, title="Wave print")
    bowl = listing_of(shops[1], price=PRICE[currency] - 100, stock=3, title="Tea bowl")
    buyer = UserFactory()
    cart = cart_with(buyer, (prints, 2), (bowl, 1))
    expected = 2 * PRICE[currency] + PRICE[currency] - 100

    first = start(buyer, currency)
    assert first.group is not None and len(first.orders) == 2
    assert (stock(prints), stock(bowl)) == (1, 2)

    view = cart_view(cart=cart)
    [payment] = view.payments
    assert all(line.ok for line in payment.lines), [line.problem for line in payment.lines]
    assert [group.subtotal for group in payment.groups] == [2 * PRICE[currency], PRICE[currency] - 100]
    assert (payment.subtotal, payment.payable) == (expected, True)
    assert view.totals == {currency: expected}
    page = cart_page(signed_in(buyer))
    assert "left: lower the quantity" not in page
    assert f'data-testid="pay-button">Pay {format_money(expected, currency)} to 2 shops at once</button>' in page

    again = start(buyer, currency)
    assert again.url == first.url and again.group is not None and again.group.pk == first.group.pk
    assert CheckoutGroup.objects.filter(buyer=buyer).count() == 1
    assert Order.objects.filter(buyer=buyer).count() == 2
    assert (stock(prints), stock(bowl)) == (1, 2), "stock is taken once"


def test_a_released_reservation_leaves_the_plain_stock_rule(sandbox: Any) -> None:
    """The session expired (its stock back) and someone else bought 2 meanwhile: 1 left, said so."""
    seller = active_seller(sandbox, currency="jpy", shop="Hokusai Prints")
    listing = listing_of(seller, price=7_200, stock=3, title="Wave print")
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 2))
    order = start(buyer, "jpy").orders[0]
    session = gateway_checkout.checkout_session_retrieve(str(order.checkout_session_id), expand_payment=False)
    services.order_expire(session=session)
    assert stock(listing) == 3 and Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
    Listing.objects.filter(pk=listing.pk).update(stock=1)  # another buyer's purchase

    [group] = cart_view(cart=cart).groups
    assert group.lines[0].problem == "Only 1 left: lower the quantity."
    assert not group.payable and group.subtotal == 14_400, "the total is still the lines' sum"
    page = cart_page(signed_in(buyer))
    assert "Only 1 left: lower the quantity." in page
    assert "Pay ¥14,400 to Hokusai Prints</button>" in page and "Fix the items marked above" in page
    with pytest.raises(InvalidInput):
        start(buyer, "jpy")


def test_another_buyers_pending_checkout_is_not_counted_back(sandbox: Any) -> None:
    seller = active_seller(sandbox, currency="usd", shop="Hokusai Prints")
    listing = listing_of(seller, price=7_200, stock=3, title="Wave print")
    first_buyer, second_buyer = UserFactory(), UserFactory()
    cart_with(first_buyer, (listing, 2))
    start(first_buyer, "usd")
    [group] = cart_view(cart=cart_with(second_buyer, (listing, 2))).groups
    assert group.lines[0].problem == "Only 1 left: lower the quantity."
    with pytest.raises(InvalidInput):
        start(second_buyer, "usd")
    assert stock(listing) == 1


@pytest.mark.parametrize(("currency", "shops"), [("usd", 1), ("jpy", 1), ("usd", 2), ("jpy", 2)])
@pytest.mark.parametrize("quantity", [1, 3])
def test_a_changed_quantity_after_paying_started_makes_a_new_checkout(
    sandbox: Any, currency: str, shops: int, quantity: int
) -> None:
    """Lowered to 1 or raised to 3 of the 3 (2 of them held by the buyer's own checkout): the cart
    takes it, and Pay replaces the old checkout (its units back) with one for the new quantity, as a
    changed cart always did; 4 is more than there is."""
    sellers = [active_seller(sandbox, currency=currency, shop=f"Shop {n}") for n in range(shops)]
    listing = listing_of(sellers[0], price=PRICE[currency], stock=3, title="Wave print")
    others = [listing_of(seller, price=1_000, stock=5, title="Card") for seller in sellers[1:]]
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 2), *((other, 1) for other in others))
    first = start(buyer, currency)
    assert stock(listing) == 1
    item = CartItem.objects.get(cart=cart, listing=listing)

    with pytest.raises(InvalidInput, match="Only 3 of “Wave print” left"):
        catalog_services.cart_item_set_quantity(cart=cart, item_id=item.pk, quantity=4)
    catalog_services.cart_item_set_quantity(cart=cart, item_id=item.pk, quantity=quantity)
    view = cart_view(cart=cart)
    assert all(line.ok for line in view.payments[0].lines)
    assert view.totals == {currency: quantity * PRICE[currency] + 1_000 * len(others)}

    again = start(buyer, currency)
    assert again.url != first.url
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in first.orders])} == {OrderStatus.CANCELED}
    assert [line.quantity for line in again.orders[0].lines.all()] == [quantity]
    assert stock(listing) == 3 - quantity, "the old units came back, the new ones are taken once"
    assert Order.objects.filter(buyer=buyer, status=OrderStatus.PENDING_PAYMENT).count() == shops
