"""The email that tells a seller Stripe lets the shop sell again, driven by the sandbox's signed
`account.updated` webhooks delivered to the live server (the intake answers after processing: tasks
and the outbox run eagerly here, so once the sandbox has no delivery left the emails are final)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core import mail

from catalog.services import listing_create, listing_publish
from marketplace.webhooks.models import WebhookEvent
from sellers.models import Seller, SellerStatus
from sellers.services import seller_create, seller_pause, seller_refresh_from_stripe, seller_unpause
from tests.catalog.factories import CategoryFactory
from tests.factories import UserFactory
from tests.sellers.conftest import set_requirements, submit_onboarding

pytestmark = pytest.mark.django_db(transaction=True)

DUE = ["individual.verification.document"]


def _subjects() -> list[str]:
    return [m.subject.removeprefix(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX) for m in mail.outbox]


def _settled(sandbox: Any, seller: Seller) -> Seller:
    assert sandbox.wait_for_webhooks(20)
    return Seller.objects.get(pk=seller.pk)


def _active_seller(sandbox: Any, *, country: str, currency: str, **onboarding: Any) -> Seller:
    seller = seller_create(user=UserFactory(), shop_name="Back Again", country=country, default_currency=currency)
    submit_onboarding(sandbox, seller, **onboarding)
    if onboarding.get("requirements_due"):
        assert _settled(sandbox, seller).status == SellerStatus.ONBOARDING
        submit_onboarding(sandbox, seller)  # the details left for later, provided
    assert _settled(sandbox, seller).status == SellerStatus.ACTIVE
    return seller


def _restrict(sandbox: Any, seller: Seller) -> Seller:
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=DUE, past_due=DUE)
    return _settled(sandbox, seller)


def _restore(sandbox: Any, seller: Seller) -> Seller:
    """The seller provides what Stripe asked for on the hosted form: Stripe enables the account again."""
    submit_onboarding(sandbox, seller)
    return _settled(sandbox, seller)


BACK = "Back Again can take payments and receive payouts again"


@pytest.mark.parametrize(("country", "currency"), [("US", "usd"), ("JP", "jpy")])
def test_a_shop_stripe_restored_is_told_once_and_what_buyers_see(
    sandbox_webhooks: Any, country: str, currency: str
) -> None:
    seller = _active_seller(sandbox_webhooks, country=country, currency=currency)
    listing = listing_create(
        seller=seller, title="Tea bowl", description="", price=3_000, stock=2, category=CategoryFactory()
    )
    listing_publish(listing=listing)
    restricted = _restrict(sandbox_webhooks, seller)
    assert restricted.status == SellerStatus.RESTRICTED and not restricted.charges_enabled
    assert _subjects() == [
        "Back Again is ready to sell",
        "Action required: Stripe needs more information for Back Again",
    ]
    assert "Payments and payouts are paused" in mail.outbox[-1].body

    restored = _restore(sandbox_webhooks, seller)
    assert restored.status == SellerStatus.ACTIVE
    assert _subjects()[2:] == [BACK]
    [email] = mail.outbox[2:]
    assert email.to == [seller.user.email]
    assert (
        "Stripe has lifted the restriction on your account: Back Again can take payments and receive payouts again."
        in email.body
    )
    assert "Your 1 published listing is visible to buyers." in email.body
    assert f"{settings.SITE_URL.rstrip('/')}/sell/" in email.body

    # Stripe redelivers every event, and sends another account.updated of the active account: nothing more.
    for event_id in WebhookEvent.objects.filter(type="account.updated").values_list("id", flat=True):
        redelivered = requests.post(f"{sandbox_webhooks.url}/_sandbox/events/{event_id}/redeliver", timeout=10)
        redelivered.raise_for_status()
    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), eventually_due=["individual.id_number"])
    assert _settled(sandbox_webhooks, seller).status == SellerStatus.ACTIVE
    assert _subjects().count(BACK) == 1

    # A second restriction, lifted again, is a second piece of good news.
    _restrict(sandbox_webhooks, seller)
    _restore(sandbox_webhooks, seller)
    assert _subjects().count(BACK) == 2


def test_out_of_order_webhooks_send_it_once(sandbox_webhooks: Any) -> None:
    """Stripe does not deliver in order: the restriction's events arriving after the restore's re-read the
    account (active), so the shop never looks restricted again and the email is not sent a second time."""
    seller = _active_seller(sandbox_webhooks, country="US", currency="usd")
    requests.post(f"{sandbox_webhooks.url}/_sandbox/deliveries/hold", timeout=10).raise_for_status()
    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), currently_due=DUE, past_due=DUE)
    submit_onboarding(sandbox_webhooks, seller)
    released = requests.post(
        f"{sandbox_webhooks.url}/_sandbox/deliveries/release", json={"order": "reverse"}, timeout=10
    )
    assert released.json()["released"] >= 2
    assert _settled(sandbox_webhooks, seller).status == SellerStatus.ACTIVE
    assert BACK not in _subjects()  # we never saw the shop restricted: there is nothing to announce

    _restrict(sandbox_webhooks, seller)
    requests.post(f"{sandbox_webhooks.url}/_sandbox/deliveries/hold", timeout=10).raise_for_status()
    submit_onboarding(sandbox_webhooks, seller)
    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), eventually_due=["individual.id_number"])
    requests.post(
        f"{sandbox_webhooks.url}/_sandbox/deliveries/release", json={"order": "reverse"}, timeout=10
    ).raise_for_status()
    assert _settled(sandbox_webhooks, seller).status == SellerStatus.ACTIVE
    assert _subjects().count(BACK) == 1


def test_the_first_onboarding_gets_only_ready_to_sell(sandbox_webhooks: Any) -> None:
    """Details left for later (the account is disabled with `requirements.past_due` from the start), then
    provided: that is the shop's first "ready to sell", not a comeback."""
    _active_seller(sandbox_webhooks, country="JP", currency="jpy", requirements_due=True)
    assert _subjects() == ["Back Again is ready to sell"]


