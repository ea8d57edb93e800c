"""In Chromium, against the sandbox's hosted Checkout and its signed webhooks: a buyer pays with the
dispute test card; the dispute shows in the admins' queue and the seller's list; the seller writes
what happened and uploads a PDF; the admin adds evidence and submits it (with the confirmation); the
sandbox's control closes it lost and the seller's share is taken back to the cent. The won path in
JPY, with Stripe's test-mode winning evidence."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from fees.services import fee_rule_set
from payments.models import Dispute
from payouts.models import TransferReversal
from tests.e2e.browser import log_in
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, listing_of, wait_until
from tests.orders.test_e2e_checkout import add_to_cart, log_out, pay_on_hosted_page
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DISPUTE_CARD = "4000000000000259"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TIMEOUT = 30_000


def _buy_with_the_dispute_card(page: Page, base: str, sandbox: Any, seller: Any, price: int, total: str) -> Dispute:
    listing = listing_of(seller, price=price, stock=3, title="Indigo print")
    buyer = UserFactory()
    log_in(page, base, buyer.email)
    add_to_cart(page, base, listing.pk)
    page.goto(base + "/checkout/")
    page.get_by_role("button", name=f"Pay {total} to {seller.shop_name}").click()
    pay_on_hosted_page(page, DISPUTE_CARD)
    expect(page.get_by_test_id("order-status")).to_have_text("Paid", timeout=TIMEOUT)
    assert sandbox.wait_for_webhooks(30)
    assert wait_until(lambda: Dispute.objects.filter(seller=seller).exists(), timeout=30)
    page.reload()
    expect(page.get_by_test_id("order-dispute")).to_have_text("Disputed", timeout=TIMEOUT)
    log_out(page)
    return Dispute.objects.get(seller=seller)


def test_dispute_lost_and_recovered_from_the_seller(
    live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None
) -> None:
    base = live_server.url
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox_webhooks, shop="Kiln and Co")
    account = str(seller.stripe_account_id)
    dispute = _buy_with_the_dispute_card(page, base, sandbox_webhooks, seller, 10_000, "$100.00")
    admin = make_platform_admin()

    # The admins' queue.
    log_in(page, base, admin.email)
    page.goto(base + "/console/disputes/")
    row = page.get_by_test_id("dispute-row")
    expect(row).to_contain_text("$100.00")
    expect(row).to_contain_text("Kiln and Co")
    expect(row.get_by_test_id("days-left")).to_have_text(re.compile(r"^[67] days left$"))
    log_out(page)

    # The seller: its list, its statement and a PDF.
    log_in(page, base, seller.user.email)
    page.get_by_role("link", name="Disputes", exact=True).click()
    page.get_by_test_id("seller-dispute-row").get_by_role("link").click()
    page.get_by_label(re.compile("^Your account, for the bank")).fill("Shipped on the 3rd; the buyer signed for it.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved. The platform's team reads it")).to_be_visible()
    page.get_by_label(re.compile("^Receipts, shipping labels")).set_input_files(
        {"name": "signed-delivery.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_label("What it shows").select_option("shipping_documentation")
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("seller-files")).to_contain_text("signed-delivery.pdf")
    log_out(page)

    # The admin reads the seller's side, adds evidence and submits it, confirmed.
    log_in(page, base, admin.email)
    page.goto(f"{base}/console/disputes/{dispute.pk}/")
    expect(page.get_by_test_id("seller-statement")).to_contain_text("the buyer signed for it")
    expect(page.get_by_test_id("seller-files")).to_contain_text("signed-delivery.pdf")
    page.get_by_label("Product description").fill("One indigo woodblock print, A3.")
    page.get_by_label("Shipping carrier").fill("UPS")
    page.get_by_role("button", name="Submit evidence to the bank").click()
    expect(page.get_by_text("Tick the confirmation")).to_be_visible()
    page.get_by_label(re.compile("^I have checked the evidence")).check()
    page.get_by_role("button", name="Submit evidence to the bank").click()
    expect(page.get_by_text("Evidence submitted to the bank")).to_be_visible()
    expect(page.get_by_test_id("dispute-status")).to_have_text("Under review")
    dispute.refresh_from_db()
    assert dispute.files.get().stripe_file_id  # the PDF went to Stripe's Files API

    # The bank decides (the sandbox's control): lost. The seller's share is taken back.
    before = stripe_balances(account)["usd"]
    requests.post(
        f"{sandbox_webhooks.url}/_sandbox/disputes/{dispute.stripe_id}/resolve", json={"outcome": "lost"}, timeout=10
    ).raise_for_status()
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert wait_until(lambda: TransferReversal.objects.exists(), timeout=30)
    dispute.refresh_from_db()
    assert (dispute.status, dispute.recovery, dispute.recovered_amount) == ("lost", "recovered", 9_000)
    assert stripe_balances(account).get("usd", 0) == before - dispute.recovered_amount  # to the cent
    assert_ledger_equals_stripe()
    page.reload()
    expect(page.get_by_test_id("dispute-status")).to_have_text("Lost")
    expect(page.get_by_test_id("dispute-recovery")).to_contain_text("$90.00 taken back")


def test_dispute_won_in_jpy(live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None) -> None:
    base = live_server.url
    fee_rule_set(currency="jpy", basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox_webhooks, currency="jpy", shop="Hokusai Prints")
    account = str(seller.stripe_account_id)
    dispute = _buy_with_the_dispute_card(page, base, sandbox_webhooks, seller, 10_000, "¥10,000")
    platform_before = stripe_balances()["jpy"]

    log_in(page, base, make_platform_admin().email)
    page.goto(base + "/console/disputes/?currency=jpy")
    page.get_by_test_id("dispute-row").get_by_role("link").click()
    page.get_by_label("Anything else the bank should read").fill("winning_evidence")
    page.get_by_label(re.compile("^I have checked the evidence")).check()
    page.get_by_role("button", name="Submit evidence to the bank").click()
    expect(page.get_by_test_id("dispute-status")).to_have_text("Won", timeout=TIMEOUT)
    assert sandbox_webhooks.wait_for_webhooks(30)
    log_out(page)

    dispute.refresh_from_db()
    assert dispute.status == "won" and not TransferReversal.objects.exists()
    assert stripe_balances() == {"jpy": platform_before + 10_000}  # the amount back; Stripe keeps the fee
    assert stripe_balances(account) == {"jpy": 9_000}  # the seller keeps its share
    assert_ledger_equals_stripe()
    log_in(page, base, seller.user.email)
    page.goto(f"{base}/sell/disputes/{dispute.pk}/")
    expect(page.get_by_test_id("dispute-outcome")).to_have_text("The bank decided in your favour: the sale stands.")
    page.goto(f"{base}/sell/orders/")
    expect(page.get_by_test_id("order-dispute")).to_have_text("Dispute won")
