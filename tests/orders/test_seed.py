from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from orders.models import Order, OrderStatus
from payouts.models import Transfer
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of
from tests.payments.helpers import assert_ledger_equals_stripe

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


def test_seed_demo_orders_pays_two_usd_shops_at_once_once(sandbox: Any) -> None:
    """The demo's payment for several shops: one charge, one order and one transfer per shop, in the
    payment's transfer group; run again, it is not made twice. The ledger equals Stripe."""
    UserFactory(email="buyer@marketplace.test")
    shops = [active_seller(sandbox, currency="usd", shop=name) for name in ("Brooklyn Ceramics", "Portland Linen")]
    for shop, price in zip(shops, (3_200, 2_450), strict=True):
        listing_of(shop, price=price)
    out = StringIO()
    call_command("seed_demo_orders", stdout=out)
    call_command("seed_demo_orders", stdout=out)
    group_orders = list(Order.objects.filter(checkout_group__isnull=False).order_by("pk"))
    assert [(o.seller.shop_name, o.status) for o in group_orders] == [
        ("Brooklyn Ceramics", OrderStatus.PAID),
        ("Portland Linen", OrderStatus.PAID),
    ]
    payment = group_orders[0].payment
    assert payment is not None and {o.payment_id for o in group_orders} == {payment.pk}
    transfers = {t.destination: t.amount for t in Transfer.objects.filter(payment=payment)}
    assert transfers == {str(o.seller.stripe_account_id): o.seller_net for o in group_orders}
    assert sum(transfers.values()) + sum(o.application_fee_amount for o in group_orders) == payment.amount
    assert "payment for several shops: already made" in out.getvalue()
    assert_ledger_equals_stripe()


def test_seed_demo_orders_buy_each_shops_first_listing_not_the_last_sold_by_subscription(sandbox: Any) -> None:
    """`seed_demo_subscriptions` sells each demo shop's last listing by subscription, and its docstring says
    the orders buy the first; they bought the newest, that same last one, so the demo buyer had bought once
    the "Waxed canvas bike bag" it also subscribes to yearly. Each order, the single ones (USD and JPY) and
    the payment for two shops, buys its shop's first listing."""
    UserFactory(email="buyer@marketplace.test")
    first, last = {}, {}
    for currency, shop in (("usd", "Brooklyn Ceramics"), ("jpy", "Hokusai Prints"), ("usd", "Portland Linen")):
        seller = active_seller(sandbox, currency=currency, shop=shop)
        first[seller.pk] = listing_of(seller, price=3_200, title="Bought once").pk
        last[seller.pk] = listing_of(seller, price=7_900, title="Sold by subscription").pk
    call_command("seed_demo_orders", stdout=StringIO())

    bought = [(o.seller_id, line.listing_id) for o in Order.objects.all() for line in o.lines.all()]
    assert len(bought) == 4  # two single orders, two in the payment for several shops
    assert all(listing == first[seller] for seller, listing in bought), bought
    assert_ledger_equals_stripe()
