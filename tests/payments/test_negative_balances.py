"""The console's negative balances after refunds taken back from the seller, USD and JPY: each transfer
reversal (and the fee refund beside it) moves the seller's available balance as mirrored, with no
Stripe call for it (one balance read per reversal was the cost, the refund's path and its webhook's
each), and the figure is Stripe's to the unit. The full list is paged, and neither page costs more
queries for 50 sellers than for one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.money import format_money
from payments.health import NEGATIVE_SHOWN, payment_health
from payments.models import RefundOrigin, RefundStatus
from payments.services import refund_create, refund_submit
from payouts.models import AvailableBalance
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process
from tests.payments.test_revenue import _owing_seller, below_zero
from tests.payouts.helpers import paid_order
from tests.payouts.test_money_pages import account_balance_parts
from tests.stripe_requests import stripe_requests

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_reversals_move_the_listed_balance_to_stripes_figure_without_reading_it(
    sandbox: Any, monkeypatch: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    seller = active_seller(sandbox, currency=currency, shop="Refunding Pottery")
    order = paid_order(sandbox, seller, 10_000)  # its funds pending for days: available stays 0
    assert order.payment is not None
    assert signed_in(seller.user).get("/sell/money/").status_code == 200  # Stripe's balance is read once

    seen = {e["id"] for e in new_events(set())}
    with stripe_requests(monkeypatch) as calls, django_capture_on_commit_callbacks(execute=True):
        for amount in (2_000, 1_500):
            refund = refund_create(payment=order.payment, amount=amount, origin=RefundOrigin.SELLER, order_id=order.pk)
            assert refund_submit(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
        # the same reversals and fee refunds again, from their webhooks: mirrored already, not moved twice
        assert "failed" not in process(new_events(seen))
    assert [path for _, path in calls if path == "/v1/balance"] == []  # not one read per reversal

    available, pending = account_balance_parts(str(seller.stripe_account_id), currency)
    assert available < 0 < pending
    row = AvailableBalance.objects.get(account=seller.stripe_account_id, currency=currency)
    assert row.amount == available  # to the unit: both reversals less the fee refunded with them
    health = payment_health(start=order.created_at.replace(year=2000), end=order.created_at.replace(year=9000))
    assert [(b.seller_id, b.balance) for b in health.negative_balances] == [(seller.pk, available)]
    assert_ledger_equals_stripe()

    # the Money page cached the balance before the refunds: it reads Stripe again, the same figure
    assert format_money(available, currency) in signed_in(seller.user).get("/sell/money/").content.decode()
    assert AvailableBalance.objects.get(account=seller.stripe_account_id).amount == available


def test_the_full_list_is_paged_in_as_many_queries_for_50_sellers_as_for_one() -> None:
    admin = signed_in(make_platform_admin(email="root@example.com"))
    counts = []
    for n in (1, 50):
        while AvailableBalance.objects.count() < n:
            i = AvailableBalance.objects.count()
            below_zero(_owing_seller(f"Below {i:02}", "jpy" if i % 2 else "usd"), "jpy" if i % 2 else "usd", -100 - i)
        with CaptureQueriesContext(connection) as queries:
            page = admin.get("/console/negative-balances/").content.decode()
        counts.append(len(queries))
        assert page.count("available</li>") == n
    assert counts[0] == counts[1], counts

    below_zero(_owing_seller("Below 50", "usd"), "usd", -1)
    revenue = admin.get("/console/revenue/").content.decode()
    assert revenue.count("available</li>") == NEGATIVE_SHOWN
    more = f"{51 - NEGATIVE_SHOWN} more sellers with a negative balance"
    assert f'<a href="/console/negative-balances/">{more}</a>' in revenue
    first, second = (admin.get(f"/console/negative-balances/?page={p}").content.decode() for p in (1, 2))
    assert first.count("available</li>") == 50 and "Page 1 of 2" in first
    assert second.count("available</li>") == 1 and "Below 50</a>: -$0.01 available" in second  # the least negative
