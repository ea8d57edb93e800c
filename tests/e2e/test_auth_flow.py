"""A person signs up, verifies their email from the outbox, logs in and logs out, in Chromium."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-pass-phrase-9"


def test_sign_up_verify_log_in_log_out(live_server, page: Page, clean_cache: None) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign Up", re.I)).click()
    expect(page.get_by_role("heading", name=re.compile("Verify Your Email Address", re.I))).to_be_visible()

    # Not signed in until the address is verified.
    page.goto(live_server.url + "/sell/")
    expect(page).to_have_url(re.compile("/accounts/login/"))

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text("grace@example.com")
    page.get_by_role("link", name="Sell").click()
    expect(page.get_by_role("heading", name="Sell on Marketplace")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto(live_server.url + "/sell/")
    expect(page).to_have_url(re.compile("/accounts/login/"))
