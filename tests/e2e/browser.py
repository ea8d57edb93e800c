"""Steps a person takes in the browser, shared by the page-flow tests."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.factories import PASSWORD

PHONE: ViewportSize = {"width": 375, "height": 812}


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)


def phone_signed_in(browser: Browser, axe_js: Path, base: str, email: str) -> Page:
    """A page of a new phone-sized browser (375 px) with axe in every page it opens, signed in as `email`.
    Close it with `page.context.close()`."""
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(path=axe_js)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, base, email)
    return page
