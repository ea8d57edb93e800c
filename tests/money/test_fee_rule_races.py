"""Two admins (or one double click) saving the same new fee rule at once, on real Postgres."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from fees.models import FeeRule
from fees.services import fee_rule_set
from tests.catalog.factories import SellerFactory, jpy_seller

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.parametrize(
    ("currency", "first", "second"), [("usd", (1000, 30), (800, 25)), ("jpy", (1000, 0), (800, 50))]
)
def test_the_same_new_rule_saved_twice_at_once_is_one_rule_with_the_last_values(
    currency: str, first: tuple[int, int], second: tuple[int, int]
) -> None:
    seller = jpy_seller() if currency == "jpy" else SellerFactory()  # a shop's rules are in its currency
    inserted, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first_save() -> None:
        try:
            with transaction.atomic():  # the first save, not committed until the second is waiting on it
                fee_rule_set(currency=currency, basis_points=first[0], fixed_amount=first[1], seller=seller)
                inserted.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def second_save() -> None:
        try:
            outcome["rule"] = fee_rule_set(
                currency=currency, basis_points=second[0], fixed_amount=second[1], seller=seller
            )
        except Exception as exc:  # noqa: BLE001 - what the admin would have seen as a 500
            outcome["error"] = exc
        finally:
            connection.close()

    one = threading.Thread(target=first_save)
    one.start()
    assert inserted.wait(timeout=30)
    two = threading.Thread(target=second_save)
    two.start()
    while not _waiting_on_a_lock() and two.is_alive():
        two.join(timeout=0.01)
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    rule = FeeRule.objects.get(currency=currency, seller=seller, category=None)
    assert (rule.basis_points, rule.fixed_amount) == second
