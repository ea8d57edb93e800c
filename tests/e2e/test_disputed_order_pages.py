"""On a phone, once the buyer's bank decided a dispute the shop lost, before the order was shipped: the
seller's order page still offers "Mark as shipped", saying above it that shipping now ships it unpaid,
and says no refund can be made; the buyer's order page reads what their bank decided for them ("Your
bank refunded you"), not Stripe's seller-side "Dispute lost". Each page fits 375 px and passes
axe-core. USD and JPY; the sandbox over HTTP; the ledger equals Stripe after the loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.payments.helpers import assert_ledger_equals_stripe, lose_dispute
from tests.payments.test_refunds import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_after_a_lost_dispute_each_side_reads_what_the_bank_decided(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = paid_order(sandbox, currency)
    assert order.payment is not None
    lose_dispute(
        sandbox,
        charge_id=str(order.payment.stripe_charge_id),
        amount=order.amount_total,
        on_commit=django_capture_on_commit_callbacks,
    )
    assert_ledger_equals_stripe()

    seller = phone_signed_in(browser, axe_js, live_server.url, order.seller.user.email)
    try:
        seller.goto(f"{live_server.url}/sell/orders/{order.pk}/")
        expect(seller.get_by_test_id("ship-disputed")).to_have_text(
            "The buyer's bank gave the buyer this payment back: if you ship now, you ship it unpaid."
        )
        expect(seller.get_by_role("button", name="Mark as shipped")).to_be_visible()
        expect(seller.get_by_test_id("order-dispute")).to_have_text("Dispute lost")
        expect(seller.get_by_test_id("refund-charged-back")).to_contain_text("so no refund can be made here")
        fits_a_phone_and_passes_axe(seller)
    finally:
        seller.context.close()

    buyer = phone_signed_in(browser, axe_js, live_server.url, order.buyer.email)
    try:
        for path in (f"/orders/{order.pk}/", "/orders/"):
            buyer.goto(live_server.url + path)
            expect(buyer.get_by_test_id("order-dispute")).to_have_text("Your bank refunded you")
            fits_a_phone_and_passes_axe(buyer)
    finally:
        buyer.context.close()
