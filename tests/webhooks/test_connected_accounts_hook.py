"""The inbox knows the platform's connected accounts only through the hook the sellers app registers
(the platform core imports no domain app)."""

from __future__ import annotations

import pytest

from marketplace.webhooks import registry, services
from sellers.models import Seller
from sellers.selectors import seller_account_ids, seller_account_is_known
from tests.factories import UserFactory
from tests.webhooks.conftest import make_seller

pytestmark = pytest.mark.django_db


def test_the_sellers_app_tells_the_inbox_which_accounts_are_ours() -> None:
    hook = registry.connected_accounts()
    assert (hook.is_known, hook.all_ids) == (seller_account_is_known, seller_account_ids)  # SellersConfig.ready()
    make_seller("acct_hook_1")
    Seller.objects.create(user=UserFactory(), shop_name="Not onboarded", country="US", default_currency="usd")

    assert services.known_account("acct_hook_1")
    assert not services.known_account("acct_someone_else")
    assert not services.known_account("")
    assert hook.all_ids() == ["acct_hook_1"]  # a seller without an account is not listed


def test_without_a_registered_hook_no_connected_account_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    make_seller("acct_hook_2")
    monkeypatch.setattr(registry, "_connected_accounts", registry._NO_CONNECTED_ACCOUNTS)
    assert not services.known_account("acct_hook_2")
    assert registry.connected_accounts().all_ids() == []
