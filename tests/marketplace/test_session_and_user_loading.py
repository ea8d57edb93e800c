"""Each signed-in request reads its session and its user (with the seller id the header needs and the
buyer's Stripe Customer id) in one statement (marketplace/sessions.py, marketplace/auth_middleware.py),
with Django's rules unchanged: expired sessions, inactive users, changed passwords and signing out
still sign the visitor out, and the user's id beside the session's data is only a hint. On a kept
connection that read is also the request's health check: no `SELECT 1` before it, and a connection the
server closed is replaced as Django's check would have."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session as DjangoSession
from django.db import DataError, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Session
from marketplace.prepared import prepared_fetchone
from marketplace.roles import is_seller
from marketplace.sessions import STRIPE_CUSTOMER_ID, SessionStore
from orders.models import StripeCustomer
from orders.services.checkout import buyer_customer_of
from sellers.models import Seller
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def signed_in_as(client: Client) -> str:
    return client.get(reverse("home")).content.decode()


def test_a_sellers_header_costs_one_statement(client: Client, django_assert_num_queries: Any) -> None:
    seller = Seller.objects.create(user=UserFactory(), shop_name="Kiln", country="US", default_currency="usd")
    assert client.login(email=seller.user.email, password=PASSWORD)
    client.get(reverse("home"))  # the storefront's part is cached from now on
    with django_assert_num_queries(1):  # the session, with its user and the seller id joined
        page = signed_in_as(client)
    assert seller.user.email in page and reverse("sell_listings") in page


def test_the_session_row_names_its_user_and_signing_out_removes_it(client: Client) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    key = client.session.session_key
    assert Session.objects.get(session_key=key).user_id == user.pk
    assert user.email in signed_in_as(client)
    client.post(reverse("account_logout"))
    assert not Session.objects.filter(session_key=key).exists()
    assert "Log in" in signed_in_as(client)


def test_the_id_beside_the_data_is_only_a_hint(client: Client) -> None:
    """A row whose column names another user than its signed data does not sign in as that user."""
    user, other = UserFactory(), UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    Session.objects.filter(session_key=client.session.session_key).update(user_id=other.pk)
    page = signed_in_as(client)
    assert user.email in page and other.email not in page


def test_the_buyers_stripe_customer_comes_with_the_session(client: Client) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    store = SessionStore(client.session.session_key)
    assert store[SESSION_KEY] == str(user.pk)
    assert store.loaded_user.pk == user.pk and getattr(store.loaded_user, STRIPE_CUSTOMER_ID) is None
    assert buyer_customer_of(user=store.loaded_user) is None  # known: never paid, no query
    StripeCustomer.objects.create(user=user, stripe_customer_id="cus_hint")
    fresh = SessionStore(client.session.session_key)
    fresh.load()
    assert buyer_customer_of(user=fresh.loaded_user) == "cus_hint"
    assert buyer_customer_of(user=type(user).objects.get(pk=user.pk)) == "cus_hint"  # not from a session: read


def test_sessions_made_before_the_move_are_copied_with_their_user() -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("marketplace.migrations.0003_session_with_user")
    user = UserFactory()
    data = SessionStore().encode({SESSION_KEY: str(user.pk), "cart_id": 3})
    later = timezone.now() + timedelta(days=1)
    DjangoSession.objects.create(session_key="old-signed-in", session_data=data, expire_date=later)
    DjangoSession.objects.create(session_key="old-anonymous", session_data=SessionStore().encode({}), expire_date=later)
    DjangoSession.objects.create(session_key="old-expired", session_data=data, expire_date=timezone.now())
    migration.copy_sessions(apps, None)
    assert Session.objects.get(session_key="old-signed-in").user_id == user.pk
    assert Session.objects.get(session_key="old-anonymous").user_id is None
    assert not Session.objects.filter(session_key="old-expired").exists()
    assert SessionStore("old-signed-in")["cart_id"] == 3


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


# --- The session's read is the request's connection health check (marketplace.prepared.prepared_fetchone) ---


def _new_request() -> None:
    """What Django does to the kept connection when a request starts (`close_old_connections`; the test
    client leaves it out): the next statement is due a health check."""
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is not None and not connection.health_check_done


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_page_on_a_kept_connection_sends_its_one_statement_and_no_health_check(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    signed_in_as(client)  # the storefront's part is cached from now on; the connection is kept
    checks: list[object] = []
    wrapper = connections["default"]
    is_usable = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda: checks.append(wrapper) or is_usable())
    _new_request()
    with CaptureQueriesContext(connection) as statements:
        page = signed_in_as(client)
    assert user.email in page
    assert len(statements) == 1 and not checks  # Django's SELECT 1 would have been a round trip of its own


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_and_the_page_still_signed_in(client: Client) -> None:
    user = UserFactory()
    assert client.login(email=user.email, password=PASSWORD)
    signed_in_as(client)
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(1000):  # until the server has ended it
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None:
                break
        else:
            pytest.fail("the backend was not terminated")
    _new_request()
    page = signed_in_as(client)
    assert user.email in page
    assert connection.connection.info.backend_pid != pid


@pytest.mark.django_db(transaction=True)
def test_an_error_of_the_statement_itself_is_raised_and_the_connection_kept() -> None:
    UserFactory()  # a statement, so the connection is open and kept
    pid = connection.connection.info.backend_pid
    _new_request()
    with pytest.raises(DataError):
        prepared_fetchone("SELECT 1 / %s", [0])
    assert connection.connection.info.backend_pid == pid
    assert prepared_fetchone("SELECT %s::int + 1", [1]) == (2,)
