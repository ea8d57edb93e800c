"""A platform admin with an authenticator app reaches the console only with its code: typed at login,
or, for a session opened without that step, on the page the console sends it to. Chromium at 375 px
with axe-core, the live server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from tests.e2e.browser import PHONE
from tests.e2e.test_every_page import Phone
from tests.factories import PASSWORD, make_platform_admin, totp_code, with_totp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _type_code(page: Page) -> None:
    page.get_by_role("textbox", name=re.compile(r"^Code")).fill(totp_code())
    page.get_by_role("button", name=re.compile("Sign In|Confirm", re.I)).click()


def test_the_console_asks_the_code_of_a_session_that_has_not_passed_it(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None, settings_mfa: None
) -> None:
    base = live_server.url
    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    phone = Phone(page, "admin")

    # The login form: password, then the code, then the console.
    admin = make_platform_admin(email="root@example.com")
    with_totp(admin)
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page).to_have_url(re.compile("/accounts/2fa/authenticate/"))
    phone.check()
    _type_code(page)
    page.goto(base + "/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Admin console")

    # A session Django's login() opened (no code asked): sent to type it, then back to the console.
    other = make_platform_admin(email="ops@example.com")  # another app, so another code than the first
    with_totp(other)
    client = Client()
    client.force_login(other)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )
    page.goto(base + "/console/")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/reauthenticate/\?next=%2Fconsole%2F"))
    expect(page.locator(".messages")).to_contain_text("this session has not passed it yet")
    phone.check()
    _type_code(page)
    expect(page).to_have_url(base + "/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Admin console")
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []


@pytest.fixture
def settings_mfa(settings: Any) -> None:
    settings.PLATFORM_ADMIN_REQUIRE_MFA = True
