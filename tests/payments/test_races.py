"""The success page and the money webhooks at the same moment, each in its own thread and database
connection on real Postgres: one payment, each posting once, no deadlock, and the ledger still
equals Stripe."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.ledger.models import LedgerTransaction
from orders import services
from orders.models import OrderStatus
from payments.models import Payment
from tests.orders.conftest import active_seller, pay
from tests.orders.test_races import run_together
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process
from tests.payments.test_ledger_invariant import MONEY_EVENTS, _checkout

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_success_page_and_every_money_webhook_racing_record_and_post_once(sandbox: Any, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    seen = {e["id"] for e in new_events(set())}
    order = _checkout(seller, 7_777)
    pay(sandbox, str(order.checkout_session_id))
    events = [e for e in new_events(seen) if e["type"] in MONEY_EVENTS]

    calls = [lambda: services.order_confirm_payment(order=order)]
    calls += [lambda e=e: process([e]) for e in events]  # type: ignore[misc]
    calls += [lambda e=e: process([e], copy=True) for e in events]  # type: ignore[misc]
    results = run_together(calls)

    assert results[0].status == OrderStatus.PAID
    assert all(r == ["processed"] for r in results[1:]), results[1:]
    assert Payment.objects.count() == 1
    kinds = sorted(LedgerTransaction.objects.values_list("kind", flat=True))
    assert kinds == ["application_fee", "charge", "transfer"]
    assert_ledger_equals_stripe()
