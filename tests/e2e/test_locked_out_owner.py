"""An account that strangers' failed sign-ins hold at its ceiling: its owner is told so on the sign-in
page and gets in by the password-reset link, signed in at once; emails asked too often for one address
get the site's own 429 page; sign-up with a taken address looks like any sign-up. Chromium at 375 px
with axe-core, the live server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from allauth.core.internal import ratelimit
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.e2e.browser import PHONE
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import PASSWORD, UserFactory
from tests.orders.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OWNER = "owner@example.com"
NEW_PASSWORD = "another-long-phrase-7"


def _on_a_phone(page: Page, axe_js: Path) -> Page:
    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    return page


def _botnet_fails_at(email: str) -> None:
    """Wrong passwords from as many addresses as it takes, each under its own limits, to fill the
    account's ceiling."""
    rates = {rate.per: rate.amount for rate in ratelimit.parse_rates(settings.ACCOUNT_RATE_LIMITS["login_failed"])}
    (ceiling,) = ratelimit.parse_rates(settings.ACCOUNT_RATE_LIMITS["login_failed_account"])
    for n in range(-(-ceiling.amount // rates["key"])):
        bot = Client(REMOTE_ADDR=f"10.{n // 250}.{n % 250}.1")
        for _ in range(rates["key"]):
            bot.post(reverse("account_login"), {"login": email, "password": "guess"})


def _sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()


def test_a_locked_out_owner_gets_in_by_the_reset_link(
    live_server: Any, page: Page, axe_js: Path, clean_cache: None
) -> None:
    UserFactory(email=OWNER)
    _botnet_fails_at(OWNER)
    page = _on_a_phone(page, axe_js)
    page.goto(live_server.url + "/accounts/login/")
    _sign_in(page, OWNER, PASSWORD)
    expect(page.get_by_text(re.compile("Too many failed login attempts.*reset your password"))).to_be_visible()
    fits_a_phone_and_passes_axe(page)

    page.get_by_role("link", name=re.compile("Forgot", re.I)).click()
    page.get_by_label("Email").fill(OWNER)
    page.get_by_role("button", name=re.compile("Reset", re.I)).click()
    expect(page.get_by_role("heading", name=re.compile("Password Reset", re.I))).to_be_visible()
    fits_a_phone_and_passes_axe(page)
    assert wait_until(lambda: any(m.to == [OWNER] for m in mail.outbox))
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body

    page.goto(live_server.url + link.group(1))
    fits_a_phone_and_passes_axe(page)
    page.get_by_label("New Password:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label(re.compile("New Password \\(again\\)")).fill(NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("Change Password", re.I)).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(OWNER)  # in at once: the link proved the inbox
    fits_a_phone_and_passes_axe(page)

    # The ceiling is cleared: signing in again with the new password works.
    page.locator(".menu > summary").click()  # at 375 px the site menu is folded
    page.get_by_role("button", name="Log out").click()
    page.goto(live_server.url + "/accounts/login/")
    _sign_in(page, OWNER, NEW_PASSWORD)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(OWNER)


def test_resets_asked_too_often_for_one_address_get_the_sites_429_page(
    live_server: Any, page: Page, axe_js: Path, clean_cache: None
) -> None:
    UserFactory(email=OWNER)
    per_address = next(
        rate.amount
        for rate in ratelimit.parse_rates(settings.ACCOUNT_RATE_LIMITS["reset_password"])
        if rate.per == "key"
    )
    page = _on_a_phone(page, axe_js)
    for n in range(per_address + 1):
        page.goto(live_server.url + "/accounts/password/reset/")
        page.get_by_label("Email").fill(OWNER)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name=re.compile("Reset", re.I)).click()
        assert answer.value.status == (429 if n == per_address else 302)
    expect(page.get_by_role("heading", name="Too many requests")).to_be_visible()
    fits_a_phone_and_passes_axe(page)
    page.get_by_role("link", name="Back to the storefront").click()
    expect(page).to_have_url(live_server.url + "/")


def test_signing_up_with_a_taken_address_looks_like_any_sign_up(
    live_server: Any, page: Page, axe_js: Path, clean_cache: None
) -> None:
    UserFactory(email=OWNER)
    page = _on_a_phone(page, axe_js)
    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password:", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again):").fill(NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    expect(page.get_by_role("heading", name=re.compile("Verify Your Email Address", re.I))).to_be_visible()
    fits_a_phone_and_passes_axe(page)
    assert wait_until(lambda: any(m.to == [OWNER] for m in mail.outbox))
    assert "already" in mail.outbox[-1].body and "Hello from Marketplace!" in mail.outbox[-1].body
