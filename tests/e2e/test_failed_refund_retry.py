"""A refund that fails after the seller's share was taken back, then sent again, on a phone: the
seller refunds $30.00 of a $100.00 sale paid with card 5126; the refund takes $30.00 back from the
seller (and gives $3.00 of the fee back), then fails at the buyer's bank. Stripe leaves that
reversal in place, so the seller's order page says its share stays taken back and that refunding
again uses it, and its money page's row for the order nets $63.00 (as Stripe's balance) saying why;
the seller refunds $30.00 again and nothing more leaves its balance ($63.00, as after
one refund), and its order page says the failed refund's share was used. Each page fits 375 px
and passes axe-core. The sandbox over HTTP, its webhooks delivered to the live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect

from fees.services import fee_rule_set
from orders import services
from payments.models import Refund, RefundStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_failed_refund_sent_again_takes_the_sellers_share_once(
    live_server: Any, browser: Browser, sandbox_webhooks: Any, clean_cache: None, axe_js: Path
) -> None:
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox_webhooks, shop="Kiln & Co")
    account = str(seller.stripe_account_id)
    buyer = UserFactory()
    vase = listing_of(seller, price=10_000, stock=5, title="Tall vase")
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (vase, 1)), seller_id=seller.pk, currency="usd", **URLS
    ).order
    pay(sandbox_webhooks, str(order.checkout_session_id), card="4000000000005126")
    services.order_sync_from_stripe(order=order)

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/orders/{order.pk}/")

    def refund_30() -> None:
        page.get_by_label("Amount (blank: the items chosen, or everything left)").fill("30.00")
        page.get_by_label("Reason (the buyer reads it)").fill("Chipped on arrival")
        page.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_test_id("refund-status").first).to_have_text("Refunded")

    refund_30()
    assert wait_until(lambda: stripe_balances(account) == {"usd": 6_300})
    requests.post(
        f"{sandbox_webhooks.url}/_sandbox/clock/advance", json={"seconds": 120}, timeout=10
    ).raise_for_status()  # the buyer's bank sends it back
    assert wait_until(lambda: Refund.objects.filter(status=RefundStatus.FAILED).exists(), timeout=20)
    page.reload()
    expect(page.get_by_test_id("refund-status").first).to_have_text("Failed")
    expect(page.get_by_text("Your share of it stays taken back: refunding again uses it")).to_be_visible()
    fits_a_phone_and_passes_axe(page)
    assert stripe_balances(account) == {"usd": 6_300}, "the reversal stays"
    page.goto(f"{live_server.url}/sell/money/")  # its earnings row says what Stripe's balance says, and why
    row = page.get_by_test_id("earnings-row")
    expect(row.get_by_test_id("order-net")).to_have_text("$63.00")
    expect(row.get_by_test_id("kept-reversal")).to_contain_text("taken back for a refund that failed")
    fits_a_phone_and_passes_axe(page)
    page.goto(f"{live_server.url}/sell/orders/{order.pk}/")

    refund_30()
    expect(
        page.get_by_text("Your share of it was taken back then, and a later refund or a lost dispute used it")
    ).to_be_visible()
    expect(page.get_by_text("refunding again uses it")).to_have_count(0)
    fits_a_phone_and_passes_axe(page)
    retried = Refund.objects.get(status=RefundStatus.SUCCEEDED)
    assert (retried.amount, retried.share_reused, retried.stripe_transfer_reversal_id) == (3_000, 3_000, "")
    assert stripe_balances(account) == {"usd": 6_300}, "nothing more taken from the seller"
    page.context.close()
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()
