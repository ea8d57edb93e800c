"""/api/v1/seller/: only ever the signed-in seller's own data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sellers.models import Seller
from tests.factories import UserFactory
from tests.sellers.conftest import complete_onboarding, signed_in_client, start_selling

pytestmark = pytest.mark.django_db


def _csrf_post(client: Client, path: str) -> Any:
    client.get("/")
    token = client.cookies["csrftoken"].value
    return client.post(path, headers={"X-CSRFToken": token})


def test_seller_status_and_requirements(sandbox: Any, seller_client: Client) -> None:
    url = start_selling(seller_client)
    body = seller_client.get("/api/v1/seller/").json()
    assert body["status"] == "onboarding"
    assert body["charges_enabled"] is False
    assert "Add the bank account where you want to receive payouts." in body["requirements"]["sentences"]
    assert "individual.dob.day" in body["requirements"]["currently_due"]

    complete_onboarding(sandbox, url, requirements_due=True)
    seller_client.get(f"/sell/onboarding/{Seller.objects.get().pk}/return/")
    body = seller_client.get("/api/v1/seller/").json()
    assert body["status"] == "onboarding"  # details left for later: never enabled, so not "restricted"
    assert body["status_headline"] == "Stripe needs a few more details"
    assert "before your shop can take payments" in body["status_explanation"]
    assert body["disabled_reason"] == "requirements.past_due"
    assert body["requirements"]["currently_due"] == ["individual.id_number", "individual.verification.document"]


def test_onboarding_link_and_dashboard_link(sandbox: Any, seller_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller_user)
    start_selling(signed_in_client(seller_user))

    link = _csrf_post(client, "/api/v1/seller/onboarding-link")
    assert link.status_code == 200
    assert link.json()["url"].startswith(f"{sandbox.url}/hosted/onboarding/")
    assert link.json()["expires_at"] is not None

    early = _csrf_post(client, "/api/v1/seller/dashboard-link")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "onboarding_incomplete"

    complete_onboarding(sandbox, link.json()["url"])
    dash = _csrf_post(client, "/api/v1/seller/dashboard-link")
    assert dash.status_code == 200
    assert dash.json()["url"].startswith(f"{sandbox.url}/hosted/express/")


def test_a_user_who_is_not_a_seller_gets_404_never_another_sellers_data(sandbox: Any, seller_client: Client) -> None:
    start_selling(seller_client)
    other = signed_in_client(UserFactory())
    other.get("/")
    token = other.cookies["csrftoken"].value

    response = other.get("/api/v1/seller/")
    assert response.status_code == 404
    assert "Rosen" not in response.content.decode()
    assert other.post("/api/v1/seller/onboarding-link", headers={"X-CSRFToken": token}).status_code == 404
    assert other.post("/api/v1/seller/dashboard-link", headers={"X-CSRFToken": token}).status_code == 404
    assert Client().get("/api/v1/seller/").status_code == 401
