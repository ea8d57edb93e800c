"""In Chromium, against the sandbox's hosted Checkout and its signed webhooks: a buyer fills a cart
from three shops (USD), pays once with 4242 and sees three orders paid; each seller sees its order
and its net; at Stripe, one charge and three transfers in one transfer group, each seller's
balance to the cent; the ledger equals Stripe.

Fees: the platform default, 10 % + 30 cents per order. $60.00 -> $6.30, $25.00 -> $2.80,
$19.99 -> $2.30 (1.999 rounded half up, + 0.30); the sellers get $53.70, $22.20 and $17.69."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from orders.models import Order, OrderStatus
from payouts.models import Transfer
from tests.e2e.browser import log_in
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of, wait_until
from tests.orders.test_e2e_checkout import add_to_cart, log_out, pay_on_hosted_page
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.sandbox.helpers import client_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOPS = [("Kiln and Co", "Speckled mug", 6_000, "$53.70"), ("Tea House", "Tea cup", 2_500, "$22.20")]
SHOPS += [("Paper Mill", "Notebook", 1_999, "$17.69")]


def test_a_cart_from_three_shops_is_paid_once_and_each_seller_gets_its_transfer(
    live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None
) -> None:
    base = live_server.url
    sellers = [active_seller(sandbox_webhooks, shop=shop) for shop, *_ in SHOPS]
    listings = [
        listing_of(seller, price=price, stock=5, title=title)
        for seller, (_, title, price, _net) in zip(sellers, SHOPS, strict=True)
    ]
    buyer = UserFactory()

    log_in(page, base, buyer.email)
    for listing in listings:
        add_to_cart(page, base, listing.pk)
    page.goto(base + "/cart/")
    expect(page.get_by_test_id("per-seller-note")).to_contain_text("You pay for them all at once, in one payment")
    page.goto(base + "/checkout/")
    expect(page.get_by_test_id("checkout-group")).to_have_count(3)
    expect(page.get_by_test_id("pay-button")).to_have_count(1)
    page.get_by_role("button", name="Pay $104.99 to 3 shops at once").click()
    pay_on_hosted_page(page, "4242424242424242")

    expect(page.get_by_text("Thank you! Your payment went through: one order per shop below.")).to_be_visible()
    rows = page.get_by_test_id("order-row")
    expect(rows).to_have_count(3)
    for shop, *_rest in SHOPS:
        expect(rows.filter(has_text=shop)).to_contain_text("Paid")
    assert wait_until(lambda: Transfer.objects.count() == 3, timeout=30)
    assert sandbox_webhooks.wait_for_webhooks(30)
    orders = list(Order.objects.filter(buyer=buyer).order_by("pk"))
    assert [o.status for o in orders] == [OrderStatus.PAID] * 3
    group = orders[0].checkout_group
    assert group is not None and {o.checkout_group_id for o in orders} == {group.pk}

    # At Stripe: three transfers in the group's transfer group, from the one charge.
    stripe = client_for(sandbox_webhooks, settings.STRIPE_SECRET_KEY)
    transfers = stripe.v1.transfers.list(params={"transfer_group": group.transfer_group}).data
    charge = {t.source_transaction for t in transfers}
    assert len(transfers) == 3 and len(charge) == 1
    assert sorted((t.destination, t.amount) for t in transfers) == sorted(
        (s.stripe_account_id, o.seller_net) for s, o in zip(sellers, orders, strict=True)
    )
    for seller, order in zip(sellers, orders, strict=True):
        assert stripe_balances(str(seller.stripe_account_id)) == {"usd": order.seller_net}
    assert [o.seller_net for o in orders] == [5_370, 2_220, 1_769]
    assert_ledger_equals_stripe()

    for seller, (_shop, title, _price, net) in zip(sellers, SHOPS, strict=True):
        log_out(page)
        log_in(page, base, seller.user.email)
        page.get_by_role("link", name="Orders received", exact=True).click()
        row = page.get_by_test_id("seller-order-row")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("seller-net")).to_have_text(net)
        row.get_by_role("link", name=f"Order {Order.objects.get(seller=seller).pk}").click()
        expect(page.get_by_text(title).first).to_be_visible()
