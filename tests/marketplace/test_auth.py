"""Sign-in rules: email logins, rate limits on the shared cache, logout, the three roles, admin MFA."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from marketplace.models import Session
from marketplace.roles import is_buyer, is_platform_admin, is_seller
from sellers.models import Seller
from tests.factories import PASSWORD, UserFactory, make_platform_admin, totp_code, with_totp

pytestmark = pytest.mark.django_db

LIMITED = "Too many failed login attempts"


def test_login_is_by_email(client: Client) -> None:
    user = UserFactory(email="ada@example.com")
    response = client.post(reverse("account_login"), {"login": "ADA@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_repeated_failed_logins_are_rate_limited_on_the_shared_cache(client: Client, clean_cache: None) -> None:
    UserFactory(email="bob@example.com")
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": "bob@example.com", "password": "wrong-password"})
        assert "Too many failed login attempts" not in response.content.decode()
    # The sixth try is refused even with the right password: the attacker learns nothing.
    response = client.post(reverse("account_login"), {"login": "bob@example.com", "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_rate_limits_use_a_cache_shared_between_processes() -> None:
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    # Redis, falling back to the process's memory only while Redis is down (tests/faults).
    assert isinstance(caches["default"], RedisCache)


def test_logout_invalidates_the_session_server_side(client: Client) -> None:
    client.force_login(UserFactory())
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=key).exists()
    # Replaying the old cookie does not sign anyone in.
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get(reverse("sell_home")).status_code == 302


def test_logout_by_get_is_refused(client: Client) -> None:
    client.force_login(UserFactory())
    client.get(reverse("account_logout"))
    assert "_auth_user_id" in client.session


def test_three_roles() -> None:
    buyer = UserFactory()
    seller_user = UserFactory()
    Seller.objects.create(user=seller_user, shop_name="Kiln", country="US", default_currency="usd")
    admin = make_platform_admin()
    staff_not_in_group = UserFactory(is_staff=True)
    assert is_buyer(buyer) and not is_seller(buyer) and not is_platform_admin(buyer)
    assert is_seller(seller_user)
    assert is_platform_admin(admin)
    assert not is_platform_admin(staff_not_in_group)


def test_console_is_hidden_from_everyone_but_platform_admins(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get(reverse("console_home")).status_code == 404
    client.force_login(make_platform_admin())
    assert client.get(reverse("console_home")).status_code == 200


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_platform_admin_without_totp_is_sent_to_set_it_up_then_to_pass_it(client: Client) -> None:
    """Setting the app up is not passing it: the session that had the password alone is asked the code
    before the console opens (the check once asked whether the admin *had* an app)."""
    admin = make_platform_admin()
    client.force_login(admin)
    response = client.get(reverse("console_home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    with_totp(admin)
    response = client.get(reverse("console_home"))
    assert response.status_code == 302
    assert response["Location"] == _pass_it(reverse("console_home"))
    _pass_totp(client, reverse("console_home"))
    assert client.get(reverse("console_home")).status_code == 200


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
@pytest.mark.parametrize("path", ["/api/v1/console/revenue", "/api/v1/console/disputes"])
def test_platform_admin_without_totp_cannot_use_the_console_api_either(client: Client, path: str) -> None:
    """The console's pages asked for an authenticator app, its API did not: a stolen admin password
    alone could accept disputes and read revenue through /api/v1/console/."""
    admin = make_platform_admin()
    client.force_login(admin)
    response = client.get(path)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "mfa_required"
    with_totp(admin)
    response = client.get(path)
    assert response.status_code == 403 and "this session" in response.json()["error"]["message"]
    _pass_totp(client, reverse("console_home"))
    assert client.get(path).status_code == 200
    client.force_login(UserFactory())
    assert client.get("/api/v1/me").status_code == 200  # not an admin: not asked


def test_signup_requires_email_verification_before_login(
    client: Client, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the email is an outbox row until the commit
        response = client.post(
            reverse("account_signup"),
            {"email": "new@example.com", "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
        )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert len(mailoutbox) == 1 and "new@example.com" in mailoutbox[0].to


def test_password_reset_by_email_link(
    client: Client, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    import re

    UserFactory(email="kim@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": "kim@example.com"})
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    form_page = client.get(link.group(1), follow=True)
    new_password = "another-long-phrase-7"
    client.post(form_page.request["PATH_INFO"], {"password1": new_password, "password2": new_password})
    assert Client().login(email="kim@example.com", password=new_password)
    assert not Client().login(email="kim@example.com", password=PASSWORD)


# --- Behind a proxy: the failed-login limit per IP is per client, not per proxy ------------------

PROXY = "10.0.0.2"  # the address every request comes from, behind the proxy


def _compose_default(name: str) -> str:
    """The value docker-compose.yml gives a variable of the app when the environment does not."""
    import re
    from pathlib import Path

    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    value = str(spec["x-app"]["environment"][name])
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match.group(1) if match else value


def _fail_logins(client: Client, times: int) -> list[str]:
    """Wrong passwords for accounts that do not exist, so only the per-IP limit can trip."""
    pages = []
    for _ in range(times):
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        response = client.post(reverse("account_login"), {"login": email, "password": "wrong"})
        pages.append(response.content.decode())
    return pages


def test_behind_the_production_proxy_clients_do_not_share_the_failed_login_limit(
    settings: Any, clean_cache: None
) -> None:
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = int(_compose_default("ALLAUTH_TRUSTED_PROXY_COUNT"))
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 1
    UserFactory(email="carol@example.com")
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66")
    pages = _fail_logins(attacker, 11)
    assert not any(LIMITED in page for page in pages[:10]) and LIMITED in pages[10]
    # Inventing an address in front of the one the proxy wrote does not help the attacker.
    spoofing = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.66")
    assert LIMITED in _fail_logins(spoofing, 1)[0]
    # Everyone else behind the same proxy still signs in.
    carol = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.10")
    response = carol.post(reverse("account_login"), {"login": "carol@example.com", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in carol.session


def test_without_trusted_proxies_a_client_cannot_escape_the_limit_with_a_forwarded_header(
    settings: Any, clean_cache: None
) -> None:
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0  # the default: a server reached directly
    pages = [
        _fail_logins(Client(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"), 1)[0]
        for n in range(11)
    ]
    assert not any(LIMITED in page for page in pages[:10]) and LIMITED in pages[10]


def test_the_trusted_proxy_count_comes_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ALLAUTH_TRUSTED_PROXY_COUNT": "2", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "2", result.stderr


def test_allauth_pages_carry_their_own_scripts_in_our_layout(client: Client) -> None:
    """The email page confirms before removing an address: its script comes in allauth's extra_body block."""
    client.force_login(UserFactory())
    page = client.get(reverse("account_email")).content.decode()
    assert "account/js/account.js" in page and "allauth.account.forms.manageEmailForm" in page


