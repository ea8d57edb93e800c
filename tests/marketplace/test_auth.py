"""Sign-in rules: email logins, rate limits on the shared cache, logout, the three roles, admin MFA."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse

from marketplace.roles import is_buyer, is_platform_admin, is_seller
from sellers.models import Seller
from tests.factories import PASSWORD, UserFactory, make_platform_admin

pytestmark = pytest.mark.django_db


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
def test_platform_admin_without_totp_is_sent_to_set_it_up(client: Client) -> None:
    from allauth.mfa.models import Authenticator

    admin = make_platform_admin()
    client.force_login(admin)
    response = client.get(reverse("console_home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert client.get(reverse("console_home")).status_code == 200


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
