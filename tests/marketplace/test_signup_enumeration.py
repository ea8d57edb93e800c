"""Sign-up in production does not tell whether an address already has an account.

With mandatory email verification and allauth's enumeration prevention (production's settings, read
from `config.settings.production` below, whatever the environment says), signing up with a taken
address answers as a new one does: the "verify your email" page, and one email to that address (to
its owner: "you already have an account"). The demo verifies optionally and says "already registered":
there an account is usable at once, which needs the address to be free (README, Settings)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from marketplace.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-pass-phrase-9"


def _production_allauth() -> dict[str, Any]:
    """allauth's verification and enumeration settings as production has them, with the environment
    asking for the demo's "optional" (production must not take it)."""
    env = {**os.environ, "ACCOUNT_EMAIL_VERIFICATION": "optional"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x7!" + "k2Pq9vZr4tLm8wNb3yHc6jFd1sGa5eUo0iXy" * 2,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "sqlite:////tmp/enumeration.sqlite3",
    }
    code = (
        "import django, json; django.setup(); from allauth.account import app_settings as a;"
        " print(json.dumps({'ACCOUNT_EMAIL_VERIFICATION': a.EMAIL_VERIFICATION.value,"
        " 'ACCOUNT_PREVENT_ENUMERATION': a.PREVENT_ENUMERATION}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _sign_up(email: str, deliver: Any) -> tuple[Any, str]:
    client = Client()
    with deliver(execute=True):  # the email is an outbox row until the commit
        response = client.post(
            reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
        )
    page = client.get(response["Location"]).content.decode() if response.status_code == 302 else ""
    # The page as a person reads it: the address typed aside, and each session's own CSRF token.
    return response, re.sub(r'"X-CSRFToken": "\w+"', "", page.replace(email, "EMAIL"))


def test_production_sign_up_answers_a_taken_address_as_a_new_one(django_capture_on_commit_callbacks: Any) -> None:
    production = _production_allauth()
    assert production == {"ACCOUNT_EMAIL_VERIFICATION": "mandatory", "ACCOUNT_PREVENT_ENUMERATION": True}
    UserFactory(email="taken@example.com")
    with override_settings(**production):
        new, new_page = _sign_up("fresh@example.com", django_capture_on_commit_callbacks)
        taken, taken_page = _sign_up("taken@example.com", django_capture_on_commit_callbacks)
    assert (new.status_code, new["Location"]) == (taken.status_code, taken["Location"]) == (302, new["Location"])
    assert new_page == taken_page and "Verify" in new_page
    assert [m.to for m in mail.outbox] == [["fresh@example.com"], ["taken@example.com"]]
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_production_sign_up_takes_as_long_for_a_taken_address(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """A new account hashes its password, the slowest step of sign-up by far (hundreds of milliseconds
    with production's hasher): a taken address skipped it, and the answer's speed said the address was
    taken. It hashes the password as well, then throws the hash away."""
    hashed: list[str] = []
    encode = MD5PasswordHasher.encode
    monkeypatch.setattr(MD5PasswordHasher, "encode", lambda self, pw, salt: hashed.append(pw) or encode(self, pw, salt))
    UserFactory(email="taken@example.com")
    hashed.clear()
    with override_settings(**_production_allauth()):
        _sign_up("fresh@example.com", django_capture_on_commit_callbacks)
        assert hashed == [PASSWORD]
        _sign_up("taken@example.com", django_capture_on_commit_callbacks)
    assert hashed == [PASSWORD, PASSWORD]


def test_the_demo_says_an_address_is_taken(django_capture_on_commit_callbacks: Any) -> None:
    """The demo verifies optionally: an account is usable at once, so a taken address is refused."""
    UserFactory(email="taken@example.com")
    with override_settings(ACCOUNT_EMAIL_VERIFICATION="optional"):
        response, _ = _sign_up("taken@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "already registered" in response.content.decode()
