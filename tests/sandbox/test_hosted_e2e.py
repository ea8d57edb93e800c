"""The hosted pages in a real browser: onboarding, declined cards, a failed and a passed 3-D Secure step, a paid
checkout and what the buyer sees coming back to it, an expired one."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import stripe
from playwright.sync_api import Page, expect

from stripe_sandbox import Sandbox
from stripe_sandbox.resources.payments import AUTH_FAILED_BUYER

from .helpers import destination_session, onboarded_account

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


def test_failed_authentication_then_another_card_then_back(
    page: Page, client: stripe.StripeClient, sb: Sandbox, page_is_usable: Callable[[], None]
) -> None:
    """Issue 10 items 2 and 8: fail 3-D Secure, pay with 4242 on the same page, then press Back."""
    seller = onboarded_account(client, sb)
    success = f"{sb.url}/_sandbox/?paid={{CHECKOUT_SESSION_ID}}"
    session = destination_session(client, seller, 3_000, 300, success_url=success, cancel_url=f"{sb.url}/_sandbox/")
    page.goto(session.url)
    page_is_usable()
    page.get_by_label("Card number").fill("4000002500003155")
    page.get_by_role("button", name="Pay").click()
    page_is_usable()
    page.get_by_role("button", name="Fail").click()
    expect(page).to_have_url(session.url)
    expect(page.get_by_role("alert")).to_have_text(AUTH_FAILED_BUYER)
    page_is_usable()
    page.get_by_label("Card number").fill("4000000000000002")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    page.get_by_label("Card number").fill("4242424242424242")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/?paid={session.id}")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"

    page.go_back()
    expect(page.get_by_role("heading", name="Payment complete")).to_be_visible()
    page_is_usable()
    expect(page.get_by_role("status")).to_contain_text("$30.00")
    page.get_by_role("link", name=re.compile("^Return to ")).click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/?paid={session.id}")


def test_expired_session_page_leads_back_to_the_shop(
    page: Page, client: stripe.StripeClient, sb: Sandbox, page_is_usable: Callable[[], None]
) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 1_000, 100, cancel_url=f"{sb.url}/_sandbox/?cancelled=1")
    client.v1.checkout.sessions.expire(session.id)
    page.goto(session.url)
    expect(page.get_by_role("heading", name="This checkout session has expired")).to_be_visible()
    page_is_usable()
    page.get_by_role("link", name=re.compile("^Return to ")).click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/?cancelled=1")


def test_a_long_item_name_wraps_on_a_phone(
    page: Page, client: stripe.StripeClient, sb: Sandbox, page_is_usable: Callable[[], None]
) -> None:
    """A seller may name an item with one long word (140 characters are allowed by the app): the hosted
    page wraps it instead of making the buyer scroll sideways to find the Pay button."""
    acct = onboarded_account(client, sb, country="JP")
    name = "W" * 140
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "http://app/success?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app/cancel",
            "line_items": [
                {
                    "price_data": {"currency": "jpy", "unit_amount": 3_000, "product_data": {"name": name}},
                    "quantity": 2,
                }
            ],
            "payment_intent_data": {"application_fee_amount": 300, "transfer_data": {"destination": acct}},
        }
    )
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(session.url)
    expect(page.get_by_role("cell", name=name)).to_be_visible()
    expect(page.locator("#total")).to_have_text("¥6,000")
    page_is_usable()
