"""Walking the demo: signing up with an address longer than the 254 characters an email address may
have (and our user table holds) made an account anyway, its address cut to 254 characters by allauth
(`user_field` truncates to the column), the domain gone: the confirmation email went nowhere and the
address typed could never sign in. The form now refuses it, saying why, and makes no account."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from marketplace.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-pass-phrase-9"


@pytest.mark.parametrize("local", [300, 243], ids=["far too long", "255 characters"])
def test_an_address_longer_than_an_email_can_be_is_refused_at_sign_up(local: int) -> None:
    email = "x" * local + "@example.com"
    assert len(email) > 254
    response = Client().post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert "An email address has at most 254 characters." in html.unescape(response.content.decode())
    assert not User.objects.exists()


def test_an_address_of_254_characters_signs_up_whole() -> None:
    email = "x" * 242 + "@example.com"
    assert len(email) == 254
    response = Client().post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert User.objects.get().email == email
