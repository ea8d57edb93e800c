"""A destination charge refunded in part by the platform (an admin's refund that takes nothing from
the seller), then refunded of everything left taking the seller's share back (the seller's own
refund). Stripe: "If the refund results in the entire charge being refunded, the entire transfer is
reversed" and the entire application fee refunded (connect-behaviour.md §a), so the last refund takes
back the seller's whole share, the part the platform paid for included. On a 10000 sale with a 1000
fee, 2000 refunded by the platform: the transfer is reversed by 10000, not 8000, and the fee refunded
by 1000, so the seller ends at 0 and the platform at minus Stripe's fee, having paid nothing in the
end. Every page that shows the seller's share shows what Stripe did, read from the mirrored reversal
and fee refund, and the ledger equals Stripe. Sandbox over HTTP, USD and JPY."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.test import Client

from marketplace.money import format_money
from orders.models import Order
from payments.models import Refund, RefundStatus
from payouts.models import ApplicationFeeRefund, TransferReversal
from tests.factories import make_platform_admin
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    money_page_row,
    revenue_lines,
    row_net,
    stripe_balances,
)
from tests.payments.test_refunds import STRIPE_FEE, paid_order

pytestmark = pytest.mark.django_db
TYPED = {"usd": "20.00", "jpy": "2000"}  # 2000 minor units, as the admin types it


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(page: str) -> str:
    """A page as a person reads it: tags gone, entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _cell(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</td>', page, re.S)
    assert found is not None, testid
    return _text(found.group(1)).strip()


def _platform_pays_part(order: Order, currency: str, capture: Any) -> None:
    """The admin refunds 2000 from the console, "take it back from the seller" unticked."""
    with capture(execute=True):
        answer = _client(make_platform_admin()).post(
            "/console/refunds/order/", {"order_id": str(order.pk), "amount": TYPED[currency], "reason": "Late"}
        )
    assert answer.status_code == 302
    [paid] = Refund.objects.all()
    assert (paid.status, paid.reverse_transfer) == (RefundStatus.SUCCEEDED, False)


def _seller_refunds_the_rest(order: Order, capture: Any, client: Client | None = None, **confirm: str) -> Any:
    with capture(execute=True):
        return (client or _client(order.seller.user)).post(
            f"/sell/orders/{order.pk}/refund/",
            {"amount": "", "reason": "Out of stock", "form_token": "rest1", **confirm},
        )


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_everything_left_after_a_refund_the_platform_paid_shows_what_stripe_took_on_every_page(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    order = paid_order(sandbox, currency)
    account, fee = str(order.seller.stripe_account_id), STRIPE_FEE[currency]
    _platform_pays_part(order, currency, django_capture_on_commit_callbacks)
    assert stripe_balances(account) == {currency: 9_000}

    _seller_refunds_the_rest(order, django_capture_on_commit_callbacks)

    last = Refund.objects.order_by("pk").last()
    assert last is not None and (last.amount, last.status, last.reverse_transfer) == (8_000, "succeeded", True)
    # What Stripe did: the whole transfer reversed and the whole fee refunded.
    assert list(TransferReversal.objects.values_list("amount", flat=True)) == [10_000]
    assert list(ApplicationFeeRefund.objects.values_list("amount", flat=True)) == [1_000]
    assert stripe_balances(account) == {} and stripe_balances() == {currency: -fee}
    assert_ledger_equals_stripe()

    zero = format_money(0, currency)
    seller = _client(order.seller.user)
    # The money page's row: the whole sale taken back, the whole fee given back, nothing left.
    row = money_page_row(order.seller.user, order.pk)
    assert row_net(row) == zero
    assert _cell(row.replace('data-label="Refunds"', 'data-testid="row-refunds"'), "row-refunds").startswith(
        format_money(10_000, currency)
    )
    # The seller's order page: its breakdown and the refunds' rows.
    page = seller.get(f"/sell/orders/{order.pk}/").content.decode()
    assert _cell(page, "seller-net") == zero
    assert _cell(page, "refunded-from-seller") == format_money(10_000, currency)
    assert _cell(page, "fee-refunded") == format_money(1_000, currency)
    text = _text(page)
    assert "nothing taken from you" not in text
    assert f"Stripe took back your whole share, {format_money(10_000, currency)}" in text
    # The seller's orders list and the API say the same.
    listed = seller.get("/api/v1/seller/orders")
    assert [o["seller_net"] for o in json.loads(listed.content)] == [0]
    # The revenue report: the platform paid nothing in the end; its net revenue is its Stripe balance.
    lines = revenue_lines(currency)
    assert lines["refunds_paid_by_platform"] == 0 and lines["net_revenue"] == -fee
    # The console's latest refunds no longer call the first one paid by the platform alone.
    console = _text(_client(make_platform_admin()).get("/console/refunds/").content.decode())
    assert "Stripe took the seller's share of it back" in console
