"""The sandbox's customer portal and hosted invoice page in Chromium: usable at 375 px with no serious
axe-core violation, and doing what they say (cancel at period end, change the card, pay an open
invoice with another card)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import stripe
from playwright.sync_api import Page, expect

from stripe_sandbox import Sandbox

from .helpers import control, onboarded_account
from .test_subscriptions import MONTH, _subscribe

pytestmark = pytest.mark.e2e


def test_portal_and_hosted_invoice_pages(
    page: Page, client: stripe.StripeClient, sb: Sandbox, page_is_usable: Callable[[], None]
) -> None:
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=1_500, currency="usd")
    portal = client.v1.billing_portal.sessions.create(
        params={"customer": session.customer, "return_url": "http://127.0.0.1:9/back"}
    )
    page.goto(portal.url)
    expect(page.get_by_role("heading", name="Manage billing")).to_be_visible()
    page_is_usable()
    page.get_by_label("New card number").fill("4000000000000341")
    page.get_by_role("button", name="Update card").click()
    expect(page.get_by_text("Your card was updated.")).to_be_visible()
    expect(page.locator("#card")).to_contain_text("Visa ending 0341")

    control(sb, "clock/advance", seconds=MONTH)
    invoice = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(session.subscription).latest_invoice)
    page.goto(invoice.hosted_invoice_url)
    expect(page.locator("#status")).to_have_text("Due: $15.00.")
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    page_is_usable()
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name="Pay $15.00").click()
    expect(page.locator("#status")).to_contain_text("Paid on")
    assert client.v1.subscriptions.retrieve(session.subscription).status == "active"

    page.goto(portal.url)
    page.get_by_role("button", name="Cancel Coffee box").click()
    expect(page.get_by_text("Your subscription will end at the end of the current period.")).to_be_visible()
    expect(page.get_by_role("button", name="Renew Coffee box")).to_be_visible()
    page_is_usable()
    assert client.v1.subscriptions.retrieve(session.subscription).cancel_at_period_end is True
