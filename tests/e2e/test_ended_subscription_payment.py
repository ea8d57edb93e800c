"""On a phone, the seller's page of a payment of a subscription that has ended (the buyer canceled it
in Stripe's billing portal, and Stripe ended it at its period's end; the seller pays out by hand, so
its share is still there to give back): it reads that the subscription
ended, when and by whom, and that a refund does not change that, never that it "goes on"; the seller
can still give money back, and the page then lists the refund. Each step fits 375 px and passes
axe-core. USD and JPY, the sandbox over HTTP with its webhooks delivered to the live server; the
ledger equals Stripe after the refund."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from payments.models import Refund, RefundStatus
from payouts.services import seller_payout_schedule_set
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionInvoice, SubscriptionStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import fetch_no_redirect
from tests.subscriptions.conftest import default_fees  # noqa: F401 - autouse
from tests.subscriptions.test_subscriptions import DAY, advance, seller_with_plan, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("currency", "price", "shown", "typed", "refunded"),
    [("usd", 2_999, "$29.99", "10.00", "$10.00"), ("jpy", 3_333, "¥3,333", "1111", "¥1,111")],
)
def test_the_seller_reads_and_refunds_a_payment_of_an_ended_subscription_on_a_phone(
    live_server: Any,
    browser: Browser,
    sandbox_webhooks: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    price: int,
    shown: str,
    typed: str,
    refunded: str,
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    # Paid out by hand: Stripe's daily payout would otherwise take the share a refund gives back.
    seller_payout_schedule_set(
        account=str(seller.stripe_account_id), seller_id=seller.pk, interval="manual", form_token="m" * 32
    )
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="v" * 32)
    assert fetch_no_redirect(portal, f"action=cancel&subscription={sub.stripe_subscription_id}".encode())[0] == 303
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.CANCELED, 20)
    sub.refresh_from_db()
    assert sub.ended_at is not None
    invoice = SubscriptionInvoice.objects.get(subscription=sub)  # the only one: nothing renewed it

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/subscriptions/payments/{invoice.pk}/")
        summary = page.get_by_test_id("sub-payment")
        expect(summary).to_contain_text(
            f"Canceled: ended on {sub.ended_at:%-d %b %Y} (ended by the buyer), {shown} monthly"
        )
        expect(page.get_by_test_id("sub-payment-amount")).to_have_text(shown)
        expect(page.get_by_text("The subscription has ended: a refund does not change that.")).to_be_visible()
        expect(page.get_by_text("goes on")).to_have_count(0)
        fits_a_phone_and_passes_axe(page)

        page.get_by_label("Amount (blank: everything left)").fill(typed)
        page.get_by_label("Reason (the subscriber reads it)").fill("The last box came late")
        page.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_text(f"{refunded} refunded to the buyer.").first).to_be_visible()
        expect(page.get_by_test_id("refund-status")).to_have_text(["Refunded"])
        expect(page.get_by_test_id("sub-payment-refunded")).to_have_text(refunded)
        expect(summary).to_contain_text("Canceled: ended on")
        expect(page.get_by_text("The subscription has ended: a refund does not change that.")).to_be_visible()
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert list(Refund.objects.values_list("status", flat=True)) == [RefundStatus.SUCCEEDED]
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()
