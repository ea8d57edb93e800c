"""Helpers to play the seller on Stripe's side, through the sandbox's control API over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.test import Client

from marketplace.gateway import accounts as stripe_accounts
from tests.factories import PASSWORD, UserFactory


def link_token(url: str) -> str:
    assert "/hosted/onboarding/" in url, url
    return url.rstrip("/").rsplit("/", 1)[-1]


def complete_onboarding(sandbox: Any, link_url: str, *, requirements_due: bool = False) -> dict[str, Any]:
    """What the person does on Stripe's hosted page: submit the form (verification now or later)."""
    r = requests.post(
        f"{sandbox.url}/_sandbox/account_links/{link_token(link_url)}/complete",
        json={"requirements_due": requirements_due},
        timeout=10,
    )
    r.raise_for_status()
    return dict(r.json())


def submit_onboarding(sandbox: Any, seller: Any, *, requirements_due: bool = False) -> dict[str, Any]:
    """The seller opens a fresh hosted-onboarding link and submits the form; our row is not told."""
    link = stripe_accounts.account_link_create(
        account_id=str(seller.stripe_account_id),
        link_type="account_onboarding",
        refresh_url="http://testserver/r",
        return_url="http://testserver/b",
    )
    return complete_onboarding(sandbox, link.url, requirements_due=requirements_due)


def set_requirements(sandbox: Any, account_id: str, **params: Any) -> dict[str, Any]:
    r = requests.post(f"{sandbox.url}/_sandbox/accounts/{account_id}/requirements", json=params, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def signed_in_client(user: Any) -> Client:
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    return client


@pytest.fixture
def seller_user() -> Any:
    return UserFactory()


@pytest.fixture
def seller_client(seller_user: Any) -> Client:
    return signed_in_client(seller_user)


def start_selling(client: Client, *, shop: str = "Rosen Ceramics", country: str = "US", currency: str = "usd") -> str:
    """Submit "Start selling"; returns the hosted onboarding URL we were sent to."""
    response = client.post("/sell/start/", {"shop_name": shop, "country": country, "default_currency": currency})
    assert response.status_code == 302, response.content[:500]
    return str(response["Location"])
