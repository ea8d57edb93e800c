"""Mirroring Stripe's state: newest snapshot wins, disconnection is final, sellable() follows it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sellers.models import Seller, SellerStatus
from sellers.selectors import seller_can_sell, seller_cannot_sell_message
from sellers.services import (
    seller_create,
    seller_mark_disconnected,
    seller_pause,
    seller_refresh_from_stripe,
    seller_unpause,
)
from tests.factories import UserFactory, make_platform_admin
from tests.sandbox.helpers import control
from tests.sellers.conftest import submit_onboarding

pytestmark = pytest.mark.django_db


def _onboarded_seller(sandbox: Any, *, country: str = "US", currency: str = "usd") -> Seller:
    seller = seller_create(user=UserFactory(), shop_name="Shop", country=country, default_currency=currency)
    submit_onboarding(sandbox, seller)
    return seller_refresh_from_stripe(seller=seller)


@pytest.mark.parametrize(("country", "currency"), [("US", "usd"), ("JP", "jpy")])
def test_an_older_snapshot_never_moves_the_seller_backwards(sandbox: Any, country: str, currency: str) -> None:
    seller = Seller.objects.get(pk=_onboarded_seller(sandbox, country=country, currency=currency).pk)
    assert seller.status == SellerStatus.ACTIVE and seller.default_currency == currency
    # Another reader (a worker, the return page) already applied a read that started later than ours will.
    newer = timezone.now() + timedelta(minutes=1)
    Seller.objects.filter(pk=seller.pk).update(stripe_state_updated_at=newer)
    control(sandbox, f"accounts/{seller.stripe_account_id}/requirements", past_due="external_account")

    seller_refresh_from_stripe(seller=seller)  # reads the account now: older than what the row has

    seller.refresh_from_db()
    assert seller.status == SellerStatus.ACTIVE and seller.charges_enabled and seller.stripe_state_updated_at == newer
    assert Seller.objects.sellable().filter(pk=seller.pk).exists()
    # Once that newer read is in the past, the next read is applied: the check compared times, nothing else.
    Seller.objects.filter(pk=seller.pk).update(stripe_state_updated_at=newer - timedelta(hours=1))
    seller_refresh_from_stripe(seller=seller)
    assert not seller.charges_enabled and seller.status != SellerStatus.ACTIVE


def test_a_stale_read_returns_the_newer_state_the_row_has(sandbox: Any) -> None:
    """The return page's read races the account.updated webhook: when the webhook's newer read is
    already on the row, the caller gets that state, not the copy it loaded before (the return
    page's sentence itself comes from the row: tests/sellers/test_onboarding_race.py)."""
    seller = seller_create(user=UserFactory(), shop_name="Shop", country="US", default_currency="usd")
    loaded_by_return_page = Seller.objects.get(pk=seller.pk)
    assert loaded_by_return_page.status == SellerStatus.ONBOARDING
    submit_onboarding(sandbox, seller)
    seller_refresh_from_stripe(seller=seller)  # the webhook's read lands first...
    newer = timezone.now() + timedelta(minutes=1)  # ...and started after the return page's will
    Seller.objects.filter(pk=seller.pk).update(stripe_state_updated_at=newer)

    returned = seller_refresh_from_stripe(seller=loaded_by_return_page)

    assert returned.status == SellerStatus.ACTIVE and returned.charges_enabled
    assert returned.stripe_state_updated_at == newer


def test_paused_or_disconnected_sellers_cannot_sell(sandbox: Any) -> None:
    seller = _onboarded_seller(sandbox)
    admin = make_platform_admin()
    assert seller_can_sell(seller)

    seller_pause(seller=seller, actor=admin, reason="Counterfeit goods reported")
    assert not seller_can_sell(seller) and seller.status == SellerStatus.PAUSED
    assert not Seller.objects.sellable().exists()
    assert seller_cannot_sell_message(seller) == (
        "Shop can't take orders right now, so this item can't be bought. Please try again later."
    )
    # Stripe's state keeps syncing underneath, but the pause wins until an admin lifts it.
    seller_refresh_from_stripe(seller=seller)
    assert seller.status == SellerStatus.PAUSED

    seller_unpause(seller=seller, actor=admin, reason="Checked: genuine")
    assert seller.status == SellerStatus.ACTIVE and seller_can_sell(seller)
    assert [e.action for e in seller.moderation_entries.all()] == ["unpause", "pause"]

    seller_mark_disconnected(seller=seller)
    seller_refresh_from_stripe(seller=seller)  # a later read changes nothing: disconnection is final
    assert seller.status == SellerStatus.DISCONNECTED and not seller_can_sell(seller)


def test_deleted_account_marks_the_seller_disconnected_on_next_read(sandbox: Any) -> None:
    from marketplace import gateway

    seller = _onboarded_seller(sandbox)
    gateway.client().v1.accounts.delete(str(seller.stripe_account_id))

    seller_refresh_from_stripe(seller=seller)
    seller.refresh_from_db()
    assert seller.status == SellerStatus.DISCONNECTED
