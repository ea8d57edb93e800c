"""Two "Start selling" submits at the same instant (a double click) still make one Stripe account;
two shops named alike at the same instant make one shop, the other refused saying why."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from marketplace import gateway
from marketplace.errors import InvalidInput
from sellers.models import SHOP_NAME_LOOKALIKE, SHOP_NAME_TAKEN, Seller
from sellers.services import seller_create
from tests.factories import UserFactory
from tests.orders.conftest import wait_until

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


@pytest.mark.parametrize(  # "kit" and KIT in Cyrillic capitals; "Kit" and "KIT", one name read alike
    ("first", "second", "code"),
    [("kit", "\u041a\u0406\u0422", "shop_name_lookalike"), ("Kit", "KIT", "shop_name_taken")],
)
def test_a_name_like_one_being_saved_at_the_same_moment_is_refused_with_its_own_sentence(
    first: str, second: str, code: str
) -> None:
    """The second shop's checks ran before the first committed, so only the database's unique keys
    stop it (its insert waits on the first's row, then fails): it is refused with the sentence that
    says why, the lookalike one for a name drawn alike, not "already has this name"."""
    saving, done = threading.Event(), threading.Event()
    first_user, second_user = UserFactory(), UserFactory()

    def save_first() -> None:
        with transaction.atomic():
            Seller.objects.create(user=first_user, shop_name=first, country="US", default_currency="usd")
            saving.set()
            done.wait(30)  # committed once the second waits on its row
        connection.close()

    thread = threading.Thread(target=save_first)
    thread.start()
    assert saving.wait(30)
    refused: list[InvalidInput] = []

    def save_second() -> None:
        try:
            seller_create(user=second_user, shop_name=second, country="US", default_currency="usd")
        except InvalidInput as exc:
            refused.append(exc)
        finally:
            connection.close()

    other = threading.Thread(target=save_second)
    other.start()

    def second_waits_on_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(cursor.fetchone()[0])

    assert wait_until(second_waits_on_a_lock)
    done.set()
    thread.join(30)
    other.join(30)
    assert [exc.code for exc in refused] == [code]
    assert refused[0].message == (SHOP_NAME_LOOKALIKE if code == "shop_name_lookalike" else SHOP_NAME_TAKEN)
    assert list(Seller.objects.values_list("shop_name", flat=True)) == [first]
