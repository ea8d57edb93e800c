"""A platform admin refunds part of a shop's subscription payment on a phone without knowing its
Stripe id: the console's seller page lists the payment, its Refund link opens the Refunds page's
form filled with the payment's invoice id, the refund goes through and the seller page says what
was refunded so far. Each page fits 375 px and passes axe-core. Through the sandbox over HTTP, its
webhooks delivered to the live server, in dollars (the seller's own refund of one is in yen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from payments.models import Payment, Refund, RefundStatus
from subscriptions.models import SubscriptionInvoice
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.subscriptions.conftest import default_fees  # noqa: F401 - autouse
from tests.subscriptions.test_subscriptions import seller_with_plan, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_refunds_a_subscription_payment_found_on_the_seller_page(
    live_server: Any, browser: Browser, sandbox_webhooks: Any, clean_cache: None, axe_js: Path
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 2_999, 1_250)
    sub = subscribe(sandbox_webhooks, UserFactory(), listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    invoice = SubscriptionInvoice.objects.get(subscription=sub, payment__isnull=False)

    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/sellers/{seller.pk}/")
    row = page.get_by_test_id("seller-sub-payment")
    expect(row).to_contain_text("$29.99")
    fits_a_phone_and_passes_axe(page)

    row.get_by_role("link", name="Refund the").click()
    expect(page.get_by_label("Stripe invoice, charge or payment id (in_…, ch_…, pi_…)")).to_have_value(
        invoice.stripe_invoice_id
    )
    amount = page.get_by_label("Amount (blank: everything left)").nth(1)  # the order form's comes first
    expect(amount).to_be_focused()
    fits_a_phone_and_passes_axe(page)
    amount.fill("10.00")
    page.get_by_role("button", name="Refund the payment").click()
    expect(page.get_by_text("Coffee box: $10.00 refunded to the buyer.")).to_be_visible()
    assert list(Refund.objects.values_list("amount", "status", "reverse_transfer")) == [
        (1_000, RefundStatus.SUCCEEDED, True)
    ]

    assert wait_until(lambda: Payment.objects.get(pk=invoice.payment_id).amount_refunded == 1_000)
    page.goto(f"{live_server.url}/console/sellers/{seller.pk}/")
    expect(page.get_by_test_id("seller-sub-payment")).to_contain_text("$10.00 refunded")
    fits_a_phone_and_passes_axe(page)
    page.context.close()
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()
