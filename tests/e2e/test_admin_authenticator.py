"""A platform admin with an authenticator app reaches the console only with its code: typed at login,
or, for a session opened without that step, on the page the console sends it to. One without an app
sets it up only after a code emailed to the account's address. Chromium at 375 px with axe-core, the
live server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core import mail
from django.test import Client
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import PASSWORD, make_platform_admin, totp_code, with_totp
from tests.orders.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _type_code(page: Page) -> None:
    page.get_by_role("textbox", name=re.compile(r"^Code")).fill(totp_code())
    page.get_by_role("button", name=re.compile("Sign In|Confirm", re.I)).click()


def test_the_console_asks_the_code_of_a_session_that_has_not_passed_it(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None, settings_mfa: None
) -> None:
    base = live_server.url
    phone = on_a_phone(page, axe_js, "admin")

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


def test_an_admin_sets_up_the_app_only_with_a_code_from_the_inbox(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None, settings_mfa: None
) -> None:
    """The password alone set up a thief's app: the set-up page now asks a code mailed to the account."""
    base = live_server.url
    phone = on_a_phone(page, axe_js, "admin")
    admin = make_platform_admin(email="root@example.com")

    log_in(page, base, admin.email)  # the password is all it takes: there is no app to ask yet
    page.goto(base + "/console/")
    # Sent to set up an app, and from there to prove the address first.
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/code/\?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"))
    expect(page.locator(".messages")).to_contain_text("we email you a code")
    phone.check()
    page.get_by_label("Email address").select_option("root@example.com")
    page.get_by_role("button", name=re.compile("Request Code", re.I)).click()
    expect(page).to_have_url(re.compile("/accounts/reauthenticate/code/confirm/"))
    phone.check()

    # A wrong code is refused in words, with the box to try again.
    page.get_by_role("textbox", name=re.compile("^Code")).fill("WRONG1")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    phone.check()

    assert wait_until(lambda: any(m.to == ["root@example.com"] for m in mail.outbox))
    found = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", mail.outbox[-1].body, re.M)
    assert found, mail.outbox[-1].body
    page.get_by_role("textbox", name=re.compile("^Code")).fill(found.group(1))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile("/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    phone.check()
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_role("textbox", name=re.compile("^Authenticator code")).fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Recovery Codes", re.I))
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()
    assert [str(c) for c in phone.checks if not c.ok] == []


@pytest.fixture
def settings_mfa(settings: Any) -> None:
    settings.PLATFORM_ADMIN_REQUIRE_MFA = True
