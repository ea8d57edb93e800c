"""Each signed-in request reads its session and its user (with the seller id the header needs) in one
statement each (marketplace/sessions.py, marketplace/auth_backends.py), with Django's rules unchanged:
expired sessions, inactive users and changed passwords still sign the visitor out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.roles import is_seller
from sellers.models import Seller
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def signed_in_as(client: Client) -> str:
    return client.get(reverse("home")).content.decode()


def test_a_sellers_header_costs_the_session_and_the_user_only(client: Client, django_assert_num_queries: Any) -> None:
    seller = Seller.objects.create(user=UserFactory(), shop_name="Kiln", country="US", default_currency="usd")
    assert client.login(email=seller.user.email, password=PASSWORD)
    client.get(reverse("home"))  # the storefront's part is cached from now on
    with django_assert_num_queries(2):  # session, user with the seller id
        page = signed_in_as(client)
    assert seller.user.email in page and reverse("sell_listings") in page


def test_a_buyer_is_no_seller_until_the_shop_exists(client: Client) -> None:
    buyer = UserFactory()
    assert client.login(email=buyer.email, password=PASSWORD)
    assert reverse("sell_listings") not in signed_in_as(client)
    Seller.objects.create(user=buyer, shop_name="New shop", country="US", default_currency="usd")
    assert reverse("sell_listings") in signed_in_as(client)  # the next request reads the user anew
    fresh = type(buyer).objects.get(pk=buyer.pk)
    assert is_seller(fresh)  # without the loaded id, the relation answers


def test_an_expired_session_signs_out(client: Client) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    assert user.email in signed_in_as(client)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now() - timedelta(1))
    page = signed_in_as(client)
    assert user.email not in page and "Log in" in page


def test_an_inactive_user_is_signed_out(client: Client) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert user.email not in signed_in_as(client)


def test_a_changed_password_ends_the_other_sessions(client: Client) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    user.set_password("another-password-42")
    user.save()
    assert user.email not in signed_in_as(client)


def test_a_forged_session_key_is_no_session(client: Client) -> None:
    client.cookies["sessionid"] = "x' OR '1'='1"
    page = signed_in_as(client)
    assert "Log in" in page
