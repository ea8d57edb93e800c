"""The hosted pages in a real browser: onboarding, a declined card, a paid checkout, 3-D Secure."""

from __future__ import annotations

import re

import pytest
import stripe
from playwright.sync_api import Page, expect

from stripe_sandbox import Sandbox

from .helpers import destination_session

pytestmark = pytest.mark.e2e


def test_onboard_then_pay_with_decline_and_success(page: Page, client: stripe.StripeClient, sb: Sandbox) -> None:
    acct = client.v1.accounts.create(
        params={
            "type": "express",
            "country": "US",
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        }
    )
    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": f"{sb.url}/_sandbox/?refresh=1",
            "return_url": f"{sb.url}/_sandbox/?onboarded=1",
        }
    )
    page.goto(link.url)
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    page.get_by_role("button", name="Agree and submit").click()
    expect(page).to_have_url(re.compile(r"/_sandbox/\?onboarded=1$"))
    assert client.v1.accounts.retrieve(acct.id).charges_enabled is True

    session = destination_session(
        client,
        acct.id,
        10_000,
        1_000,
        success_url=f"{sb.url}/_sandbox/?paid={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{sb.url}/_sandbox/?cancel=1",
    )
    page.goto(session.url)
    expect(page.locator("#total")).to_have_text("$100.00")
    expect(page.get_by_role("link", name="Cancel")).to_have_attribute("href", f"{sb.url}/_sandbox/?cancel=1")
    page.get_by_label("Card number").fill("4000000000000002")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/?paid={session.id}")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_three_d_secure_page(page: Page, client: stripe.StripeClient, sb: Sandbox) -> None:
    acct = client.v1.accounts.create(params={"type": "express"})
    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": f"{sb.url}/_sandbox/",
            "return_url": f"{sb.url}/_sandbox/",
        }
    )
    page.goto(link.url)
    page.get_by_role("button", name="Agree and submit").click()
    session = destination_session(client, acct.id, 2_500, 250, success_url=f"{sb.url}/_sandbox/?ok=1")
    page.goto(session.url)
    page.get_by_label("Card number").fill("4000002500003155")
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("button", name="Complete").click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/?ok=1")
