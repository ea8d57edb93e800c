"""A buyer with more than 100 saved PaymentMethods (Stripe saves the card again on every Checkout and
every subscription started): Stripe lists at most 100 per request, and the cards page read one
page only, so the buyer's oldest cards were silently missing (and could not be made the default).
The gateway reads every page (`has_more`, `starting_after`), as the sandbox answers like Stripe."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.gateway import cards as gateway_cards
from orders.services import saved_cards
from orders.services.checkout import buyer_customer_ensure
from tests.factories import UserFactory
from tests.orders.conftest import signed_in
from tests.orders.test_saved_cards import saved_card
from tests.sandbox.helpers import client_for
from tests.stripe_requests import stripe_requests

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sandbox_pages_a_customers_cards_as_stripe_does(sandbox: Any) -> None:
    """What the gateway's paging relies on: 100 at most per page, `has_more`, and `starting_after`
    continuing after the last one, newest first, with nothing given twice."""
    buyer = UserFactory()
    made = [saved_card(sandbox, buyer, "pm_card_visa") for _ in range(103)]
    customer = buyer_customer_ensure(user=buyer)
    stripe = client_for(sandbox)
    first = stripe.v1.customers.payment_methods.list(customer, {"type": "card", "limit": 100})
    assert len(first.data) == 100 and first.has_more
    rest = stripe.v1.customers.payment_methods.list(
        customer, {"type": "card", "limit": 100, "starting_after": first.data[-1].id}
    )
    assert len(rest.data) == 3 and not rest.has_more
    assert [pm.id for pm in [*first.data, *rest.data]] == made[::-1]


def test_a_buyer_with_101_saved_payment_methods_sees_the_oldest_card_too(sandbox: Any, monkeypatch: Any) -> None:
    buyer = UserFactory()
    oldest = saved_card(sandbox, buyer, "pm_card_mastercard")  # saved first: the 101st, newest first
    for _ in range(100):
        saved_card(sandbox, buyer, "pm_card_visa")
    customer = buyer_customer_ensure(user=buyer)

    with stripe_requests(monkeypatch) as calls:
        methods = gateway_cards.payment_methods_list(customer=customer)
    assert len(methods) == 101 and methods[-1].id == oldest
    assert [path for _, path in calls] == [f"/v1/customers/{customer}/payment_methods"] * 2  # two pages

    cards = saved_cards.saved_cards_for(user=buyer)
    assert sorted(card.label for card in cards) == ["Mastercard ending 4444", "Visa ending 4242"]


def test_the_cards_page_lists_the_101st_card_in_as_many_queries_as_for_one(sandbox: Any) -> None:
    few, many = UserFactory(), UserFactory()
    saved_card(sandbox, few, "pm_card_mastercard")
    saved_card(sandbox, many, "pm_card_mastercard")
    for _ in range(100):
        saved_card(sandbox, many, "pm_card_visa")
    counts = []
    for buyer in (few, many):
        client = signed_in(buyer)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/account/cards/").content.decode()
        counts.append(len(queries))
        assert "Mastercard ending 4444" in page
    assert "Visa ending 4242" in page
    assert counts[0] == counts[1], counts
