from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client: Client) -> None:
    body = client.get("/healthz").json()
    assert body["checks"]["database"]["ok"] is True
    assert "broker" in body["checks"]


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0", STRIPE_API_BASE=None)
def test_healthz_is_503_when_the_broker_is_down(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@override_settings(STRIPE_API_BASE="http://127.0.0.1:1")
def test_healthz_reports_an_unreachable_stripe_api_base(client: Client) -> None:
    body = client.get("/healthz").json()
    assert body["checks"]["stripe"] == {
        "ok": False,
        "error": "ConnectionRefusedError",
        "api_base": "http://127.0.0.1:1",
    }
