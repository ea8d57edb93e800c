from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from orders.models import Order, OrderStatus
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of

pytestmark = pytest.mark.django_db


def test_seed_demo_orders_pays_one_usd_and_one_jpy_order_through_the_sandbox_once(sandbox: Any) -> None:
    UserFactory(email="buyer@marketplace.test")
    listing_of(active_seller(sandbox, currency="usd", shop="Brooklyn Ceramics"), price=3_200)
    listing_of(active_seller(sandbox, currency="jpy", shop="Hokusai Prints"), price=4_800)
    out = StringIO()
    call_command("seed_demo_orders", stdout=out)
    call_command("seed_demo_orders", stdout=out)  # idempotent
    orders = Order.objects.order_by("currency")
    assert [(o.currency, o.status, o.amount_total) for o in orders] == [
        ("jpy", OrderStatus.PAID, 4_800),
        ("usd", OrderStatus.PAID, 3_200),
    ]
    assert all(o.payment and o.payment.transfers.get().stripe_id for o in orders)
    assert "already has a paid demo order" in out.getvalue()
