"""The cart: per session, follows the buyer at login, checks stock, groups by seller, totals per currency."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Cart, CartItem
from catalog.services import listing_unpublish
from orders.models import Order
from tests.catalog.factories import ListingFactory, SellerFactory, jpy_seller
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def add(client: Client, listing: Any, quantity: int = 1) -> Any:
    """Add to cart from a new visit of the listing's page (its form's token)."""
    form = {"listing": listing.pk, "quantity": quantity, "attempt": uuid.uuid4().hex}
    return client.post(reverse("cart_add"), form, follow=True)


def test_an_anonymous_visitor_fills_a_cart_kept_in_the_session(client: Client) -> None:
    mug = ListingFactory(title="Blue mug", price=1250, stock=5)
    response = add(client, mug, 2)
    page = response.content.decode()
    assert "Added to your cart: Blue mug (now 2)" in page
    assert "$25.00" in page
    add(client, mug, 1)
    assert CartItem.objects.get().quantity == 3
    # Another browser has its own (empty) cart.
    assert "Your cart is empty" in Client().get(reverse("cart")).content.decode()


def test_quantities_are_checked_against_stock(client: Client) -> None:
    mug = ListingFactory(title="Blue mug", stock=2)
    page = add(client, mug, 3).content.decode()
    assert "Only 2 of “Blue mug” left" in page
    add(client, mug, 2)
    page = add(client, mug, 1).content.decode()
    assert "Only 2 of “Blue mug” left" in page
    assert CartItem.objects.get().quantity == 2
    item = CartItem.objects.get()
    page = client.post(reverse("cart_item_update", args=[item.pk]), {"quantity": 5}, follow=True).content.decode()
    assert "Only 2 of" in page
    sold_out = ListingFactory(title="Rare vase", stock=0)
    assert "out of stock" in add(client, sold_out).content.decode()


def test_cart_groups_items_by_seller_with_totals_per_currency_and_says_each_currency_is_paid_separately(
    client: Client,
) -> None:
    usd_shop = SellerFactory(shop_name="Kiln & Co")
    jpy_shop = jpy_seller(shop_name="Tokyo Tea")
    add(client, ListingFactory(seller=usd_shop, title="Blue mug", price=1250), 2)
    add(client, ListingFactory(seller=usd_shop, title="Saucer", price=499), 1)
    add(client, ListingFactory(seller=jpy_shop, title="Tea bowl", price=3000), 2)
    page = client.get(reverse("cart")).content.decode()
    assert page.count('data-testid="cart-group"') == 2
    assert "so you pay 2 times: once per currency (USD, JPY)" in page
    assert '<li data-testid="total-usd">USD: <strong>$29.99</strong></li>' in page
    assert '<li data-testid="total-jpy">JPY: <strong>¥6,000</strong></li>' in page
    assert "Amounts in different currencies are not added together." in page
    # One payment per currency; a currency with one shop posts that seller and currency.
    assert page.count('data-testid="pay-button"') == 2
    assert page.count(f'action="{reverse("checkout")}"') == 2
    assert f'name="seller_id" value="{jpy_shop.pk}"' in page and 'name="currency" value="jpy"' in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_cart_in_one_currency_does_not_speak_of_currencies_apart(client: Client, currency: str) -> None:
    shop = jpy_seller(shop_name="Tokyo Tea") if currency == "jpy" else SellerFactory(shop_name="Kiln & Co")
    add(client, ListingFactory(seller=shop, title="Tea bowl", price=3000), 2)
    page = client.get(reverse("cart")).content.decode()
    assert f'data-testid="total-{currency}"' in page
    assert "not added together" not in page


def test_a_line_that_can_no_longer_be_bought_is_flagged_and_left_out_of_the_total(client: Client) -> None:
    mug = ListingFactory(title="Blue mug", price=1000, stock=5)
    vase = ListingFactory(seller=mug.seller, title="Vase", price=2000, stock=5)
    add(client, mug, 1)
    add(client, vase, 3)
    listing_unpublish(listing=mug)
    vase.stock = 1
    vase.save()
    page = client.get(reverse("cart")).content.decode()
    assert "Not for sale now: remove it to pay for the rest." in page
    assert "Only 1 left: lower the quantity." in page
    # Nothing is paid while a line needs fixing: the shop's Pay button is disabled and says why.
    assert 'data-testid="pay-button"' not in page
    assert "Fix the items marked above to pay this shop." in page


@pytest.mark.parametrize("listing_id", ["-1", "0", "-99999999999999999999"])
def test_adding_an_impossible_listing_id_is_a_404_page_not_a_500(client: Client, listing_id: str) -> None:
    """A hand-made form with an id no listing can have gets the site's "No such listing", as a word
    does (it was sent back to a listing URL that cannot be built: a 500)."""
    client.raise_request_exception = False
    response = client.post(reverse("cart_add"), {"listing": listing_id, "quantity": "1"})
    assert response.status_code == 404
    assert "No such listing." in response.content.decode()


def test_remove_an_item(client: Client) -> None:
    add(client, ListingFactory(title="Blue mug"))
    item = CartItem.objects.get()
    page = client.post(reverse("cart_item_remove", args=[item.pk]), follow=True).content.decode()
    assert "Your cart is empty" in page
    # Someone else's item id is not found in my cart.
    other = Client()
    add(other, ListingFactory())
    foreign = CartItem.objects.get()
    client.post(reverse("cart_item_remove", args=[foreign.pk]))
    assert CartItem.objects.filter(pk=foreign.pk).exists()


def test_the_cart_follows_the_buyer_when_they_log_in_and_merges_with_their_saved_cart(client: Client) -> None:
    buyer = UserFactory(email="ada@example.com")
    mug = ListingFactory(title="Blue mug", stock=3)
    bowl = ListingFactory(title="Tea bowl", stock=10)
    # Earlier, signed in on another device: 2 mugs saved in the buyer's cart.
    saved = Cart.objects.create(user=buyer)
    CartItem.objects.create(cart=saved, listing=mug, quantity=2)
    # Now anonymous: 2 more mugs (only 3 exist) and a bowl.
    add(client, mug, 2)
    add(client, bowl, 1)
    response = client.post(reverse("account_login"), {"login": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert Cart.objects.count() == 1
    items = {item.listing.title: item.quantity for item in Cart.objects.get(user=buyer).items.all()}
    assert items == {"Blue mug": 3, "Tea bowl": 1}
    page = client.get(reverse("cart")).content.decode()
    assert "Tea bowl" in page and "Blue mug" in page


def test_a_cart_taken_at_sign_in_is_not_reopened_by_its_first_form_after_signing_out(client: Client) -> None:
    """A visitor's cart is opened by its first Add to cart form (`cart_get_or_create`'s `opening_add`,
    which a double click's two posts share). Once the buyer signs in and the cart is theirs, that
    form sent again signed out (Back, press again) opens a new visitor's cart: it never lands in, or
    points the session at, the buyer's cart."""
    buyer = UserFactory(email="ada@example.com")
    mug = ListingFactory(title="Blue mug", stock=5)
    form = {"listing": mug.pk, "quantity": 1, "attempt": uuid.uuid4().hex}
    client.post(reverse("cart_add"), form)
    client.post(reverse("account_login"), {"login": "ada@example.com", "password": PASSWORD})
    assert Cart.objects.get().user == buyer
    client.post(reverse("account_logout"))

    page = client.post(reverse("cart_add"), form, follow=True).content.decode()
    assert "Added to your cart: Blue mug (now 1)." in page and "Pressed twice" not in page
    assert [(c.user, [i.quantity for i in c.items.all()]) for c in Cart.objects.order_by("pk")] == [
        (buyer, [1]),
        (None, [1]),
    ]


