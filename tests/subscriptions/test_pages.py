"""The subscription pages: what each shows (status, next payment, amount; subscribers and monthly
recurring revenue per currency, a yearly subscription counting a twelfth), and a fixed number of
queries however many subscriptions there are."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.catalog.factories import ListingFactory, SellerFactory
from tests.factories import UserFactory
from tests.orders.conftest import signed_in
from tests.subscriptions.factories import END, subscription

pytestmark = pytest.mark.django_db


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_your_subscriptions_shows_status_next_payment_and_amount() -> None:
    buyer = UserFactory()
    box = ListingFactory(title="Coffee box", price=1_999)
    client = signed_in(buyer)
    subscription(buyer, box)
    one = queries(client, "/account/subscriptions/")
    subscription(buyer, ListingFactory(title="Tea tin", price=900), cancel_at_period_end=True)
    subscription(buyer, ListingFactory(title="Mug club", price=500), status="past_due")
    subscription(buyer, ListingFactory(title="Old box", price=500), status="canceled", ended_at=END)
    assert queries(client, "/account/subscriptions/") == one
    page = client.get("/account/subscriptions/").content.decode()
    assert "$19.99 on 4 Mar 2031" in page and "None: ends on 4 Mar 2031" in page
    assert "Payment overdue" in page and "None (ended 4 Mar 2031)" in page and "Manage billing" in page


def test_subscribers_and_mrr_per_currency() -> None:
    seller = SellerFactory()
    usd = ListingFactory(seller=seller, title="Coffee box", price=2_000)
    jpy = ListingFactory(seller=seller, title="Tea", price=12_000, currency="jpy")
    client = signed_in(seller.user)
    subscription(UserFactory(), usd)
    client.get("/sell/subscriptions/")  # the nav's refund-request count is cached from now on
    one = queries(client, "/sell/subscriptions/")
    subscription(UserFactory(), usd, status="past_due")
    subscription(UserFactory(), usd, status="canceled", ended_for_nonpayment=True)
    subscription(UserFactory(), jpy, interval="year")
    assert queries(client, "/sell/subscriptions/") == one
    page = client.get("/sell/subscriptions/").content.decode()
    assert 'data-testid="mrr-usd">$40.00 per month' in page  # active + past due
    assert 'data-testid="mrr-jpy">¥1,000 per month' in page  # a twelfth of ¥12,000 a year
    assert "(payments failed)" in page
    other = signed_in(SellerFactory().user).get("/sell/subscriptions/").content.decode()
    assert "Coffee box" not in other and 'data-testid="mrr-none"' in other
