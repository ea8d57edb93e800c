"""The shop ends a subscriber's subscription at its period end, or undoes that: Stripe charges nothing
more, the buyer keeps the period paid for (no refund), is emailed, and reads who ended it; a buyer's own
cancellation in Stripe's portal cannot be undone by the shop. Through the sandbox over HTTP and its
signed webhooks, in USD and JPY, the ledger equal to Stripe's balances."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from marketplace.errors import Conflict, NotFound, PaymentProviderError
from marketplace.gateway import subscriptions as gateway_subscriptions
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from payments.models import Payment
from sellers.services import seller_pause
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionInvoice, SubscriptionPlan, SubscriptionStatus
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, signed_in, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for, fetch_no_redirect
from tests.sellers.conftest import signed_in_client
from tests.subscriptions.test_fee_changes import subscribe_quietly
from tests.subscriptions.test_subscriptions import DAY, advance, seller_with_plan, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def ends_on(sub: Subscription) -> str:
    assert sub.current_period_end is not None
    return f"{sub.current_period_end:%-d %b %Y}"


def updates_at_stripe(sandbox: Any, sub: Subscription) -> int:
    """How many real changes Stripe made to the subscription's cancel_at_period_end (a replayed
    request makes no event)."""
    events = client_for(sandbox).v1.events.list(params={"type": "customer.subscription.updated", "limit": 100})
    return sum(
        1
        for e in events.data
        if e.data.object["id"] == sub.stripe_subscription_id
        and "cancel_at_period_end" in (e.to_dict()["data"].get("previous_attributes") or {})
    )


def shop_emails(buyer: Any) -> list[Any]:
    return [m for m in mail.outbox if buyer.email in m.to and "subscription to Coffee box" in m.subject]


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_the_shop_ends_a_subscription_at_period_end_and_nothing_more_is_charged(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    date = ends_on(sub)

    response = signed_in(seller.user).post(
        reverse("sell_subscription_end", args=[sub.pk]), {"action": "end"}, follow=True
    )
    page = response.content.decode()
    assert f"ends on {date}: they keep the period they paid for, nothing is refunded" in page
    assert f"Ends on {date} (ended by you)" in page
    assert "Keep subscription" in page
    sub.refresh_from_db()
    assert (sub.status, sub.cancel_at_period_end, sub.ended_by) == (SubscriptionStatus.ACTIVE, True, "shop")
    assert client_for(sandbox_webhooks).v1.subscriptions.retrieve(sub.stripe_subscription_id).cancel_at_period_end
    [email] = shop_emails(buyer)
    assert seller.shop_name in email.subject and seller.shop_name in email.body
    assert "Coffee box" in email.body and f"{sub.current_period_end:%-d %B %Y}" in email.body
    assert "no further payment will be taken" in email.body
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert f"Ends on {date}: ended by the shop" in mine
    console = signed_in_client(make_platform_admin()).get(reverse("console_seller_detail", args=[seller.pk]))
    assert f"Active: Ends on {date} (ended by the shop)" in console.content.decode()

    assert sandbox_webhooks.wait_for_webhooks(15)
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.CANCELED)
    invoices = client_for(sandbox_webhooks).v1.invoices.list(params={"subscription": sub.stripe_subscription_id})
    assert [i.status for i in invoices.data] == ["paid"]  # no renewal invoice, nothing more charged
    assert Payment.objects.count() == 1
    assert "ended by you" in signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    assert_ledger_equals_stripe()


def test_end_undo_end_are_three_calls_and_a_double_click_one(sandbox_webhooks: Any) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 1_500, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    for end in (True, True, False, False, True, True):  # each one clicked twice
        done = services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=end)
        assert done.sent and done.subscription.cancel_at_period_end == end
    assert updates_at_stripe(sandbox_webhooks, sub) == 3
    sub.refresh_from_db()
    assert (sub.shop_changes, sub.ended_by) == (3, "shop")
    subjects = [m.subject for m in shop_emails(buyer)]
    assert len(subjects) == 3 and "goes on" in subjects[1]
    kept = next(m for m in mail.outbox if "goes on" in m.subject)
    assert "will be taken on" in kept.body and seller.shop_name in kept.body

    # A twin request that reaches Stripe after the first was answered: the same key, a replay, and
    # nothing recorded twice.
    before = updates_at_stripe(sandbox_webhooks, sub)
    gateway_subscriptions.subscription_cancel_at_period_end_set(
        subscription_id=sub.stripe_subscription_id, end=True, change=f"{sub.pk}-2"
    )
    assert updates_at_stripe(sandbox_webhooks, sub) == before
    assert services.subscription_shop_change_send(subscription_id=sub.pk, change=2).shop_changes == 3
    assert len(shop_emails(buyer)) == 3
    assert_ledger_equals_stripe()


def test_the_shop_cannot_undo_the_buyers_own_cancellation(sandbox_webhooks: Any) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, "jpy", 3_333, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="v" * 32)
    status, _, _ = fetch_no_redirect(portal, f"action=cancel&subscription={sub.stripe_subscription_id}".encode())
    assert status == 303
    # Not waiting for the webhook: the shop's request reads Stripe first.
    with pytest.raises(Conflict, match="only they can keep it"):
        services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=False)
    with pytest.raises(Conflict, match="The buyer canceled it already"):
        services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=True)
    sub.refresh_from_db()
    assert (sub.cancel_at_period_end, sub.ended_by, sub.shop_changes) == (True, "buyer", 0)
    page = signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    assert f"Ends on {ends_on(sub)} (ended by the buyer)" in page and "only they can keep it" in page
    assert "Keep subscription" not in page
    console = signed_in_client(make_platform_admin()).get(reverse("console_seller_detail", args=[seller.pk]))
    assert f"Active: Ends on {ends_on(sub)} (ended by the buyer)" in console.content.decode()
    response = signed_in(seller.user).post(reverse("sell_subscription_end", args=[sub.pk]), {"action": "keep"})
    assert response.status_code == 302
    assert client_for(sandbox_webhooks).v1.subscriptions.retrieve(sub.stripe_subscription_id).cancel_at_period_end
    assert not shop_emails(buyer)
    assert "ended by the shop" not in signed_in(buyer).get(reverse("my_subscriptions")).content.decode()

    # The shop ended it, the buyer renewed it in the portal and canceled it again: the buyer's now.
    fetch_no_redirect(portal, f"action=renew&subscription={sub.stripe_subscription_id}".encode())
    services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=True)
    assert Subscription.objects.get(pk=sub.pk).ended_by == "shop"
    advance(sandbox_webhooks, 5)  # another second at Stripe: the buyer's request has its own time
    fetch_no_redirect(portal, f"action=renew&subscription={sub.stripe_subscription_id}".encode())
    fetch_no_redirect(portal, f"action=cancel&subscription={sub.stripe_subscription_id}".encode())
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).ended_by == "buyer")
    with pytest.raises(Conflict, match="only they can keep it"):
        services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=False)
    assert_ledger_equals_stripe()


def test_stripe_down_changes_nothing_and_says_so(sandbox: Any) -> None:
    seller, listing = seller_with_plan(sandbox, "usd", 1_500, 1_000)
    sub = subscribe_synced(sandbox, listing)
    with override_settings(STRIPE_API_BASE="http://127.0.0.1:9"):  # nothing listens there
        with pytest.raises(PaymentProviderError, match="Nothing was changed"):
            services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=True)
        response = signed_in(seller.user).post(
            reverse("sell_subscription_end", args=[sub.pk]), {"action": "end"}, follow=True
        )
    assert "could not be reached" in response.content.decode()
    sub.refresh_from_db()
    assert (sub.cancel_at_period_end, sub.shop_pending) == (False, "")
    assert not client_for(sandbox).v1.subscriptions.retrieve(sub.stripe_subscription_id).cancel_at_period_end


def test_an_answer_lost_is_sent_again_with_its_key_and_recorded_once(sandbox: Any) -> None:
    """Stripe made the change but its answer never came (the request timed out): the outbox sends it
    again with the same key, Stripe replays its answer, and the shop's end is recorded as the shop's."""
    _, listing = seller_with_plan(sandbox, "usd", 1_500, 1_000)
    sub = subscribe_synced(sandbox, listing)
    Subscription.objects.filter(pk=sub.pk).update(shop_pending="end")
    gateway_subscriptions.subscription_cancel_at_period_end_set(
        subscription_id=sub.stripe_subscription_id, end=True, change=f"{sub.pk}-0"
    )
    services.subscription_sync(stripe_subscription_id=sub.stripe_subscription_id)  # its webhook, say
    assert Subscription.objects.get(pk=sub.pk).ended_by == "buyer"  # not known yet
    sent = services.subscription_shop_change_send(subscription_id=sub.pk, change=0)
    assert (sent.ended_by, sent.shop_pending, sent.shop_changes) == ("shop", "", 1)
    assert updates_at_stripe(sandbox, sub) == 1


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_selling_once_ends_the_listings_subscriptions_through_the_outbox(
    sandbox: Any, currency: str, price: int
) -> None:
    seller, listing = seller_with_plan(sandbox, currency, price, 1_000)
    subs = [subscribe_synced(sandbox, listing) for _ in range(2)]
    page = signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    assert "also end its 2 subscriptions" in page
    with override_settings(STRIPE_API_BASE="http://127.0.0.1:9"):
        response = signed_in(seller.user).post(
            reverse("sell_subscription_plan", args=[listing.pk]),
            {"interval": "", "end_subscriptions": "1"},
            follow=True,
        )
    said = response.content.decode()
    assert "Sold once" in said and "Its 2 subscriptions end at the end of the period paid for" in said
    assert "keep their subscription" not in said
    assert not SubscriptionPlan.objects.filter(listing=listing).exists()
    messages = OutboxMessage.objects.filter(name="subscriptions.shop_change_send")
    assert [m.status for m in messages] == [OutboxMessage.Status.PENDING] * 2
    assert all(Subscription.objects.get(pk=s.pk).shop_pending == "end" for s in subs)
    assert "on its way to Stripe" in signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    for message in messages:
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
        assert outbox_deliver(message_id=message.pk) == OutboxMessage.Status.DELIVERED
    for sub in subs:
        sub.refresh_from_db()
        assert (sub.cancel_at_period_end, sub.ended_by, sub.shop_pending) == (True, "shop", "")
        assert client_for(sandbox).v1.subscriptions.retrieve(sub.stripe_subscription_id).cancel_at_period_end
    assert len([m for m in mail.outbox if "ends your subscription" in m.subject]) == 2
    assert_ledger_equals_stripe()
    advance(sandbox, 31 * DAY)  # (no webhooks here: the ledger is checked before the payouts this makes)
    for sub in subs:
        ended = services.subscription_sync(stripe_subscription_id=sub.stripe_subscription_id)
        assert ended is not None and ended.status == SubscriptionStatus.CANCELED


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_selling_once_leaves_a_buyers_own_cancellation_not_heard_of_yet_as_the_buyers(
    sandbox: Any, currency: str, price: int
) -> None:
    """The buyer canceled in the portal a moment before the shop sold the listing once and ended its
    subscriptions, and the webhook has not come: the follow-up reads Stripe before its first send, so
    the buyer's cancellation stays the buyer's (Stripe would otherwise stamp the shop's request on it),
    the buyer is not told the shop ended it, and the shop cannot undo it."""
    seller, listing = seller_with_plan(sandbox, currency, price, 1_000)
    sub = subscribe_synced(sandbox, listing)
    portal = services.billing_portal_url(user=sub.buyer, return_url="http://app/subs", visit="p" * 32)
    status, _, _ = fetch_no_redirect(portal, f"action=cancel&subscription={sub.stripe_subscription_id}".encode())
    assert status == 303
    advance(sandbox, 5)  # the shop's request comes seconds later at Stripe
    assert services.plan_set(seller=seller, listing_id=listing.pk, interval="", end_subscriptions=True).ending == 1
    # Sent at commit (Stripe is up).
    assert OutboxMessage.objects.get(name="subscriptions.shop_change_send").status == OutboxMessage.Status.DELIVERED
    sub.refresh_from_db()
    assert (sub.cancel_at_period_end, sub.ended_by, sub.shop_pending) == (True, "buyer", "")
    assert updates_at_stripe(sandbox, sub) == 1  # the buyer's only
    assert not shop_emails(sub.buyer)
    with pytest.raises(Conflict, match="only they can keep it"):
        services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=False)
    assert_ledger_equals_stripe()


def test_another_shops_subscription_is_not_found_and_a_paused_shop_can_end_its_own(sandbox: Any) -> None:
    seller, listing = seller_with_plan(sandbox, "usd", 1_500, 1_000)
    sub = subscribe_synced(sandbox, listing)
    other = active_seller(sandbox, currency="usd")
    with pytest.raises(NotFound):
        services.subscription_shop_end(seller=other, subscription_id=sub.pk, end=True)
    end = {"action": "end"}
    assert signed_in(other.user).post(reverse("sell_subscription_end", args=[sub.pk]), end).status_code == 404
    assert signed_in(seller.user).post(reverse("sell_subscription_end", args=[10**9]), end).status_code == 404
    seller_pause(seller=seller, actor=make_platform_admin(), reason="Reports")
    done = services.subscription_shop_end(seller=seller, subscription_id=sub.pk, end=True)
    assert done.sent and done.subscription.ended_by == "shop"


@pytest.mark.parametrize("form", [{}, {"action": ""}, {"action": "End"}, {"action": "cancel"}, {"action": "end\x00"}])
def test_a_post_without_end_or_keep_changes_nothing_and_says_what_to_choose(sandbox: Any, form: dict[str, str]) -> None:
    seller, listing = seller_with_plan(sandbox, "jpy", 3_333, 1_000)
    sub = subscribe_synced(sandbox, listing)
    response = signed_in(seller.user).post(reverse("sell_subscription_end", args=[sub.pk]), form, follow=True)
    if "\x00" in form.get("action", ""):  # refused before any view, as every form with a NUL byte is
        assert response.status_code == 400
    else:
        assert response.status_code == 200
        assert "Choose “End at period end” or “Keep subscription”" in response.content.decode()
    assert (Subscription.objects.get(pk=sub.pk).shop_pending, updates_at_stripe(sandbox, sub)) == ("", 0)
    assert not client_for(sandbox).v1.subscriptions.retrieve(sub.stripe_subscription_id).cancel_at_period_end


def subscribe_synced(sandbox: Any, listing: Any) -> Subscription:
    """A new buyer's paid subscription mirrored by the test itself (no webhooks), its invoice posted."""
    session = subscribe_quietly(sandbox, listing)
    sub = services.subscription_sync(stripe_subscription_id=session.subscription)
    assert sub is not None
    services.invoice_sync(stripe_invoice_id=session.invoice)
    return sub


def test_a_past_due_subscription_is_not_ended_at_a_period_it_has_not_paid_for(sandbox: Any) -> None:
    seller, listing = seller_with_plan(sandbox, "usd", 1_500, 1_000)
    sub = subscribe_synced(sandbox, listing)
    Subscription.objects.filter(pk=sub.pk).update(status=SubscriptionStatus.PAST_DUE)  # as its mirror says
    page = signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    assert "Once the overdue payment is in." in page and "End at period end" not in page
