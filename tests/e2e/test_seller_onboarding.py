"""A person signs up, starts selling, completes Stripe's hosted onboarding and comes back "Active";
then Stripe asks for more, the seller reads it in plain words with the deadline, and "Continue
onboarding" opens a fresh hosted link. Chromium, the live server and the sandbox, all over HTTP."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests
from django.core import mail
from playwright.sync_api import Page, expect

from sellers.models import Seller

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-pass-phrase-9"


def _sign_up_and_log_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    expect(page.get_by_role("heading", name=re.compile("Verify Your Email Address", re.I))).to_be_visible()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    assert link
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)


def test_seller_onboards_to_active_then_handles_requirements_due(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None
) -> None:
    _sign_up_and_log_in(page, live_server.url, "jenny@example.com")

    page.get_by_role("link", name="Sell").click()
    page.get_by_label("Shop name").fill("Jenny's Ceramics")
    page.get_by_label("Country where your business is based").select_option("US")
    page.get_by_label("Currency for prices and payouts").select_option("usd")
    page.get_by_role("button", name="Start selling").click()

    # Stripe's hosted onboarding (the sandbox's page), then back to our return URL.
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    first_link = page.url
    page.get_by_role("button", name="Agree and submit").click()
    expect(page.get_by_test_id("seller-status")).to_have_text("Active")
    expect(page.get_by_text("You're all set: your shop can take payments.")).to_be_visible()
    expect(page.get_by_role("button", name="Open Stripe Express dashboard")).to_be_visible()
    expect(page.get_by_test_id("listings-visibility")).to_have_text("Your published listings are visible to buyers.")

    # Stripe now needs more, by a deadline; the webhook brings it in.
    seller = Seller.objects.get()
    deadline = int(time.time()) + 4 * 86400
    requests.post(
        f"{sandbox_webhooks.url}/_sandbox/accounts/{seller.stripe_account_id}/requirements",
        json={
            "currently_due": ["individual.verification.document", "individual.dob.day", "individual.dob.year"],
            "past_due": [],
            "current_deadline": deadline,
        },
        timeout=10,
    ).raise_for_status()
    # Every delivery was answered, and the intake answers once the event is processed (eager tasks).
    assert sandbox_webhooks.wait_for_webhooks()
    page.reload()
    expect(page.get_by_test_id("seller-status")).to_have_text("Action required")
    requirements = page.get_by_test_id("requirements")
    expect(requirements).to_contain_text("Provide your identity document")
    expect(requirements).to_contain_text("Provide your date of birth.")
    seller.refresh_from_db()
    assert seller.current_deadline is not None
    expect(page.get_by_test_id("deadline")).to_contain_text(f"Due by {seller.current_deadline:%-d %B %Y}")

    expect(page.get_by_test_id("status-headline")).to_have_text(
        f"Stripe needs more information by {seller.current_deadline:%-d %B %Y}"
    )
    page.get_by_role("button", name="Provide the information").click()
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    assert page.url != first_link and "/hosted/onboarding/" in page.url
    page.get_by_role("button", name="Agree and submit").click()
    expect(page.get_by_test_id("seller-status")).to_have_text("Active")
    expect(page.get_by_test_id("status-headline")).to_have_text("Your shop is ready to sell")
    expect(page.get_by_test_id("requirements")).to_have_count(0)


@pytest.mark.parametrize("why", ["listed", "paused"])
def test_back_from_stripe_with_nothing_due_is_not_told_stripe_needs_something(
    live_server: Any, browser: Any, axe_js: Any, sandbox_webhooks: Any, clean_cache: None, why: str
) -> None:
    """A seller Stripe holds back for a reason of its own (a screening list: nothing to provide) or the
    marketplace paused comes back from a Stripe link opened before (another tab): the page said "Stripe still
    needs a few things from you: see below" above a card that asks for nothing."""
    from sellers.services import seller_pause
    from tests.e2e.browser import phone_signed_in
    from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
    from tests.orders.conftest import active_seller

    seller = active_seller(sandbox_webhooks, shop="Quiet Kiln")
    if why == "listed":
        requests.post(
            f"{sandbox_webhooks.url}/_sandbox/accounts/{seller.stripe_account_id}/requirements",
            json={"currently_due": [], "disabled_reason": "listed"},
            timeout=10,
        ).raise_for_status()
        assert sandbox_webhooks.wait_for_webhooks()
    else:
        seller_pause(seller=seller, actor=None, reason="Photos under review")
    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/onboarding/{seller.pk}/return/")
        expect(page.get_by_test_id("seller-status")).to_have_text(
            "Restricted" if why == "listed" else "Paused by the platform"
        )
        expect(page.get_by_test_id("requirements")).to_have_count(0)
        expect(page.get_by_text("Stripe still needs")).to_have_count(0)
        expect(page.locator(".messages")).to_have_text("You're back from Stripe: where your shop stands is below.")
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
