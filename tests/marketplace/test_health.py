from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client: Client) -> None:
    body = client.get("/healthz").json()
    assert body["checks"]["database"]["ok"] is True
    assert "broker" in body["checks"]


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_reports_a_down_broker_as_degraded_but_keeps_the_node_in_service(client: Client) -> None:
    # The pages work without the broker (the outbox and the sweepers catch up): 200, "degraded".
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["broker"]["ok"] is False


@override_settings(STRIPE_API_BASE="http://127.0.0.1:1")
def test_healthz_reports_an_unreachable_stripe_api_base(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["stripe"] == {
        "ok": False,
        "error": "ConnectionError",
        "api_base": "http://127.0.0.1:1",
    }


def test_healthz_reads_stripe_for_real(client: Client, sandbox: Any) -> None:
    stripe = client.get("/healthz").json()["checks"]["stripe"]
    assert stripe["ok"] is True and stripe["api_base"] == sandbox.url and stripe["ms"] < 1000
