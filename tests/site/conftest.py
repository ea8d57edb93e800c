"""A small marketplace for the tests that sweep every page and operation, with someone in every role.

The seller is onboarded on the sandbox (its Stripe account can take charges), so a checkout sent by
these tests really reaches Stripe's API; the buyer has paid one order of that seller and has its listing in the cart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from catalog.models import Listing, ListingStatus
from catalog.services import listing_image_add
from fees.services import fee_rule_set
from marketplace.webhooks.models import WebhookEvent
from orders import services as order_services
from orders.models import Order
from sellers.models import Seller
from tests.catalog.factories import ListingFactory, png_upload
from tests.factories import PASSWORD, UserFactory, make_platform_admin
from tests.orders.conftest import DEFAULT_FEES, URLS, active_seller, cart_with, pay

CSRF_TOKEN = "fuzzcsrf" * 4  # any 32 letters: the cookie and the header only have to agree
ROLES = ("anonymous", "buyer", "seller", "admin")


@dataclass
class World:
    users: dict[str, Any]
    seller: Seller
    listing: Listing
    draft: Listing
    order: Order
    event: WebhookEvent

    def client(self, role: str) -> Client:
        """A Django test client signed in as `role` (not signed in for "anonymous")."""
        client = Client()
        self.sign_in(client, role)
        return client

    def sign_in(self, client: Client, role: str) -> None:
        """Through allauth's login and reauthentication forms, as a person does, so that the pages
        asking for a recent password (email, password, two-factor settings) show their forms."""
        user = self.users.get(role)
        if user is None:
            return
        for url, data in (
            ("/accounts/login/", {"login": user.email, "password": PASSWORD}),
            ("/accounts/reauthenticate/", {"password": PASSWORD}),
        ):
            response = client.post(url, data)
            assert response.status_code == 302, f"{role} could not sign in at {url} ({response.status_code})"

    def cookies(self, role: str) -> dict[str, str]:
        """Cookies that make a request come from `role`; the CSRF token is also to be sent as X-CSRFToken."""
        cookies = {"csrftoken": CSRF_TOKEN}
        if self.users.get(role) is not None:
            cookies["sessionid"] = self.client(role).cookies["sessionid"].value
        return cookies


@pytest.fixture
def world(sandbox: Any, transactional_db: Any, settings: Any) -> World:
    # A transactional test's flush removes the rows migrations made: put back the ones used here.
    Group.objects.get_or_create(name=settings.PLATFORM_ADMINS_GROUP)
    for currency, (bps, fixed) in DEFAULT_FEES.items():
        fee_rule_set(currency=currency, basis_points=bps, fixed_amount=fixed)
    seller = active_seller(sandbox, shop="Fuzz Ceramics")
    listing = ListingFactory(seller=seller, title="Blue mug", price=1250, stock=50)
    listing_image_add(listing=listing, upload=png_upload())
    draft = ListingFactory(seller=seller, title="Draft bowl", status=ListingStatus.DRAFT, published_at=None)
    ListingFactory(title="Someone else's vase")
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))
    started = order_services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS)
    pay(sandbox, str(started.order.checkout_session_id))
    order = order_services.order_sync_from_stripe(order=started.order)
    assert order.is_paid  # so the seller sees the form to ship it
    cart_with(buyer, (listing, 2))  # paying emptied the cart; the buyer keeps shopping
    event = WebhookEvent.objects.create(
        id="evt_fuzz_1",
        type="account.updated",
        source="connect",
        account=seller.stripe_account_id,
        created=int(timezone.now().timestamp()),
        payload={"id": "evt_fuzz_1", "type": "account.updated", "data": {"object": {}}},
        status=WebhookEvent.Status.PROCESSED,
    )
    users = {"anonymous": None, "buyer": buyer, "seller": seller.user, "admin": make_platform_admin()}
    return World(users=users, seller=seller, listing=listing, draft=draft, order=order, event=event)
