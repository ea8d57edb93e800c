"""Steps a person takes in the browser, shared by the page-flow tests."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)
