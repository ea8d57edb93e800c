"""The seller's "Orders received": every paid order can be reached, page by page, newest first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
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
    first = [o["id"] for o in client.get("/api/v1/seller/orders").json()]
    second = [o["id"] for o in client.get("/api/v1/seller/orders", {"page": 2}).json()]
    assert first + second == newest_first
    assert client.get("/api/v1/seller/orders", {"page": 3}).json() == []
    assert client.get("/api/v1/seller/orders", {"page": 0}).status_code == 422
