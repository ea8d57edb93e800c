"""In Chromium, against the sandbox's hosted pages and its signed webhooks: a buyer subscribes with
4242 on Stripe's Checkout; the sandbox clock moves a month and the second invoice is paid, the
seller's transfer and our fee in the sandbox to the cent (USD and JPY); the buyer opens Stripe's
customer portal and cancels at the period end. A renewal card that fails: past due, the email with
the hosted invoice page, and the end after Stripe's retries. The ledger equals the sandbox's
balances after each."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.core import mail
from playwright.sync_api import Page, expect

from fees.models import FeeRule
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionInvoice, SubscriptionStatus
from tests.e2e.browser import log_in
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DAY = 86400


def advance(sandbox: Any, seconds: int) -> None:
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=60).raise_for_status()
    assert sandbox.wait_for_webhooks(30)


def coffee_box(sandbox: Any, currency: str, price: int, basis_points: int) -> Any:
    seller = active_seller(sandbox, currency=currency, shop="Roastery")
    FeeRule.objects.update_or_create(
        currency=currency, seller=None, category=None, defaults={"basis_points": basis_points, "fixed_amount": 0}
    )
    listing = listing_of(seller, price=price, title="Coffee box")
    services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    return seller, listing


def subscribe_in_browser(page: Page, base: str, listing_id: int, shown: str) -> None:
    page.goto(f"{base}/listing/{listing_id}/")
    expect(page.get_by_test_id("listing-price")).to_have_text(f"{shown} monthly")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name=f"Pay {shown} per month")).to_be_visible(timeout=20_000)
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text("You subscribed to Coffee box.")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("subscription-status")).to_have_text("Active")


@pytest.mark.parametrize(
    ("currency", "price", "basis_points", "shown"),
    [("usd", 2_999, 1_250, "$29.99"), ("jpy", 3_333, 1_000, "¥3,333")],
)
def test_subscribe_renew_and_cancel_in_the_portal(
    live_server: Any,
    sandbox_webhooks: Any,
    page: Page,
    clean_cache: None,
    currency: str,
    price: int,
    basis_points: int,
    shown: str,
) -> None:
    base = live_server.url
    seller, listing = coffee_box(sandbox_webhooks, currency, price, basis_points)
    buyer = UserFactory()
    log_in(page, base, buyer.email)
    subscribe_in_browser(page, base, listing.pk, shown)
    sub = Subscription.objects.get(buyer=buyer)
    first_end = sub.current_period_end
    assert first_end is not None
    expect(page.get_by_test_id("subscription-next")).to_contain_text(f"{shown} on {first_end.day} ")

    advance(sandbox_webhooks, 31 * DAY)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).count() == 2)
    page.reload()
    renewed = Subscription.objects.get(pk=sub.pk)
    assert renewed.current_period_end and renewed.current_period_end > first_end
    expect(page.get_by_test_id("subscription-status")).to_have_text("Active")
    # The second invoice's charge in the sandbox: our fee and the seller's transfer, to the cent.
    fee = (price * basis_points + 5_000) // 10_000
    client = client_for(sandbox_webhooks)
    second = SubscriptionInvoice.objects.filter(subscription=sub).order_by("-created_at").first()
    assert second is not None and second.payment is not None and second.status == "paid"
    charge = client.v1.charges.retrieve(second.payment.stripe_charge_id)
    transfer = client.v1.transfers.retrieve(charge.transfer)
    application_fee = client.v1.application_fees.retrieve(charge.application_fee)
    assert (charge.amount, transfer.amount, transfer.destination) == (price, price, seller.stripe_account_id)
    assert application_fee.amount == fee
    seller_charge = client.v1.charges.retrieve(
        transfer.destination_payment, options={"stripe_account": seller.stripe_account_id}
    )
    assert seller_charge.amount == price
    assert_ledger_equals_stripe()

    # Stripe's customer portal: cancel at the end of the period, then back to our page.
    page.get_by_role("button", name="Manage billing").click()
    expect(page.get_by_role("heading", name="Manage billing")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="Cancel Coffee box").click()
    expect(page.get_by_text("Your subscription will end at the end of the current period.")).to_be_visible()
    page.get_by_role("link", name="Return to the shop").click()
    expect(page.get_by_role("heading", name="Your subscriptions")).to_be_visible()
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).cancel_at_period_end)
    page.reload()
    expect(page.get_by_test_id("subscription-next")).to_contain_text("None: ends on")

    # The seller sees the subscriber and the monthly recurring revenue.
    page.context.clear_cookies()
    log_in(page, base, seller.user.email)
    page.goto(base + "/sell/subscriptions/")
    expect(page.get_by_test_id("subscriber-row")).to_contain_text(buyer.email)
    expect(page.get_by_test_id(f"mrr-{currency}")).to_have_text(f"{shown} per month")


def test_a_failing_renewal_past_due_email_then_canceled(
    live_server: Any, sandbox_webhooks: Any, page: Page, clean_cache: None
) -> None:
    base = live_server.url
    seller, listing = coffee_box(sandbox_webhooks, "usd", 1_500, 1_000)
    buyer = UserFactory()
    log_in(page, base, buyer.email)
    subscribe_in_browser(page, base, listing.pk, "$15.00")
    sub = Subscription.objects.get(buyer=buyer)

    # The buyer changes the card in the portal to one the bank will decline.
    page.get_by_role("button", name="Manage billing").click()
    page.get_by_label("New card number").fill("4000000000000341")
    page.get_by_role("button", name="Update card").click()
    expect(page.get_by_text("Your card was updated.")).to_be_visible()
    expect(page.locator("#card")).to_contain_text("ending 0341")
    page.get_by_role("link", name="Return to the shop").click()

    advance(sandbox_webhooks, 31 * DAY)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.PAST_DUE)
    page.reload()
    expect(page.get_by_test_id("subscription-status")).to_have_text("Payment overdue")
    invoice = SubscriptionInvoice.objects.get(subscription=sub, status="open")
    assert wait_until(lambda: any(invoice.hosted_invoice_url in m.body for m in mail.outbox if buyer.email in m.to))
    email = next(m for m in mail.outbox if buyer.email in m.to and "did not go through" in m.subject)
    link = re.search(r"https?://\S+/hosted/invoices/\S+", email.body)
    assert link is not None
    page.goto(link.group(0))
    expect(page.locator("#status")).to_have_text("Due: $15.00.")

    advance(sandbox_webhooks, 15 * DAY)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.CANCELED, 20)
    page.goto(base + "/account/subscriptions/")
    expect(page.get_by_test_id("subscription-status")).to_have_text("Canceled: your payments failed")
    assert wait_until(lambda: any(seller.user.email in m.to and "ended" in m.subject for m in mail.outbox))
    assert_ledger_equals_stripe()
