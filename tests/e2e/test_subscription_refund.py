"""The seller refunds part of a subscription payment on a phone: from Subscribers to the payment's
page, a double-tapped Refund makes one refund, the page says so and lists it, and the buyer's
"Your subscriptions" shows it; each page fits 375 px and passes axe-core. Through the sandbox over
HTTP, its webhooks delivered to the live server, in yen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from payments.models import Refund, RefundStatus
from subscriptions.models import SubscriptionInvoice
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.subscriptions.conftest import default_fees  # noqa: F401 - autouse
from tests.subscriptions.test_subscriptions import seller_with_plan, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_seller_refunds_part_of_a_subscription_payment_on_a_phone(
    live_server: Any, browser: Browser, sandbox_webhooks: Any, clean_cache: None, axe_js: Path
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, "jpy", 3_333, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    page.goto(live_server.url + "/sell/subscriptions/")
    page.get_by_test_id("subscriber-payments").click()
    expect(page.get_by_role("heading", name="Refund the subscriber")).to_be_visible()
    expect(page.get_by_test_id("sub-payment-amount")).to_have_text("¥3,333")
    fits_a_phone_and_passes_axe(page)

    page.get_by_label("Amount (blank: everything left)").fill("1111")
    page.get_by_label("Reason (the subscriber reads it)").fill("The box came late")
    page.get_by_role("button", name="Refund", exact=True).dblclick()
    expect(page.get_by_text("¥1,111 refunded to the buyer.").first).to_be_visible()
    expect(page.get_by_test_id("refund-status")).to_have_text(["Refunded"])
    expect(page.get_by_test_id("sub-payment-refunded")).to_have_text("¥1,111")
    fits_a_phone_and_passes_axe(page)
    assert list(Refund.objects.values_list("amount", "status")) == [(1_111, RefundStatus.SUCCEEDED)]
    page.context.close()

    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    page.goto(live_server.url + "/account/subscriptions/")
    expect(page.get_by_test_id("subscription-refund")).to_contain_text("¥1,111 of your ¥3,333 payment")
    fits_a_phone_and_passes_axe(page)
    page.context.close()
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()
