"""Two "Start selling" submits at the same instant (a double click) still make one Stripe account."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from marketplace import gateway
from sellers.models import Seller
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_double_submit_makes_one_seller_and_one_account(sandbox: Any) -> None:
    user = UserFactory()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def submit() -> None:
        client = Client()
        client.force_login(user)
        barrier.wait()
        response = client.post("/sell/start/", {"shop_name": "Twice", "country": "US", "default_currency": "usd"})
        results.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert results == [302, 302]
    assert Seller.objects.count() == 1
    accounts = gateway.client().v1.accounts.list().data
    assert [a.id for a in accounts] == [Seller.objects.get().stripe_account_id]
