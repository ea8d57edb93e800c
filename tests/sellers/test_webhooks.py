"""Connect events keep the seller row true, delivered by the sandbox to a live server (signed, over HTTP)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from marketplace import gateway
from marketplace.webhooks.models import WebhookEvent
from sellers.models import Seller, SellerStatus
from sellers.services import seller_create
from tests.factories import UserFactory
from tests.sellers.conftest import set_requirements, submit_onboarding


def _new_seller() -> Seller:
    seller = seller_create(user=UserFactory(), shop_name="Hooked", country="US", default_currency="usd")
    return seller


def _wait_for(seller: Seller, predicate: Any, timeout: float = 10) -> Seller:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seller.refresh_from_db()
        if predicate(seller):
            return seller
        time.sleep(0.05)
    raise AssertionError(f"seller stayed {seller.status}")


def test_account_updated_makes_the_seller_active_without_the_return_page(sandbox_webhooks: Any) -> None:
    seller = _new_seller()
    submit_onboarding(sandbox_webhooks, seller)
    assert sandbox_webhooks.wait_for_webhooks()

    seller = _wait_for(seller, lambda s: s.status == SellerStatus.ACTIVE)
    assert seller.capabilities == {"card_payments": "active", "transfers": "active"}
    assert Seller.objects.sellable().filter(pk=seller.pk).exists()


def test_documents_stripe_asks_for_by_account_updated_are_named_in_words(sandbox_webhooks: Any) -> None:
    """An active seller whose bank account Stripe wants proof of read the code itself on the Sell page and
    in the action-required email ("documents bank account ownership verification files")."""
    from sellers.selectors import seller_overview

    seller = _new_seller()
    submit_onboarding(sandbox_webhooks, seller)
    assert sandbox_webhooks.wait_for_webhooks()
    seller = _wait_for(seller, lambda s: s.status == SellerStatus.ACTIVE)
    due = ["documents.bank_account_ownership_verification.files", "documents.proof_of_registration.files"]
    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), currently_due=due)
    assert sandbox_webhooks.wait_for_webhooks()

    seller = _wait_for(seller, lambda s: s.status == SellerStatus.ACTION_REQUIRED)
    assert seller_overview(seller=seller).due_sentences == [
        "Upload a bank statement or a voided check showing your bank account's number.",
        "Upload your business's registration certificate.",
    ]


def test_out_of_order_events_never_move_status_backwards(sandbox_webhooks: Any) -> None:
    seller = _new_seller()
    requests.post(f"{sandbox_webhooks.url}/_sandbox/deliveries/hold", timeout=10).raise_for_status()
    submit_onboarding(sandbox_webhooks, seller)  # -> active (older events)
    deadline = int(time.time()) + 7 * 86400
    set_requirements(  # -> action required (newer events)
        sandbox_webhooks,
        str(seller.stripe_account_id),
        currently_due=["individual.id_number"],
        past_due=[],
        current_deadline=deadline,
    )
    released = requests.post(
        f"{sandbox_webhooks.url}/_sandbox/deliveries/release", json={"order": "reverse"}, timeout=10
    )
    assert released.json()["released"] >= 2
    assert sandbox_webhooks.wait_for_webhooks()
    # Every delivery was answered, and the intake answers after processing (tasks run eagerly here):
    # each delivered event is settled, so the row below is final (no sleep needed).
    delivered = {d["event"] for d in sandbox_webhooks.deliveries if d["succeeded"]}
    settled = WebhookEvent.objects.filter(pk__in=delivered, status__in=["processed", "ignored"])
    assert delivered and settled.count() == len(delivered)

    seller.refresh_from_db()
    assert seller.status == SellerStatus.ACTION_REQUIRED
    assert seller.currently_due == ["individual.id_number"]
    assert seller.current_deadline is not None and int(seller.current_deadline.timestamp()) == deadline


def test_deauthorization_disconnects_the_seller_and_hides_its_listings(sandbox_webhooks: Any) -> None:
    seller = _new_seller()
    submit_onboarding(sandbox_webhooks, seller)
    seller = _wait_for(seller, lambda s: s.status == SellerStatus.ACTIVE)

    gateway.client().v1.accounts.delete(str(seller.stripe_account_id))
    assert sandbox_webhooks.wait_for_webhooks()

    seller = _wait_for(seller, lambda s: s.status == SellerStatus.DISCONNECTED)
    assert not Seller.objects.sellable().filter(pk=seller.pk).exists()


pytestmark = pytest.mark.django_db(transaction=True)
