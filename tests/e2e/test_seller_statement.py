"""The statement as a seller reads it on a phone: from the Money page's form, the page of lines,
each naming the order it stems from with a link that opens that order, the payout-free lines of two
sales and a refund (USD and JPY), and the same dates' CSV with the order beside each Stripe object;
every page at 375 px with no serious axe-core violation."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payments.models import RefundOrigin, RefundStatus
from payments.services import refund_create, refund_submit
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.conftest import active_seller
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payouts.helpers import paid_order
from tests.payouts.test_money_pages import kiln_order_paid_with_another_shop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NOW = "4000000000000077"  # funds available at once


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_seller_reads_which_order_each_statement_line_stems_from(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    seller = active_seller(sandbox, currency=currency)
    kept, refunded = (paid_order(sandbox, seller, price, card=NOW) for price in (10_000, 8_000))
    assert refunded.payment is not None
    row = refund_create(payment=refunded.payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=refunded.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    assert_ledger_equals_stripe()
    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)

    page.goto(live_server.url + "/sell/money/")
    form = page.get_by_test_id("statement-form")
    form.get_by_label("To (included)").fill(str(date.today() + timedelta(days=3)))  # the sandbox's clock may run on
    form.get_by_role("button", name="Show statement").click()
    expect(page.get_by_role("heading", name="Statement")).to_be_visible()
    rows = page.get_by_test_id("statement-row")
    expect(rows).to_have_count(6)  # each sale's transfer and fee, the refund's reversal and fee refund
    for order, count in ((kept, 2), (refunded, 4)):
        expect(page.get_by_role("link", name=f"Order {order.pk}", exact=True)).to_have_count(count)
    taken_back = rows.filter(has_text="Taken back for a refund")
    expect(taken_back.get_by_test_id("statement-amount")).to_have_text(format_money(-3_000, currency))
    fits_a_phone_and_passes_axe(page)

    taken_back.get_by_role("link", name=f"Order {refunded.pk}").click()
    expect(page.get_by_role("heading", name=f"Order {refunded.pk}")).to_be_visible()
    fits_a_phone_and_passes_axe(page)

    page.go_back()
    with page.expect_download() as download:
        page.get_by_test_id("statement-csv").click()
    path = download.value.path()
    lines = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert sorted((line["kind"], line["order"]) for line in lines) == sorted(
        [("transfer", f"Order {kept.pk}"), ("application_fee", f"Order {kept.pk}")]
        + [(kind, f"Order {refunded.pk}") for kind in ("transfer", "application_fee")]
        + [(kind, f"Order {refunded.pk}") for kind in ("transfer_reversal", "application_fee_refund")]
    )
    assert all(line["stripe_object"] for line in lines)
    page.context.close()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_sale_paid_with_another_shop_reads_less_the_fee_as_its_order_page_adds_up(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    django_capture_on_commit_callbacks: Any,
    currency: str,
) -> None:
    """The shop's part of a payment for several shops came as one transfer less the fee: the line said
    "Sale" with the amount the order's page calls "You receive", beside no fee line."""
    order = kiln_order_paid_with_another_shop(sandbox, currency, 10_000, django_capture_on_commit_callbacks)
    assert_ledger_equals_stripe()
    page = phone_signed_in(browser, axe_js, live_server.url, order.seller.user.email)
    page.goto(live_server.url + "/sell/money/")
    form = page.get_by_test_id("statement-form")
    form.get_by_label("To (included)").fill(str(date.today() + timedelta(days=3)))
    form.get_by_role("button", name="Show statement").click()
    row = page.get_by_test_id("statement-row")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(1)).to_have_text("Sale, less the marketplace fee")
    expect(row.get_by_test_id("statement-amount")).to_have_text(format_money(order.seller_net, currency))
    fits_a_phone_and_passes_axe(page)

    row.get_by_role("link", name=f"Order {order.pk}").click()
    expect(page.get_by_role("heading", name=f"Order {order.pk}")).to_be_visible()
    expect(page.get_by_text(format_money(order.application_fee_amount, currency)).first).to_be_visible()
    page.context.close()