def _pass_it(next_path: str) -> str:
    from urllib.parse import urlencode

    return reverse("mfa_reauthenticate") + "?" + urlencode({"next": next_path})


def _pass_totp(client: Client, next_path: str) -> None:
    """Type the app's code where the check sends a signed-in staff session that has not passed it."""
    response = client.post(_pass_it(next_path), {"code": totp_code()})
    assert response.status_code == 302 and response["Location"] == next_path, response.content.decode()[:2000]


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_the_django_admin_login_form_does_not_sign_in_past_the_authenticator_app(client: Client) -> None:
    """Django's admin has its own login form, which asks for the password alone: an admin with an
    authenticator app was signed in there without its code, for the console too. It sends to the
    site's login, which asks for the code."""
    admin = make_platform_admin(email="root@example.com")
    with_totp(admin)

    response = client.post(reverse("admin:login"), {"username": "root@example.com", "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")
    assert client.get(reverse("console_home")).status_code != 200
    client.post(reverse("account_login"), {"login": "root@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session  # the password alone is not enough there
    assert client.get(reverse("mfa_authenticate")).status_code == 200  # the code is asked


@pytest.mark.parametrize("kind", ["superuser", "staff"])
@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_any_staff_user_needs_an_authenticator_app_for_the_django_admin(client: Client, kind: str) -> None:
    """Not only the platform admins' group: a superuser (or staff with model permissions) outside it
    used Django's admin, every table of the site, with the password alone."""
    user = UserFactory(is_staff=True, is_superuser=kind == "superuser")
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    with_totp(user)
    assert client.get(reverse("admin:index"))["Location"] == _pass_it(reverse("admin:index"))
    _pass_totp(client, reverse("admin:index"))
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("kind", ["password_reset", "signup", "already_exists"])
def test_account_emails_link_to_the_site_not_to_the_host_the_request_named(
    client: Client, mailoutbox: list, django_capture_on_commit_callbacks: Any, settings: Any, kind: str
) -> None:
    """allauth builds its links from the request's Host header: with a host list wider than it should
    be (a proxy passing any Host through, a `*` in DJANGO_ALLOWED_HOSTS), an attacker asking a reset for
    someone else's address had the email link to the attacker's site, with the reset key in it."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.SITE_URL = "https://shop.example"
    UserFactory(email="kim@example.com")
    post: dict[str, str] = {"email": "kim@example.com"}
    if kind != "password_reset":
        email = "new@example.com" if kind == "signup" else "kim@example.com"
        post = {"email": email, "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}
    url = reverse("account_reset_password" if kind == "password_reset" else "account_signup")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, post, HTTP_HOST="evil.example")
    [sent] = mailoutbox
    links = re.findall(r"https?://[^\s]+", sent.body)
    assert links and all(link.startswith("https://shop.example/") for link in links), sent.body
    assert "evil.example" not in sent.body + sent.subject


@pytest.mark.parametrize("kind", ["password_reset", "signup", "already_exists"])
def test_account_emails_greet_with_the_marketplace_name_not_the_host(
    client: Client, mailoutbox: list, django_capture_on_commit_callbacks: Any, settings: Any, kind: str
) -> None:
    """The demo's emails said "Hello from 127.0.0.1:8102!": allauth names the site by its host when no
    Site row names it. They greet and sign with `SITE_NAME`."""
    settings.SITE_URL = "http://127.0.0.1:8102"  # as `make demo` sets it
    UserFactory(email="kim@example.com")
    post: dict[str, str] = {"email": "kim@example.com"}
    if kind != "password_reset":
        email = "new@example.com" if kind == "signup" else "kim@example.com"
        post = {"email": email, "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"}
    url = reverse("account_reset_password" if kind == "password_reset" else "account_signup")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, post)
    [sent] = mailoutbox
    assert settings.SITE_NAME == "Marketplace"
    assert "Hello from Marketplace!" in sent.body and "Thank you for using Marketplace!" in sent.body, sent.body
    assert sent.subject.startswith("[Marketplace] ")
    assert "from 127.0.0.1" not in sent.body and "using 127.0.0.1" not in sent.body


# --- Staff sessions must have passed the authenticator app themselves ---------------------------


def _log_in_by_password_reset(client: Client, email: str, deliver: Any) -> None:
    """allauth's "log in on password reset": the reset link and a new password open a session."""
    from django.core import mail

    with override_settings(ACCOUNT_LOGIN_ON_PASSWORD_RESET=True):
        with deliver(execute=True):  # the email is an outbox row until the commit
            client.post(reverse("account_reset_password"), {"email": email})

        link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
        assert link, mail.outbox[-1].body
        form_page = client.get(link.group(1), follow=True)
        new_password = "another-long-phrase-7"
        client.post(form_page.request["PATH_INFO"], {"password1": new_password, "password2": new_password})


def _log_in_by_email_confirmation(client: Client, email: str, deliver: Any) -> None:
    """allauth's "log in on email confirmation": a password login stopped at an unverified address,
    and the link confirming it finishes the login in the same browser."""
    from allauth.account.models import EmailAddress
    from django.core import mail

    EmailAddress.objects.filter(email=email).update(verified=False)
    with override_settings(ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION=True, ACCOUNT_EMAIL_VERIFICATION="mandatory"):
        with deliver(execute=True):
            client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
        link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
        assert link, mail.outbox[-1].body
        client.post(link.group(1))


def _log_in_remembered(client: Client, email: str, deliver: Any) -> None:
    """A session that outlives the browser, made by Django's `login()` (as app code or a test would)."""
    from marketplace.models import User

    client.force_login(User.objects.get(email=email))
    session = client.session
    session.set_expiry(60 * 60 * 24 * 30)
    session.save()


@pytest.mark.parametrize(
    "log_in", [_log_in_by_password_reset, _log_in_by_email_confirmation, _log_in_remembered], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("kind", ["platform_admin", "superuser"])
@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_a_staff_session_that_skipped_the_authenticator_app_is_sent_to_pass_it(
    client: Client, mailoutbox: list, django_capture_on_commit_callbacks: Any, clean_cache: None, log_in: Any, kind: str
) -> None:
    """The check asked whether the admin *had* an authenticator app, not whether this session had
    passed it: a session opened by any way but the login form's code stage (Django's `login()`, a
    reset or confirmation link logging in, a remembered session from before the app was set up) had
    the console and Django's admin. It reads the session's own record of the steps it passed."""
    email = "root@example.com"
    user = (
        make_platform_admin(email=email)
        if kind == "platform_admin"
        else UserFactory(email=email, is_staff=True, is_superuser=True)
    )
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    with_totp(user)
    log_in(client, email, django_capture_on_commit_callbacks)

    pages = [reverse("admin:index")] + ([reverse("console_home")] if kind == "platform_admin" else [])
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302, page
        # Signed in, the session is asked the code; not signed in (allauth's own login stages asked
        # it), it must log in, with the code.
        signed_in = "_auth_user_id" in client.session
        expected = (_pass_it(page),) if signed_in else (reverse("account_login"), reverse("admin:login"))
        assert response["Location"].startswith(expected), response["Location"]
    if kind == "platform_admin":
        assert client.get("/api/v1/console/revenue").status_code in (401, 403)
    if "_auth_user_id" in client.session:
        _pass_totp(client, pages[0])
        for page in pages:
            assert client.get(page).status_code == 200, page


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_the_login_form_with_the_code_opens_the_console_and_django_admin(client: Client, clean_cache: None) -> None:
    admin = make_platform_admin(email="root@example.com")
    with_totp(admin)
    response = client.post(reverse("account_login"), {"login": "root@example.com", "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert client.get(reverse("console_home")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get("/api/v1/console/revenue").status_code == 200


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_people_who_are_not_staff_are_not_asked_for_an_authenticator_app(client: Client) -> None:
    buyer = UserFactory()
    with_totp(buyer)  # having one, never passed in this session, changes nothing for them
    client.force_login(buyer)
    assert client.get(reverse("home")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert client.get(reverse("console_home")).status_code == 404
    assert client.get(reverse("admin:index")).status_code == 302  # Django's admin: to the site's login


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
@pytest.mark.parametrize("path", ["/console/", "/console/refunds/", "/django-admin/", "/api/v1/console/revenue"])
def test_a_script_name_does_not_take_the_console_past_the_authenticator_app(client: Client, path: str) -> None:
    """The check matched `request.path`, which starts with the WSGI SCRIPT_NAME, while URLs resolve
    from `path_info`. gunicorn takes SCRIPT_NAME from a `SCRIPT_NAME` request header of a trusted
    forwarder (127.0.0.1 by default): `SCRIPT_NAME: /x` and `/x/console/` opened the console, its API
    and Django's admin to an admin's password alone, no authenticator app asked."""
    admin = make_platform_admin(is_superuser=True)
    client.force_login(admin)
    response = client.get(f"/x{path}", SCRIPT_NAME="/x", PATH_INFO=path)
    assert response.status_code in (302, 403), (path, response.status_code)
    if response.status_code == 403:
        assert response.json()["error"]["code"] == "mfa_required"
    else:
        assert response["Location"].endswith(reverse("mfa_activate_totp"))
