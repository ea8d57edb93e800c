"""On a phone, the seller's page of a payout whose contents include a lost dispute's recovery (the sale's
transfer reversed, the marketplace fee refunded): that line reads "Taken back for a lost dispute", not
"Refund", with a link to its order, whose page says the dispute was lost; the lines add up to the
payout. Each page fits 375 px and passes axe-core. USD and JPY, the sandbox over HTTP; the ledger
equals Stripe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payments.models import Dispute
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.conftest import active_seller, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, lose_dispute
from tests.payouts.helpers import paid_order, paid_out
from tests.payouts.test_money_pages import NOW

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payout_with_a_lost_disputes_recovery_reads_taken_back_on_a_phone(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    assert order.payment is not None
    lose_dispute(
        sandbox,
        charge_id=str(order.payment.stripe_charge_id),
        amount=order.amount_total,
        on_commit=django_capture_on_commit_callbacks,
    )
    assert Dispute.objects.get().recovery_reversal_id
    other = paid_order(sandbox, seller, 5_000, card=NOW)  # something to pay out
    payout = paid_out(sandbox, str(seller.stripe_account_id))
    lines = signed_in(seller.user).get(f"/api/v1/seller/payouts/{payout.pk}").json()["lines"]
    [taken] = [line for line in lines if line["label"] == "Taken back for a lost dispute"]
    assert sum(line["net"] for line in lines) == payout.amount

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/money/payouts/")
        page.get_by_role("row").filter(has_text=format_money(payout.amount, currency)).get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Payout of {format_money(payout.amount, currency)}")
        rows = page.get_by_test_id("payout-line")
        expect(rows).to_have_count(len(lines))
        row = rows.filter(has_text="Taken back for a lost dispute")
        expect(row).to_have_count(1)
        expect(row.get_by_role("cell").nth(1)).to_have_text(f"Order {order.pk}")
        expect(row.get_by_role("cell").nth(4)).to_have_text(format_money(taken["net"], currency))
        expect(rows.get_by_role("cell", name="Refund", exact=True)).to_have_count(0)
        expect(rows.filter(has_text=f"Order {other.pk}")).to_have_count(1)
        fits_a_phone_and_passes_axe(page)

        row.get_by_role("link", name=f"Order {order.pk}").click()
        expect(page.get_by_test_id("order-dispute")).to_have_text("Dispute lost")
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
