"""The templates' CSRF token (marketplace/csrf.py): Django's token, made with one read of os.urandom per
random string. Django's CsrfViewMiddleware accepts it and refuses anything else, each page hides the same
secret under a new mask, and every character is drawn uniformly."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
from django.test import Client
from django.urls import reverse

from marketplace import csrf
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def signed_in_client() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    return client


def test_the_logout_forms_token_is_accepted_and_a_forged_one_refused() -> None:
    client = signed_in_client()
    page = client.get(reverse("home"))
    token = TOKEN.search(page.content.decode())
    assert token is not None and settings.CSRF_COOKIE_NAME in page.cookies  # a new secret, sent as the cookie
    forged = "a" * 64
    assert client.post(reverse("account_logout"), {"csrfmiddlewaretoken": forged}).status_code == 403
    assert client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    assert "Log in" in client.get(reverse("home")).content.decode()


def test_each_page_masks_the_same_secret_anew_and_renews_the_cookie() -> None:
    client = signed_in_client()
    first = client.get(reverse("home"))
    secret = first.cookies[settings.CSRF_COOKIE_NAME].value
    tokens = []
    for _ in range(3):
        page = client.get(reverse("home"))
        found = TOKEN.search(page.content.decode())
        assert found is not None
        tokens.append(found.group(1))
        assert page.cookies[settings.CSRF_COOKIE_NAME].value == secret  # sent again: its expiry renewed
    assert len(set(tokens)) == 3
    assert all(len(t) == 64 and _unmask_cipher_token(t) == secret for t in tokens)


def test_random_strings_use_only_bytes_that_keep_every_character_equally_likely(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = iter([bytes([248, 255, 0, 61, 62, 247]), bytes([1, 250, 123] + [0] * 20)])
    monkeypatch.setattr(csrf.os, "urandom", lambda n: next(reads))
    drawn = csrf.random_string(5)
    chars = CSRF_ALLOWED_CHARS
    assert drawn == chars[0] + chars[61] + chars[0] + chars[247 % 62] + chars[1]  # 248 and up: skipped


def test_random_strings_are_of_the_allowed_characters_and_the_asked_length() -> None:
    drawn = [csrf.random_string() for _ in range(200)]
    assert all(len(s) == 32 and set(s) <= set(CSRF_ALLOWED_CHARS) for s in drawn)
    assert len(set(drawn)) == 200


def test_pages_take_their_token_from_here(monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in_client()
    drawn: list[int] = []
    random_string = csrf.random_string
    monkeypatch.setattr(csrf, "random_string", lambda *args: drawn.append(1) or random_string(*args))
    monkeypatch.setattr("django.middleware.csrf.get_random_string", lambda *args, **kwargs: pytest.fail("Django's"))
    page = client.get(reverse("home")).content.decode()
    assert TOKEN.search(page) and len(drawn) == 2  # the new secret and its mask, one os.urandom read each
