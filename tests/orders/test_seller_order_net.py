"""The seller's order list and order page say what the seller keeps of each order, as its money page
does (`payouts.selectors.earnings_per_order`): refunds taken back from it count, one the platform
paid does not, and a lost dispute counts what it took. USD and JPY, against the sandbox."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.money import format_money
from orders.models import Order
from payments.models import RefundOrigin, RefundStatus
from payments.services import refund_create, refund_submit
from payouts.models import ApplicationFee
from payouts.selectors import earnings_per_order, order_net
from tests.catalog.factories import SellerFactory
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, signed_in
from tests.payments.helpers import stripe_balances
from tests.payments.test_dispute_recovery import _lose
from tests.payouts.helpers import paid_order

pytestmark = pytest.mark.django_db
NOW = "4000000000000077"  # funds available at once


def _shown(order: Order) -> tuple[str, str, str]:
    """What the seller reads it receives: its order list and order page ('You receive'), its money page
    ('Net'); the API's `seller_net` (the shop's order list and the order, to the shop) must say the
    same. Its buyer is not told (null): what the shop keeps is the shop's business."""
    client = signed_in(order.seller.user)
    by_api = {
        next(o for o in client.get("/api/v1/seller/orders").json()["items"] if o["id"] == order.pk)["seller_net"],
        client.get(f"/api/v1/orders/{order.pk}").json()["seller_net"],
    }
    assert len(by_api) == 1
    buyer = signed_in(order.buyer)
    assert buyer.get(f"/api/v1/orders/{order.pk}").json()["seller_net"] is None
    assert buyer.get("/api/v1/orders").json()["items"][0]["seller_net"] is None
    listed = client.get("/sell/orders/").content.decode()
    row = listed.split(f">Order {order.pk}</a>", 1)[1].split("</tr>", 1)[0]
    page = client.get(f"/sell/orders/{order.pk}/").content.decode()
    money = client.get("/sell/money/").content.decode()
    money_row = money.split(f">Order {order.pk}</a>", 1)[1].split("</tr>", 1)[0]
    [in_list] = re.findall(r'data-testid="seller-net">([^<]+)<', row)
    [on_page] = re.findall(r'data-testid="seller-net"><strong>([^<]+)<', page)
    [on_money] = re.findall(r'data-testid="order-net">([^<]+)<', money_row)
    assert format_money(by_api.pop(), order.currency) == on_money
    return in_list, on_page, on_money


def _refund(order: Order, amount: int, *, from_seller: bool = True) -> None:
    assert order.payment is not None
    origin = RefundOrigin.SELLER if from_seller else RefundOrigin.ADMIN
    row = refund_create(
        payment=order.payment, amount=amount, origin=origin, order_id=order.pk, reverse_transfer=from_seller
    )
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_refunds_taken_back_from_the_seller_lower_what_it_receives_to_nothing(sandbox: Any, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    sale_net = format_money(order.seller_net, currency)
    assert _shown(order) == (sale_net, sale_net, sale_net)

    _refund(order, 3_000)
    fee_back = ApplicationFee.objects.get(payment=order.payment).amount_refunded
    net = 10_000 - (order.application_fee_amount - fee_back) - 3_000
    assert stripe_balances(str(seller.stripe_account_id)) == {currency: net}
    assert _shown(order) == (format_money(net, currency),) * 3
    page = signed_in(seller.user).get(f"/sell/orders/{order.pk}/").content.decode()  # the receipt adds up
    assert f'data-testid="fee-refunded">{format_money(fee_back, currency)}<' in page
    assert f'data-testid="refunded-from-seller">{format_money(3_000, currency)}<' in page

    _refund(order, 7_000)
    assert stripe_balances(str(seller.stripe_account_id)) == {}
    assert _shown(order) == (format_money(0, currency),) * 3


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_the_platform_paid_costs_the_seller_nothing(sandbox: Any, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    _refund(order, 10_000, from_seller=False)
    assert stripe_balances(str(seller.stripe_account_id)) == {currency: order.seller_net}
    assert _shown(order) == (format_money(order.seller_net, currency),) * 3


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_counts_what_it_took_from_the_seller(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    seller, dispute, _ = _lose(sandbox, currency, django_capture_on_commit_callbacks)
    order = Order.objects.get(pk=dispute.order_id)
    [earning] = list(earnings_per_order(seller_id=seller.pk))
    assert order_net(earning) == 0 and earning.disputed == 10_000  # the whole sale went, the fee came back
    assert _shown(order) == (format_money(0, currency),) * 3


def _paid_row(seller: Any, currency: str = "usd") -> Order:
    """A paid order of 10,000 with a fee of 1,030, as a row only (no payment at Stripe)."""
    return Order.objects.create(
        buyer=UserFactory(),
        seller=seller,
        status="paid",
        currency=currency,
        amount_total=10_000,
        application_fee_amount=1_030,
        cart_fingerprint="x",
        paid_at=timezone.now(),
    )


@pytest.mark.parametrize("query", ["", "?status=to_ship"])
def test_the_seller_order_list_costs_the_same_queries_whatever_the_number_of_orders(query: str) -> None:
    """Filtered or not, with the count of each filter (one grouped query)."""
    seller = SellerFactory()
    client = signed_in(seller.user)
    _paid_row(seller)
    client.get(f"/sell/orders/{query}")  # the nav's cached counts filled
    with CaptureQueriesContext(connection) as one:
        client.get(f"/sell/orders/{query}")
    _paid_row(seller)
    _paid_row(seller)
    with CaptureQueriesContext(connection) as three:
        page = client.get(f"/sell/orders/{query}").content.decode()
    assert page.count('data-testid="seller-net">$89.70<') == 3
    assert "To ship (3)" in page
    assert len(three) == len(one)


def test_one_order_by_api_is_read_once_for_its_buyer_and_its_shop(django_assert_num_queries: Any) -> None:
    """`GET /api/v1/orders/{id}` reads the order with what it left the seller in one query, whoever asks,
    then its lines and refunds: it used to find the order first and read it again for the earnings."""
    seller = SellerFactory()
    order = _paid_row(seller, "jpy")
    for user, net in ((order.buyer, None), (seller.user, 8_970)):  # the shop's net is the shop's to read
        client = signed_in(user)
        client.get("/api/v1/orders")  # the session read once
        with django_assert_num_queries(4):  # the session with its user, the order with its earnings, lines, refunds
            shown = client.get(f"/api/v1/orders/{order.pk}").json()
        assert shown["seller_net"] == net and shown["shop_name"] == seller.shop_name
    stranger = signed_in(UserFactory())
    stranger.get("/api/v1/orders")
    with django_assert_num_queries(2):  # no order: one query says so
        assert stranger.get(f"/api/v1/orders/{order.pk}").status_code == 404
