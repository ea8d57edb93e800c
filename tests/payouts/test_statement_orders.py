"""The seller's statement, on its page and in its CSV, names the order each line stems from, as the
seller's orders pages name it ("Order 12", a link to it on the page), and says plainly when a line
stems from no order (a payout); the Stripe object stays beside it. Against the sandbox over HTTP,
USD and JPY, one shop and a payment for several shops, at a query count that does not grow with
the lines."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from payments.models import Dispute, RefundOrigin, RefundStatus
from payments.services import refund_create, refund_submit
from payouts.selectors import NO_ORDER_PAYOUT, NO_ORDER_PAYOUT_RETURNED
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of, pay, signed_in
from tests.orders.test_multi_seller import WORKED, settle, start_cart, three_shops
from tests.payments.helpers import assert_ledger_equals_stripe, lose_dispute, new_events
from tests.payments.test_disputes import control
from tests.payouts.helpers import SPAN, link, paid_order, paid_out, process_connect, statement_csv, statement_page
from tests.payouts.test_money_pages import kiln_order_paid_with_another_shop

pytestmark = pytest.mark.django_db
NOW = "4000000000000077"  # funds available at once


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_every_line_of_a_sale_its_refund_and_its_lost_dispute_names_its_order(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    seller = active_seller(sandbox, currency=currency)
    refunded, disputed = (paid_order(sandbox, seller, price, card=NOW) for price in (10_000, 8_000))
    assert refunded.payment is not None and disputed.payment is not None
    row = refund_create(payment=refunded.payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=refunded.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    lose_dispute(
        sandbox,
        charge_id=str(disputed.payment.stripe_charge_id),
        amount=5_000,
        on_commit=django_capture_on_commit_callbacks,
    )
    assert Dispute.objects.get().recovery == "recovered"
    assert_ledger_equals_stripe()
    client = signed_in(seller.user)

    kinds = ("transfer", "application_fee", "transfer_reversal", "application_fee_refund")
    expected = Counter((kind, f"Order {order.pk}") for order in (refunded, disputed) for kind in kinds)
    rows = statement_csv(client)
    assert Counter((r["kind"], r["order"]) for r in rows) == expected
    assert all(re.fullmatch(r"(tr|trr|fee|fr)_\w+", r["stripe_object"]) for r in rows)  # Stripe's id kept
    assert Counter(statement_page(client)) == Counter(
        (kind, link(order)) for order in (refunded, disputed) for kind in kinds
    )
    page = client.get("/sell/money/statement/", SPAN).content.decode()
    assert page.count("Taken back for a lost dispute") == 1 and page.count("Taken back for a refund") == 1

    # The payout pays out both sales: it stems from no order, and says so.
    paid_out(sandbox, str(seller.stripe_account_id))
    span = {"start": SPAN["start"], "end": str(date.today() + timedelta(days=10))}  # the sandbox's clock ran on
    [payout] = [r for r in statement_csv(client, span) if r["kind"] == "payout"]
    assert payout["order"] == NO_ORDER_PAYOUT and payout["stripe_object"].startswith("po_")
    assert ("payout", NO_ORDER_PAYOUT) in statement_page(client, span)

    # The bank sends it back: that line is money back from the bank, not "money paid out to your bank".
    control(sandbox, f"payouts/{payout['stripe_object']}/fail", failure_code="account_closed")
    assert "failed" not in process_connect(str(seller.stripe_account_id), set())
    [returned] = [r for r in statement_csv(client, span) if r["kind"] == "payout_failure"]
    assert (returned["order"], returned["amount_minor"]) == (
        NO_ORDER_PAYOUT_RETURNED,
        str(-int(payout["amount_minor"])),
    )
    assert ("payout_failure", NO_ORDER_PAYOUT_RETURNED) in statement_page(client, span)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_each_shop_of_a_payment_for_several_shops_sees_its_own_order(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """One charge pays three shops; each shop's transfer, and the reversal a lost dispute took from
    it, name that shop's order, not another shop's of the same payment."""
    shops = three_shops(sandbox, currency)
    items = [(listing_of(shop, price=amount), 1) for shop, amount in zip(shops, WORKED[currency][0], strict=True)]
    started = start_cart(UserFactory(), currency, *items)
    seen = {e["id"] for e in new_events(set())}
    assert started.group is not None
    pay(sandbox, str(started.group.checkout_session_id), card=NOW)
    settle(started.orders[0], django_capture_on_commit_callbacks)
    payment = Order.objects.get(pk=started.orders[0].pk).payment
    assert payment is not None and {e["id"] for e in new_events(seen)}
    lose_dispute(
        sandbox, charge_id=str(payment.stripe_charge_id), amount=5_000, on_commit=django_capture_on_commit_callbacks
    )
    assert_ledger_equals_stripe()
    for shop in shops:
        order = Order.objects.get(checkout_group=started.group, seller=shop)
        client = signed_in(shop.user)
        assert sorted((r["kind"], r["order"]) for r in statement_csv(client)) == [
            ("transfer", f"Order {order.pk}"),
            ("transfer_reversal", f"Order {order.pk}"),
        ]
        assert sorted(statement_page(client)) == [("transfer", link(order)), ("transfer_reversal", link(order))]


def test_the_statement_page_queries_do_not_grow_with_its_lines(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    client = signed_in(seller.user)
    counts = []
    for n in (1, 4):
        while seller.orders.count() < n:
            order = paid_order(sandbox, seller, 2_000, card=NOW)
            assert order.payment is not None
            refund = refund_create(payment=order.payment, amount=500, origin=RefundOrigin.SELLER, order_id=order.pk)
            assert refund_submit(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
        statement_page(client)  # what the first visit of a session reads once
        with CaptureQueriesContext(connection) as queries:
            lines = statement_page(client)
        assert len(lines) == 4 * n and all("Order " in cell for _, cell in lines)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_csv_names_every_line_across_its_batches(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CSV names its lines a batch at a time while the database streams them: lines of one sale
    split over two batches still name that sale."""
    seller = active_seller(sandbox)
    orders = [paid_order(sandbox, seller, price, card=NOW) for price in (2_000, 3_000, 4_000)]
    client = signed_in(seller.user)
    whole = [(r["stripe_object"], r["order"]) for r in statement_csv(client)]
    monkeypatch.setattr("payouts.selectors.STATEMENT_BATCH", 4)  # 4 and 2: the second sale split
    assert [(r["stripe_object"], r["order"]) for r in statement_csv(client)] == whole
    assert Counter(order for _, order in whole) == Counter({f"Order {order.pk}": 2 for order in orders})


