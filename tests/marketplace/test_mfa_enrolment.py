"""A staff user's first authenticator app is set up only after a code sent to the account's verified
address: with the password alone (allauth asked it again, and nothing more), someone who had stolen
an admin's password set up their own app and then passed the very check meant to stop them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.http import urlencode

from tests.factories import PASSWORD, UserFactory, make_platform_admin, totp_code

pytestmark = pytest.mark.django_db

ACTIVATE = reverse("mfa_activate_totp")
REQUEST_CODE = reverse("account_request_reauthentication_code")
CONFIRM_CODE = reverse("account_confirm_reauthentication_code")
ASK_CODE_FIRST = REQUEST_CODE + "?" + urlencode({"next": ACTIVATE})


def _app_code(client: Client) -> str:
    """The code an app shows for the secret the set-up page offered this session."""
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    return totp_code(client.session[SECRET_SESSION_KEY])


def _set_up_app(client: Client) -> Any:
    """Open the set-up page and give it the new app's code, as a person scanning it would."""
    client.get(ACTIVATE)
    return client.post(ACTIVATE, {"code": _app_code(client)})


def _admin_with_code(client: Client, deliver: Any) -> tuple[Any, str]:
    """A platform admin without an app, signed in by password, and the code mailed to them."""
    admin = make_platform_admin(email="root@example.com")
    client.force_login(admin)
    return admin, _request_code(client, admin.email, deliver)


def _request_code(client: Client, email: str, deliver: Any) -> str:
    with deliver(execute=True):  # the email is an outbox row until the commit
        response = client.post(ASK_CODE_FIRST, {"recipient": email})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith(CONFIRM_CODE)
    sent = mail.outbox[-1]
    assert sent.to == [email]
    found = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", sent.body, re.M)
    assert found, sent.body
    return found.group(1)


def _confirm(client: Client, code: str) -> Any:
    return client.post(CONFIRM_CODE + "?" + urlencode({"next": ACTIVATE}), {"code": code})


def test_a_staff_user_with_the_password_alone_cannot_set_up_an_app(client: Client, clean_cache: None) -> None:
    admin = make_platform_admin(email="root@example.com")
    client.post(reverse("account_login"), {"login": admin.email, "password": PASSWORD})

    response = client.get(ACTIVATE)
    assert response.status_code == 302 and response["Location"] == ASK_CODE_FIRST
    # Typing the password again (allauth's own re-authentication) is no way round it.
    response = client.get(reverse("account_reauthenticate") + "?" + urlencode({"next": ACTIVATE}))
    assert response.status_code == 302 and response["Location"].startswith(REQUEST_CODE)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert _set_up_app_refused(client)
    page = client.get(ASK_CODE_FIRST).content.decode()
    assert "we email you a code" in page


def _set_up_app_refused(client: Client) -> bool:
    client.get(ACTIVATE)
    client.post(ACTIVATE, {"code": "123456"})
    return not Authenticator.objects.exists()


def test_the_code_sent_to_the_verified_address_opens_the_set_up(
    client: Client, clean_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    admin, code = _admin_with_code(client, django_capture_on_commit_callbacks)
    response = _confirm(client, code)

    assert response.status_code == 302 and response["Location"] == ACTIVATE
    response = _set_up_app(client)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()


def test_a_wrong_code_is_refused_and_the_third_ends_it(
    client: Client, clean_cache: None, django_capture_on_commit_callbacks: Any
) -> None:
    _, code = _admin_with_code(client, django_capture_on_commit_callbacks)

    for wrong in ("000000", "x" * 5000, "\u0430\u0431"):
        response = _confirm(client, wrong)
        assert response.status_code in (200, 302)
    assert response.status_code == 302 and response["Location"].startswith(REQUEST_CODE)
    assert _confirm(client, code)["Location"].startswith(REQUEST_CODE)  # the right one comes too late
    assert _set_up_app_refused(client)


def test_a_code_expires(client: Client, clean_cache: None, django_capture_on_commit_callbacks: Any) -> None:
    from allauth.account.internal.flows.reauthenticate_by_code import REAUTHENTICATION_CODE_SESSION_KEY

    _, code = _admin_with_code(client, django_capture_on_commit_callbacks)
    session = client.session
    session[REAUTHENTICATION_CODE_SESSION_KEY]["at"] -= 10 * 60  # sent ten minutes ago
    session.save()

    assert _confirm(client, code)["Location"].startswith(REQUEST_CODE)
    assert _set_up_app_refused(client)


def test_codes_asked_too_often_are_refused_in_words(client: Client, clean_cache: None) -> None:
    admin = make_platform_admin(email="root@example.com")
    client.force_login(admin)
    for _ in range(5):  # ACCOUNT_RATE_LIMITS["request_login_code"]: 5 an hour per address
        client.post(ASK_CODE_FIRST, {"recipient": "root@example.com"})
    response = client.post(ASK_CODE_FIRST, {"recipient": "root@example.com"})
    assert response.status_code == 200
    assert "Too many" in response.content.decode()


def test_an_address_of_someone_else_is_not_a_recipient(client: Client, clean_cache: None) -> None:
    admin = make_platform_admin(email="root@example.com")
    client.force_login(admin)
    for recipient in ("thief@example.com", "", "x" * 10000):
        response = client.post(ASK_CODE_FIRST, {"recipient": recipient})
        assert response.status_code == 200
    assert mail.outbox == []


def test_a_staff_user_cannot_add_an_address_of_theirs_to_receive_the_code(client: Client, clean_cache: None) -> None:
    """Else: add the thief's address, confirm it from the thief's inbox, and have the code sent there."""
    admin = make_platform_admin(email="root@example.com")
    client.force_login(admin)

    response = client.post(reverse("account_email"), {"action_add": "", "email": "thief@example.com"})

    assert response.status_code == 302 and response["Location"].startswith(REQUEST_CODE)
    assert not EmailAddress.objects.filter(email="thief@example.com").exists()


def test_a_staff_user_without_a_verified_address_is_told_what_to_do(client: Client, clean_cache: None) -> None:
    admin = make_platform_admin(email="root@example.com", verified=False)
    client.force_login(admin)

    response = client.get(ACTIVATE, follow=True)

    assert "no verified email address" in response.content.decode()
    assert _set_up_app_refused(client)


def test_a_staff_user_with_an_app_adds_another_as_before(client: Client, clean_cache: None) -> None:
    """Recovery codes and a second app are allauth's own: the account already has its app's proof."""
    admin = make_platform_admin()
    Authenticator.objects.create(user=admin, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00" * 20})
    client.force_login(admin)
    client.post(reverse("account_reauthenticate") + "?" + urlencode({"next": ACTIVATE}), {"password": PASSWORD})
    assert _set_up_app(client).status_code == 302
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_a_buyer_sets_up_an_app_with_the_password_as_before(client: Client, clean_cache: None) -> None:
    buyer = UserFactory()
    client.post(reverse("account_login"), {"login": buyer.email, "password": PASSWORD})
    response = client.get(ACTIVATE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate") + "?" + urlencode({"next": ACTIVATE}), {"password": PASSWORD})
    assert _set_up_app(client).status_code == 302
    assert Authenticator.objects.filter(user=buyer, type=Authenticator.Type.TOTP).exists()
