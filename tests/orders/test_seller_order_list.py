"""The seller's "Orders received": every paid order can be reached, page by page, newest first."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from payments.models import Payment
from tests.catalog.factories import SellerFactory, jpy_seller
from tests.factories import UserFactory
from tests.orders.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_every_order_received_is_on_a_page(currency: str) -> None:
    """The page listed the newest 100 and no more: a shop with more (a busy day) could not find the
    older ones, even those still waiting to be shipped."""
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    buyer = UserFactory()
    now = timezone.now()
    Order.objects.bulk_create(
        Order(
            buyer=buyer,
            seller=seller,
            status=OrderStatus.PAID,
            currency=currency,
            amount_total=1_250,
            application_fee_amount=0,
            cart_fingerprint="x",
            paid_at=now - timedelta(minutes=n),
        )
        for n in range(120)
    )
    newest_first = list(Order.objects.filter(seller=seller).order_by("-paid_at", "-id").values_list("pk", flat=True))
    client = signed_in(seller.user)

    seen: list[int] = []
    url = "/sell/orders/"
    while url:
        page = client.get(url).content.decode()
        seen += [
            int(n) for n in re.findall(r'data-testid="seller-order-row">\s*<td><a href="/sell/orders/(\d+)/"', page)
        ]
        older = re.search(r'<a href="(\?page=\d+)" rel="next">Older orders</a>', page)
        url = f"/sell/orders/{older.group(1)}" if older else ""
    assert seen == newest_first
    assert "No orders on this page." in client.get("/sell/orders/?page=999").content.decode()  # past the last
    assert client.get("/sell/orders/?page=x").status_code == 200


def test_the_api_pages_the_orders_received_too() -> None:
    """`GET /api/v1/seller/orders` answered the newest 100 and nothing could ask for the rest."""
    seller = SellerFactory()
    buyer = UserFactory()
    now = timezone.now()
    Order.objects.bulk_create(
        Order(
            buyer=buyer,
            seller=seller,
            status=OrderStatus.PAID,
            currency="usd",
            amount_total=1_250,
            application_fee_amount=0,
            cart_fingerprint="x",
            paid_at=now - timedelta(minutes=n),
        )
        for n in range(130)
    )
    newest_first = list(Order.objects.filter(seller=seller).order_by("-paid_at", "-id").values_list("pk", flat=True))
    client = signed_in(seller.user)
    first = [o["id"] for o in client.get("/api/v1/seller/orders").json()["items"]]
    second = [o["id"] for o in client.get("/api/v1/seller/orders", {"page": 2}).json()["items"]]
    assert first + second == newest_first
    assert client.get("/api/v1/seller/orders", {"page": 3}).json()["items"] == []
    assert client.get("/api/v1/seller/orders", {"page": 0}).status_code == 422


def _order(seller: Any, currency: str, status: str, *, refunded: int = 0, dispute: str = "") -> Order:
    """A row of the shop's list (no payment at Stripe), with a payment row when it carries a dispute."""
    payment = None
    if dispute:
        payment = Payment.objects.create(
            stripe_payment_intent_id=f"pi_{uuid.uuid4().hex}",
            stripe_charge_id=f"ch_{uuid.uuid4().hex}",
            currency=currency,
            amount=1_250,
            dispute_status=dispute,
            created_at=timezone.now(),
        )
    return Order.objects.create(
        buyer=UserFactory(),
        seller=seller,
        status=status,
        currency=currency,
        amount_total=1_250,
        amount_refunded=refunded,
        application_fee_amount=0,
        cart_fingerprint="x",
        paid_at=timezone.now(),
        payment=payment,
    )


def _listed(client: Any, query: str) -> list[int]:
    page = client.get(f"/sell/orders/{query}").content.decode()
    return sorted(int(n) for n in re.findall(r'seller-order-row">\s*<td><a href="/sell/orders/(\d+)/"', page))


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_each_status_filter_shows_its_orders_with_its_count(currency: str) -> None:
    """A seller looking for what to ship read every order of the shop, page by page."""
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    to_ship = _order(seller, currency, OrderStatus.PAID)
    part = _order(seller, currency, OrderStatus.PAID, refunded=250)  # still to ship, partly refunded
    shipped = _order(seller, currency, OrderStatus.FULFILLED)
    completed = _order(seller, currency, OrderStatus.COMPLETED)
    refunded = _order(seller, currency, OrderStatus.REFUNDED, refunded=1_250)
    disputed = _order(seller, currency, OrderStatus.FULFILLED, dispute="needs_response")
    _order(SellerFactory(), currency, OrderStatus.PAID)  # another shop's
    client = signed_in(seller.user)

    everything = sorted(o.pk for o in (to_ship, part, shipped, completed, refunded, disputed))
    assert _listed(client, "") == everything
    assert _listed(client, "?status=to_ship") == [to_ship.pk, part.pk]
    assert _listed(client, "?status=shipped") == [shipped.pk, disputed.pk]
    assert _listed(client, "?status=completed") == [completed.pk]
    assert _listed(client, "?status=refunded") == [part.pk, refunded.pk]
    assert _listed(client, "?status=disputed") == [disputed.pk]
    assert _listed(client, "?status=nonsense") == everything  # ignored, as the console's filters do
    page = client.get("/sell/orders/?status=to_ship").content.decode()
    assert '<option value="to_ship" selected>To ship (2)</option>' in page
    for option in ('"">All (6)', '"shipped">Shipped (2)', '"refunded">Refunded / partly refunded (2)'):
        assert f"<option value={option}</option>" in page


def test_an_empty_filter_says_so() -> None:
    seller = SellerFactory()
    _order(seller, "usd", OrderStatus.FULFILLED)
    client = signed_in(seller.user)
    assert "No orders to ship." in client.get("/sell/orders/?status=to_ship").content.decode()
    assert "No disputed orders." in client.get("/sell/orders/?status=disputed").content.decode()
    assert "No orders on this page." in client.get("/sell/orders/?status=shipped&page=2").content.decode()


def test_the_pages_of_a_filter_keep_it() -> None:
    seller = SellerFactory()
    now = timezone.now()
    Order.objects.bulk_create(
        Order(
            buyer=UserFactory(),
            seller=seller,
            status=OrderStatus.PAID if n % 2 else OrderStatus.FULFILLED,
            currency="usd",
            amount_total=1_250,
            application_fee_amount=0,
            cart_fingerprint="x",
            paid_at=now - timedelta(minutes=n),
        )
        for n in range(120)
    )
    expected = list(
        Order.objects.filter(seller=seller, status=OrderStatus.PAID)
        .order_by("-paid_at", "-id")
        .values_list("pk", flat=True)
    )
    client = signed_in(seller.user)
    seen: list[int] = []
    url = "/sell/orders/?status=to_ship"
    while url:
        page = client.get(url).content.decode()
        seen += [int(n) for n in re.findall(r'seller-order-row">\s*<td><a href="/sell/orders/(\d+)/"', page)]
        older = re.search(r'<a href="(\?status=to_ship&amp;page=\d+)" rel="next">Older orders</a>', page)
        url = f"/sell/orders/{older.group(1).replace('&amp;', '&')}" if older else ""
    assert seen == expected
    assert (
        'href="?status=to_ship&amp;page=1" rel="prev"'
        in client.get("/sell/orders/?status=to_ship&page=2").content.decode()
    )
