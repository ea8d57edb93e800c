"""A number too large for the database's integers, in a query string, a path or a signed webhook,
is an answer in words (a 4xx, or nothing found), never a 500: SQLite (the demo) raised
OverflowError and Postgres refuses it as out of range."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.catalog.factories import ListingFactory
from tests.factories import make_platform_admin
from tests.marketplace.test_unreadable_input import signed_in

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"


def test_the_public_listings_filter() -> None:
    ListingFactory()
    response = Client().get(f"/api/v1/listings?seller={HUGE}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/console/disputes?seller_id={HUGE}",
        f"/api/v1/console/disputes/{HUGE}",
        f"/console/disputes/?seller={HUGE}",
        f"/console/disputes/{HUGE}/",
        f"/api/v1/listings/{HUGE}",
        f"/api/v1/orders/{HUGE}",
        f"/orders/{HUGE}/",
        f"/listings/{HUGE}/",
    ],
)
def test_an_admin_never_gets_a_500(url: str, django_user_model: Any) -> None:
    response = signed_in(make_platform_admin()).get(url)
    assert response.status_code in (200, 404, 422), (url, response.status_code)