def test_a_seller_cannot_buy_from_its_own_shop(client: Client) -> None:
    """Subscriptions refuse it, and so do the cart and checkout: the shop's owner adding its own item
    is told why, and one brought in by an anonymous cart at login blocks the payment with a sentence."""
    seller = SellerFactory()
    own = ListingFactory(seller=seller, title="Own mug", stock=3)
    assert client.login(email=seller.user.email, password=PASSWORD)
    page = add(client, own).content.decode()
    assert "This is your own shop&#x27;s listing: you cannot buy it." in page
    assert not CartItem.objects.exists()

    client.logout()
    add(client, own)
    client.post(reverse("account_login"), {"login": seller.user.email, "password": PASSWORD})
    page = client.get(reverse("cart")).content.decode()
    assert "This is your own shop&#x27;s listing: remove it to pay for the rest." in page
    response = client.post(reverse("checkout"), {"currency": "usd"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("cart")
    assert "“Own mug”: This is your own shop&#x27;s listing" in response.content.decode()
    assert not Order.objects.exists()


def test_an_anonymous_cart_becomes_the_users_cart_at_login(client: Client) -> None:
    buyer = UserFactory(email="bo@example.com")
    add(client, ListingFactory(title="Blue mug"), 1)
    client.post(reverse("account_login"), {"login": "bo@example.com", "password": PASSWORD})
    assert Cart.objects.get().user == buyer
    client.post(reverse("account_logout"))
    assert "Your cart is empty" in client.get(reverse("cart")).content.decode()


def test_cart_page_query_count_does_not_grow_with_items(client: Client, django_assert_max_num_queries: Any) -> None:
    seller = SellerFactory()
    for listing in ListingFactory.create_batch(3, seller=seller):
        add(client, listing)
    with django_assert_max_num_queries(4) as few:
        client.get(reverse("cart"))
    for listing in ListingFactory.create_batch(20):
        add(client, listing)
    with django_assert_max_num_queries(4) as many:
        page = client.get(reverse("cart")).content.decode()
    assert page.count('data-testid="cart-line"') == 23
    assert len(few.captured_queries) == len(many.captured_queries)


def test_a_signed_in_cart_page_reads_the_cart_with_the_session(client: Client, django_assert_num_queries: Any) -> None:
    """The cart's id comes with the session and the user (marketplace/sessions.py): the page costs the
    session and the cart's lines, whatever the number of items, and every change shows at once: the
    first item (the cart made in that request), a cart filled elsewhere, sign-out."""
    buyer = UserFactory()
    assert client.login(email=buyer.email, password=PASSWORD)
    with django_assert_num_queries(1):  # no cart yet: known from the session's statement
        assert "Your cart is empty" in client.get(reverse("cart")).content.decode()
    first, second = ListingFactory(title="Blue mug"), ListingFactory(title="Linen towel")
    page = add(client, first).content.decode()  # makes the cart, then shows it (the redirect: a new request)
    assert "Added to your cart: Blue mug (now 1)" in page and page.count('data-testid="cart-line"') == 1
    CartItem.objects.create(cart=Cart.objects.get(user=buyer), listing=second, quantity=2)  # another tab, the API
    with django_assert_num_queries(2):  # the session with the cart's id, the cart's lines
        page = client.get(reverse("cart")).content.decode()
    assert "Linen towel" in page and page.count('data-testid="cart-line"') == 2
    client.post(reverse("account_logout"))
    assert "Your cart is empty" in client.get(reverse("cart")).content.decode()


def test_a_cart_made_for_a_signed_in_buyer_elsewhere_shows_on_the_next_page(client: Client) -> None:
    buyer = UserFactory()
    assert client.login(email=buyer.email, password=PASSWORD)
    assert "Your cart is empty" in client.get(reverse("cart")).content.decode()
    cart = Cart.objects.create(user=buyer)  # e.g. through the API, in another request
    CartItem.objects.create(cart=cart, listing=ListingFactory(title="Blue mug"), quantity=1)
    assert "Blue mug" in client.get(reverse("cart")).content.decode()
