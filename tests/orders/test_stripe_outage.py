"""Stripe unreachable: the buyer and the seller get a clear sentence, and nothing is lost.

The gateway is pointed (through settings only) at a port nobody listens on, then back at the
sandbox: the retry works as if nothing had happened.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog.models import CartItem, Listing
from orders.models import Order, OrderStatus
from sellers.models import Seller
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, cart_with, listing_of, signed_in

pytestmark = pytest.mark.django_db

# At checkout no payment page was given out, so "nothing was charged" is true; elsewhere it is not said.
CHECKOUT_UNREACHABLE = "Our payment provider could not be reached. Nothing was charged; please try again in a moment."
UNREACHABLE = "Our payment provider could not be reached; please try again in a moment."


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_checkout_during_an_outage_says_so_and_keeps_cart_and_stock(
    sandbox: Any, stripe_down: Any, currency: str
) -> None:
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=2500, stock=5)
    buyer = UserFactory()
    cart_with(buyer, (listing, 2))
    client = signed_in(buyer)
    form = {"seller_id": seller.pk, "currency": currency}

    stripe_down(True)
    response = client.post(reverse("checkout"), form)
    assert response.status_code == 302 and response["Location"] == reverse("cart")
    assert CHECKOUT_UNREACHABLE in _messages(response)
    assert Listing.objects.get(pk=listing.pk).stock == 5  # the reservation was given back
    assert CartItem.objects.get(listing=listing).quantity == 2
    assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.CANCELED]

    stripe_down(False)
    response = client.post(reverse("checkout"), form)
    assert response.status_code == 303 and response["Location"].startswith(sandbox.url)
    order = Order.objects.get(status=OrderStatus.PENDING_PAYMENT)
    assert (order.amount_total, order.currency) == (5000, currency)
    assert Listing.objects.get(pk=listing.pk).stock == 3


def test_start_selling_during_an_outage_keeps_the_shop_and_finishes_on_retry(sandbox: Any, stripe_down: Any) -> None:
    user = UserFactory()
    client = signed_in(user)
    form = {"shop_name": "Rain Check Ceramics", "country": "US", "default_currency": "usd"}

    stripe_down(True)
    response = client.post(reverse("sell_start"), form)
    assert UNREACHABLE in _messages(response)
    seller = Seller.objects.get(user=user)
    assert seller.shop_name == "Rain Check Ceramics" and seller.stripe_account_id is None

    stripe_down(False)
    response = client.post(reverse("sell_start"), form)
    assert response.status_code == 302 and response["Location"].startswith(f"{sandbox.url}/hosted/onboarding/")
    seller.refresh_from_db()
    assert seller.stripe_account_id and seller.stripe_account_id.startswith("acct_")


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_checkout_refused_by_stripe_says_why_not_that_stripe_is_unreachable(
    sandbox: Any, settings: Any, currency: str
) -> None:
    """Stripe answered (the platform's key refused): the buyer reads that nothing was charged and why,
    and the cart and stock are kept, as in an outage."""
    from marketplace.gateway import KEY_REFUSED

    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=2500, stock=5)
    buyer = UserFactory()
    cart_with(buyer, (listing, 2))
    settings.STRIPE_SECRET_KEY = "sk_live_not_this_platforms"
    response = signed_in(buyer).post(reverse("checkout"), {"seller_id": seller.pk, "currency": currency})
    assert response.status_code == 302 and response["Location"] == reverse("cart")
    assert f"{KEY_REFUSED} Nothing was charged." in _messages(response)
    assert Listing.objects.get(pk=listing.pk).stock == 5
    assert CartItem.objects.get(listing=listing).quantity == 2
