"""A seller whose money was all paid out to the bank approves a buyer's refund request on a phone:
Stripe refuses to take the seller's share back (balance_insufficient), and the sentence at the top and
in the failed refund's row of the order page says what can cover it; it read "Refund again once your
pending funds are available" to a seller with nothing pending. The request stays open; nothing moved,
the ledger still equals Stripe. Each page fits 375 px and passes axe-core; USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from orders.models import RefundRequest, RefundRequestStatus
from payments.models import REFUSALS_FOR_SELLER
from payouts.models import Payout
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.conftest import signed_in, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.payments.test_refunds import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_paid_out_seller_approving_a_refund_is_not_promised_pending_funds(
    live_server: Any, browser: Browser, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    sandbox = sandbox_webhooks  # the payout's events reach the ledger
    order = paid_order(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    signed_in(order.buyer).post(f"/orders/{order.pk}/refund-request/", {"reason": "damaged", "scope": "whole"})
    request = RefundRequest.objects.get(order=order)
    # Four days on: the sale's money became available and was paid out; nothing is left or pending.
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 4 * 86400}, timeout=10).raise_for_status()
    assert stripe_balances(account) == {}
    assert wait_until(lambda: Payout.objects.filter(account=account).exists())

    page = phone_signed_in(browser, axe_js, live_server.url, order.seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/refunds/")
        page.get_by_test_id("seller-refund-request").get_by_role("button", name="Approve and refund").click()
        told = REFUSALS_FOR_SELLER["balance_insufficient"]
        expect(page.get_by_text(told)).to_be_visible()
        assert "pending funds" not in told and "once your available balance can cover it" in told
        fits_a_phone_and_passes_axe(page)
        page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
        expect(page.get_by_test_id("refund-status").first).to_have_text("Failed")
        expect(page.get_by_text(told)).to_be_visible()
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()

    request.refresh_from_db()
    assert request.status == RefundRequestStatus.OPEN
    assert stripe_balances(account) == {}
    assert_ledger_equals_stripe()
