from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from tests.factories import make_platform_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    """`/healthz`'s details are for platform admins; anyone else sees each check's `ok`."""
    client.force_login(make_platform_admin())
    return client


def test_healthz_reports_database_and_broker(admin_client: Client) -> None:
    body = admin_client.get("/healthz").json()
    assert body["checks"]["database"]["ok"] is True
    assert "broker" in body["checks"]


def test_anyone_else_sees_only_what_is_up(client: Client, sandbox: Any) -> None:
    """The details (database vendor, broker mode, Stripe's address) are not for the public."""
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "broker": {"ok": True}, "stripe": {"ok": True}},
    }


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_reports_a_down_broker_as_degraded_but_keeps_the_node_in_service(admin_client: Client) -> None:
    # The pages work without the broker (the outbox and the sweepers catch up): 200, "degraded".
    response = admin_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["broker"]["ok"] is False


@override_settings(STRIPE_API_BASE="http://127.0.0.1:1")
def test_healthz_reports_an_unreachable_stripe_api_base(admin_client: Client) -> None:
    response = admin_client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["stripe"] == {
        "ok": False,
        "error": "ConnectionError",
        "api_base": "http://127.0.0.1:1",
    }


def test_healthz_reads_stripe_for_real(admin_client: Client, sandbox: Any) -> None:
    stripe = admin_client.get("/healthz").json()["checks"]["stripe"]
    assert stripe["ok"] is True and stripe["api_base"] == sandbox.url and stripe["ms"] < 1000


def test_stripe_is_read_at_most_once_per_probe_period(admin_client: Client, sandbox: Any, settings: Any) -> None:
    """A flood of /healthz must not spend the platform's Stripe rate limit: within the period, the
    last read answers (seen here by moving Stripe away: the answer is still the earlier read's)."""
    first = admin_client.get("/healthz").json()["checks"]["stripe"]  # a fresh read (the tests' period is 0)
    assert first["ok"] is True and first["api_base"] == sandbox.url
    settings.HEALTHZ_STRIPE_PROBE_SECONDS = 60
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    assert admin_client.get("/healthz").json()["checks"]["stripe"] == first
    settings.HEALTHZ_STRIPE_PROBE_SECONDS = 0
    assert admin_client.get("/healthz").json()["checks"]["stripe"]["ok"] is False


@override_settings(PLATFORM_ADMIN_REQUIRE_MFA=True)
def test_the_details_wait_for_the_authenticator_app_as_the_console_does(client: Client, sandbox: Any) -> None:
    """With admins' authenticator app required, the console opens only to a session that passed it;
    `/healthz` showed its details (database vendor, broker mode, Stripe's address, errors) to an
    admin's password alone."""
    client.force_login(make_platform_admin())
    body = client.get("/healthz").json()
    assert body["checks"] == {"database": {"ok": True}, "broker": {"ok": True}, "stripe": {"ok": True}}
