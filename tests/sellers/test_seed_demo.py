"""`seed_demo_sellers`: sellers in every interesting state, real on the sandbox's side, logins printed."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from marketplace import gateway
from sellers.models import Seller, SellerStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_sellers_makes_every_state_and_prints_logins(sandbox: Any) -> None:
    out = StringIO()
    call_command("seed_demo_sellers", stdout=out)
    text = out.getvalue()

    statuses = {s.user.email: s.status for s in Seller.objects.select_related("user")}
    assert statuses["seller.active@marketplace.test"] == SellerStatus.ACTIVE
    assert statuses["seller.action@marketplace.test"] == SellerStatus.ACTION_REQUIRED
    assert statuses["seller.restricted@marketplace.test"] == SellerStatus.RESTRICTED
    assert statuses["seller.onboarding@marketplace.test"] == SellerStatus.ONBOARDING
    assert statuses["seller.later@marketplace.test"] == SellerStatus.ONBOARDING  # never enabled: not "restricted"
    assert statuses["seller.paused@marketplace.test"] == SellerStatus.PAUSED
    restricted = Seller.objects.get(user__email="seller.restricted@marketplace.test")
    assert restricted.charges_first_enabled_at is not None and not restricted.charges_enabled
    assert "seller.action@marketplace.test" in text and "Stripe deadline:" in text
    assert f"Express dashboard (single use): {sandbox.url}/hosted/express/" in text
    jp = Seller.objects.get(user__email="seller.active@marketplace.test")
    assert gateway.client().v1.accounts.retrieve(str(jp.stripe_account_id)).default_currency == "jpy"

    call_command("seed_demo_sellers", stdout=StringIO())  # again: nothing new
    assert Seller.objects.count() == 7 and len(gateway.client().v1.accounts.list({"limit": 100}).data) == 7
