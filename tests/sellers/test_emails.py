"""The seller's emails: onboarding complete, action required with the deadline, and the reminder."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from catalog.services import listing_create, listing_publish
from sellers.models import Seller
from sellers.services import seller_create, seller_pause, seller_refresh_from_stripe, seller_unpause
from sellers.tasks import send_seller_deadline_reminders
from tests.catalog.factories import CategoryFactory
from tests.factories import UserFactory
from tests.sellers.conftest import set_requirements, submit_onboarding

pytestmark = pytest.mark.django_db


def _onboard(sandbox: Any, **kw: Any) -> Seller:
    seller = seller_create(user=UserFactory(), shop_name="Mailed Shop", country="US", default_currency="usd")
    submit_onboarding(sandbox, seller, **kw)
    return seller


def test_onboarding_complete_email_is_sent_once(sandbox: Any, django_capture_on_commit_callbacks: Any) -> None:
    seller = _onboard(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        seller_refresh_from_stripe(seller=seller)
    with django_capture_on_commit_callbacks(execute=True):
        seller_refresh_from_stripe(seller=seller)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [seller.user.email]
    assert mail.outbox[0].subject == "[Marketplace] Mailed Shop is ready to sell"
    assert "can now take payments and receive payouts" in mail.outbox[0].body


@pytest.mark.parametrize("currency", ["usd", "jpy"])
@pytest.mark.parametrize("listings", ["none", "draft", "published"])
def test_the_ready_to_sell_email_says_what_buyers_see_of_the_shops_listings(
    sandbox: Any, django_capture_on_commit_callbacks: Any, listings: str, currency: str
) -> None:
    """A shop just onboarded often has no listing, or only the draft it saved before setting up payments:
    "Your listings are visible on the marketplace" was untrue of both. The email says what buyers see,
    and where to add or publish a listing."""
    country = "JP" if currency == "jpy" else "US"
    seller = seller_create(user=UserFactory(), shop_name="Mailed Shop", country=country, default_currency=currency)
    if listings != "none":
        listing = listing_create(
            seller=seller, title="Tea bowl", description="", price=3_000, stock=2, category=CategoryFactory()
        )
    submit_onboarding(sandbox, seller)
    if listings == "published":
        listing_publish(listing=listing)
    with django_capture_on_commit_callbacks(execute=True):
        seller_refresh_from_stripe(seller=seller)

    [email] = [m for m in mail.outbox if "ready to sell" in m.subject]
    site = settings.SITE_URL.rstrip("/")
    says = {
        "none": f"You have no listing yet: add one and publish it, and buyers see it: {site}/sell/listings/new/",
        "draft": f"Buyers see a listing once you publish it: your 1 unpublished listing waits on {site}/sell/listings/",
        "published": "Your 1 published listing is visible to buyers.",
    }
    assert says[listings] in email.body
    assert "Your listings are visible" not in email.body


@pytest.mark.parametrize("stopped", ["paused", "restricted"])
def test_no_ready_to_sell_email_to_a_seller_who_can_no_longer_sell_when_it_goes(
    sandbox: Any, django_capture_on_commit_callbacks: Any, stopped: str
) -> None:
    """The email says the listings are visible: a seller paused, or restricted by Stripe, before it is
    delivered (a busy worker, or the demo seeding a seller's history at once) is not told so."""
    seller = _onboard(sandbox)
    with django_capture_on_commit_callbacks(execute=False) as delivery:
        seller_refresh_from_stripe(seller=seller)  # active: the email is queued
    assert Seller.objects.get(pk=seller.pk).status == "active"
    if stopped == "paused":
        seller_pause(seller=seller, actor=None, reason="Photos do not match the items.")
    else:
        due = ["individual.verification.document"]
        set_requirements(sandbox, str(seller.stripe_account_id), currently_due=due, past_due=due)
        seller_refresh_from_stripe(seller=seller)
    for deliver in delivery:
        deliver()

    assert [m.subject for m in mail.outbox if "ready to sell" in m.subject] == []


def test_action_required_email_lists_sentences_and_deadline(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seller = _onboard(sandbox)
    seller_refresh_from_stripe(seller=seller)
    deadline = int(time.time()) + 10 * 86400
    set_requirements(
        sandbox,
        str(seller.stripe_account_id),
        currently_due=["individual.id_number"],
        past_due=[],
        current_deadline=deadline,
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seller_refresh_from_stripe(seller=seller)

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].subject.startswith("[Marketplace] Action required")
    assert "- Provide your full ID number (such as a Social Security number)." in body
    assert f"Stripe needs more information by {seller.current_deadline:%-d %B %Y}." in body
    assert "can take payments and receive payouts for now" in body


def test_deadline_reminder_is_sent_once_per_deadline(sandbox: Any, django_capture_on_commit_callbacks: Any) -> None:
    seller = _onboard(sandbox)
    soon = int(time.time()) + 2 * 86400
    later = int(time.time()) + 20 * 86400
    set_requirements(
        sandbox, str(seller.stripe_account_id), currently_due=["external_account"], past_due=[], current_deadline=later
    )
    seller_refresh_from_stripe(seller=seller)
    mail.outbox.clear()
    assert send_seller_deadline_reminders() == 0  # too far away

    set_requirements(
        sandbox, str(seller.stripe_account_id), currently_due=["external_account"], past_due=[], current_deadline=soon
    )
    seller_refresh_from_stripe(seller=seller)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_seller_deadline_reminders() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_seller_deadline_reminders() == 0  # beat runs again: no second email
    assert len(mail.outbox) == 1
    assert "Reminder: Stripe needs information for Mailed Shop by" in mail.outbox[0].subject
    assert "Add the bank account where you want to receive payouts." in mail.outbox[0].body
    seller.refresh_from_db()
    assert seller.current_deadline is not None
    assert seller.current_deadline - timezone.now() < timedelta(days=3)


def test_no_deadline_reminder_to_a_seller_who_provided_everything_before_it_went(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The reminder is queued through the outbox: a seller who sent what Stripe asked for before it was
    delivered read 'Stripe still needs the following ... by' above an empty list."""
    seller = _onboard(sandbox)
    soon = int(time.time()) + 2 * 86400
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=["external_account"], current_deadline=soon)
    seller_refresh_from_stripe(seller=seller)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as delivery:
        assert send_seller_deadline_reminders() == 1
    submit_onboarding(sandbox, seller)  # everything provided
    seller_refresh_from_stripe(seller=seller)
    assert seller.due_count == 0
    for deliver in delivery:
        deliver()

    assert [m.subject for m in mail.outbox if m.subject.startswith("[Marketplace] Reminder")] == []


def test_deadline_reminder_to_a_shop_stripe_already_paused_does_not_say_it_will_be_paused(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Something past due (payments and payouts paused already) and more due by a deadline: the reminder
    said 'If it is not provided by then, payments and payouts will be paused.'"""
    seller = _onboard(sandbox)
    soon = int(time.time()) + 2 * 86400
    set_requirements(
        sandbox,
        str(seller.stripe_account_id),
        currently_due=["external_account", "individual.verification.document"],
        past_due=["individual.verification.document"],
        current_deadline=soon,
    )
    seller_refresh_from_stripe(seller=seller)
    assert not seller.charges_enabled
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_seller_deadline_reminders() == 1

    body = mail.outbox[0].body
    assert "will be paused" not in body
    assert "Payments and payouts on your account are paused until you provide it." in body


def test_a_paused_seller_is_mailed_the_reason_and_mailed_again_when_unpaused(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A pause hides the shop from buyers at once: its seller learns it by email, with the admin's reason, not
    on the next visit of the Sell page; the unpause says the shop sells again (the first "ready to sell"
    email is keyed once per seller, so this is the one that says it)."""
    seller = _onboard(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        seller_refresh_from_stripe(seller=seller)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seller_pause(seller=seller, actor=None, reason="Photos do not match the items.")
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([seller.user.email], "[Marketplace] The marketplace has paused Mailed Shop")
    ]
    assert "Photos do not match the items." in mail.outbox[0].body
    assert "buyers can't see your listings or order from you" in mail.outbox[0].body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seller_unpause(seller=seller, actor=None, reason="Photos fixed.")
    opened = "[Marketplace] Mailed Shop is open again"
    assert [(m.to, m.subject) for m in mail.outbox] == [([seller.user.email], opened)]
    body = mail.outbox[0].body
    assert "Your shop can take payments and receive payouts." in body and "Photos fixed." not in body
    assert "visible to buyers again" not in body  # it has no published listing to show


def test_an_unpaused_seller_stripe_still_restricts_is_told_what_stripe_needs(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Unpaused while Stripe restricts the account: the email does not say the shop sells again."""
    seller = _onboard(sandbox)
    seller_refresh_from_stripe(seller=seller)
    seller_pause(seller=seller, actor=None, reason="Photos do not match the items.")
    due = ["individual.verification.document"]
    set_requirements(sandbox, str(seller.stripe_account_id), currently_due=due, past_due=due)
    seller_refresh_from_stripe(seller=seller)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seller_unpause(seller=seller, actor=None, reason="Photos fixed.")
    assert [m.subject for m in mail.outbox] == ["[Marketplace] The marketplace unpaused Mailed Shop"]
    assert "Payments and payouts are paused" in mail.outbox[0].body
    assert "can take payments and receive payouts" not in mail.outbox[0].body
