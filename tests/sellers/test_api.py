"""/api/v1/seller/: only ever the signed-in seller's own data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace import gateway
from sellers.models import Seller
from tests.factories import UserFactory
from tests.sellers.conftest import complete_onboarding, set_requirements, signed_in_client, start_selling

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
    # Never enabled: Stripe has nothing to re-enable (the sentence said "before it re-enables payments").
    assert body["disabled_reason_sentence"] == (
        "Stripe needs the information below before it enables payments and payouts on your account."
    )


def test_a_shop_stripe_disabled_after_it_sold_reads_re_enables(sandbox: Any, seller_client: Client) -> None:
    url = start_selling(seller_client)
    complete_onboarding(sandbox, url)
    seller = Seller.objects.get()
    seller_client.get(f"/sell/onboarding/{seller.pk}/return/")
    due = ["individual.verification.document"]
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=due, past_due=due)
    seller_client.get(f"/sell/onboarding/{seller.pk}/return/")
    body = seller_client.get("/api/v1/seller/").json()
    assert body["status"] == "restricted"
    assert body["disabled_reason_sentence"] == (
        "Stripe needs the information below before it re-enables payments and payouts on your account."
    )


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


def _create(client: Client, body: dict[str, Any]) -> Any:
    client.get("/")
    return client.post(
        "/api/v1/seller/",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )


@pytest.mark.parametrize(("country", "currency"), [("US", "usd"), ("JP", "jpy"), ("GB", "gbp")])
def test_creating_a_shop_without_a_currency_takes_the_country_s_own(
    sandbox: Any, seller_client: Client, country: str, currency: str
) -> None:
    """The Start selling form's "The country's own currency" (blank) is the API's currency left out:
    before, the API needed one."""
    answer = _create(seller_client, {"shop_name": "Kiln", "country": country})
    assert answer.status_code == 201, answer.content
    assert answer.json()["default_currency"] == currency and answer.json()["status"] == "onboarding"
    seller = Seller.objects.get()
    assert (seller.country, seller.default_currency) == (country, currency)
    assert gateway.client().v1.accounts.retrieve(seller.stripe_account_id).default_currency == currency
    assert _create(seller_client, {"shop_name": "Kiln", "country": country, "default_currency": ""}).status_code == 409


def test_an_explicit_currency_is_honoured_and_a_wrong_one_is_a_422_that_says_why(
    sandbox: Any, seller_client: Client
) -> None:
    for body, code, sentence in (
        ({"default_currency": "usd"}, "currency_unsupported", "Payouts in USD are not available in Japan."),
        ({"default_currency": "xyz"}, "currency_unsupported", "Payouts in XYZ are not available in Japan."),
        ({"country": "ZZ"}, "country_unsupported", "We can't onboard sellers from this country yet."),
    ):
        refused = _create(seller_client, {"shop_name": "Kiln", "country": "JP", **body})
        assert refused.status_code == 422 and refused.json()["error"] == {"code": code, "message": sentence}
    long = _create(seller_client, {"shop_name": "Kiln", "country": "JP", "default_currency": "yen!"})
    assert long.status_code == 422 and long.json()["error"]["fields"][0]["loc"][-1] == "default_currency"
    assert not Seller.objects.exists()

    answer = _create(seller_client, {"shop_name": "Kiln", "country": "GB", "default_currency": "EUR"})
    assert answer.status_code == 201 and answer.json()["default_currency"] == "eur"
    assert Seller.objects.get().default_currency == "eur"