def test_a_refused_date_comes_back_to_the_money_page_with_its_sentence(sandbox: Any) -> None:
    client = signed_in(active_seller(sandbox).user)
    bad = client.get("/sell/money/statement/", {"start": "2024-02-01", "end": "2024-01-01"})
    assert bad.status_code == 422 and "The end date must be on or after the start date." in bad.content.decode()
    empty = client.get("/sell/money/statement/", SPAN).content.decode()
    assert 'data-testid="statement-empty"' in empty
    assert f'href="/sell/money/statement.csv?start={SPAN["start"]}&amp;end={SPAN["end"]}"' in empty


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_of_one_shops_order_in_a_payment_for_several_names_that_order_only(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """Kiln & Co's order is refunded in part: its reversal (which gives back the fee's share too)
    names Kiln & Co's order; Tea House's statement keeps its own sale only."""
    kiln_order = kiln_order_paid_with_another_shop(sandbox, currency, 10_000, django_capture_on_commit_callbacks)
    assert kiln_order.payment is not None and kiln_order.checkout_group is not None
    with django_capture_on_commit_callbacks(execute=True):
        row = refund_create(
            payment=kiln_order.payment, amount=4_000, origin=RefundOrigin.SELLER, order_id=kiln_order.pk
        )
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    assert_ledger_equals_stripe()
    tea_order = Order.objects.exclude(pk=kiln_order.pk).get(checkout_group=kiln_order.checkout_group)
    kiln = signed_in(kiln_order.seller.user)
    assert sorted((r["kind"], r["order"]) for r in statement_csv(kiln)) == [
        ("transfer", f"Order {kiln_order.pk}"),
        ("transfer_reversal", f"Order {kiln_order.pk}"),
    ]
    assert sorted(statement_page(kiln)) == [("transfer", link(kiln_order)), ("transfer_reversal", link(kiln_order))]
    tea = signed_in(tea_order.seller.user)
    assert [(r["kind"], r["order"]) for r in statement_csv(tea)] == [("transfer", f"Order {tea_order.pk}")]


LABELED = re.compile(
    r'data-kind="(\w+)">.*?<td data-label="What">(.*?)</td>.*?data-testid="statement-amount">(.*?)</td>', re.DOTALL
)


# 10,000 less the fee (10 %, and 30 cents in USD); 4,000 back less the fee's share (412 cents, ¥400).
@pytest.mark.parametrize(
    ("currency", "fee", "sale", "back"), [("usd", 1_030, "$89.70", "-$35.88"), ("jpy", 1_000, "¥9,000", "-¥3,600")]
)
def test_a_sale_paid_with_other_shops_says_the_fee_is_already_off_as_the_order_page_counts_it(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str, fee: int, sale: str, back: str
) -> None:
    """A shop's part of a payment for several shops reaches it less the marketplace fee, in one
    transfer, and its refund takes back the share less the fee's. The statement called them "Sale"
    and "Taken back for a refund" as for a shop paid alone, where the fee is a line of its own: a
    seller read "Sale ¥21,600" for an order whose page says "Sale ¥24,000", and found no fee line."""
    order = kiln_order_paid_with_another_shop(sandbox, currency, 10_000, django_capture_on_commit_callbacks)
    assert order.payment is not None and order.application_fee_amount == fee  # the order page's fee
    with django_capture_on_commit_callbacks(execute=True):
        row = refund_create(payment=order.payment, amount=4_000, origin=RefundOrigin.SELLER, order_id=order.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    assert_ledger_equals_stripe()
    response = signed_in(order.seller.user).get("/sell/money/statement/", SPAN)
    assert sorted(LABELED.findall(response.content.decode())) == [
        ("transfer", "Sale, less the marketplace fee", sale),
        ("transfer_reversal", "Taken back for a refund, less the marketplace fee&#x27;s share", back),
    ]

    alone = paid_order(sandbox, active_seller(sandbox, currency=currency, shop="Alone"), 10_000, card=NOW)
    response = signed_in(alone.seller.user).get("/sell/money/statement/", SPAN)
    assert [label for _, label, _ in LABELED.findall(response.content.decode())] == ["Sale", "Marketplace fee"]