def test_a_shop_the_marketplace_paused_hears_it_from_the_unpause(sandbox_webhooks: Any) -> None:
    """Stripe restores a shop the marketplace has paused: its listings stay hidden, so "can take payments
    again" would mislead; nothing is sent then. The unpause's email says the shop is open again."""
    seller = _active_seller(sandbox_webhooks, country="US", currency="usd")
    seller_pause(seller=seller, actor=None, reason="Photos do not match the items.")
    _restrict(sandbox_webhooks, seller)
    assert _restore(sandbox_webhooks, seller).status == SellerStatus.PAUSED
    assert BACK not in _subjects()

    mail.outbox.clear()
    seller_unpause(seller=seller, actor=None, reason="Photos fixed.")
    assert _subjects() == ["Back Again is open again"]
    assert "Your shop can take payments and receive payouts." in mail.outbox[0].body


def test_a_shop_unpaused_while_stripe_holds_it_hears_it_when_stripe_lifts_the_hold(sandbox_webhooks: Any) -> None:
    """Unpaused while Stripe still restricts it, the shop was told what Stripe holds it back for; when Stripe
    lifts the hold, that is the news, and this email says it."""
    seller = _active_seller(sandbox_webhooks, country="JP", currency="jpy")
    seller_pause(seller=seller, actor=None, reason="Photos do not match the items.")
    _restrict(sandbox_webhooks, seller)
    seller_unpause(seller=seller, actor=None, reason="Photos fixed.")
    assert "The marketplace unpaused Back Again" in _subjects()
    assert _restore(sandbox_webhooks, seller).status == SellerStatus.ACTIVE
    assert _subjects().count(BACK) == 1


def test_nothing_was_held_back_when_a_shop_provides_what_stripe_asked_for_by_a_deadline(
    sandbox_webhooks: Any,
) -> None:
    """Something due by a deadline, payments and payouts still on: providing it is not a comeback."""
    seller = _active_seller(sandbox_webhooks, country="US", currency="usd")
    deadline = int(time.time()) + 10 * 86400
    set_requirements(
        sandbox_webhooks, str(seller.stripe_account_id), currently_due=DUE, past_due=[], current_deadline=deadline
    )
    held = _settled(sandbox_webhooks, seller)
    assert held.status == SellerStatus.ACTION_REQUIRED and held.charges_enabled and held.payouts_enabled
    assert _restore(sandbox_webhooks, seller).status == SellerStatus.ACTIVE
    assert BACK not in _subjects()


@pytest.mark.django_db  # not transactional: the on-commit delivery is held and run by hand
@pytest.mark.parametrize("stopped", ["paused", "restricted"])
def test_not_sent_to_a_shop_that_stopped_selling_before_it_went(
    sandbox: Any, django_capture_on_commit_callbacks: Any, stopped: str
) -> None:
    """Queued, then the marketplace paused the shop or Stripe restricted it again before a worker delivered
    it: "can take payments again" would be untrue; the pause's or the restriction's email says where it stands."""
    seller = seller_create(user=UserFactory(), shop_name="Back Again", country="US", default_currency="usd")
    submit_onboarding(sandbox, seller)
    seller_refresh_from_stripe(seller=seller)
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=DUE, past_due=DUE)
    seller_refresh_from_stripe(seller=seller)
    submit_onboarding(sandbox, seller)
    with django_capture_on_commit_callbacks(execute=False) as delivery:
        seller_refresh_from_stripe(seller=seller)  # active again: the email is queued
    assert seller.status == SellerStatus.ACTIVE
    if stopped == "paused":
        seller_pause(seller=seller, actor=None, reason="Photos do not match the items.")
    else:
        set_requirements(sandbox, str(seller.stripe_account_id), currently_due=DUE, past_due=DUE)
        seller_refresh_from_stripe(seller=seller)
    mail.outbox.clear()
    for deliver in delivery:
        deliver()

    assert BACK not in _subjects()
