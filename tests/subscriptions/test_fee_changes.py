"""A change of the fee policy reaches live subscriptions from their next invoice: the invoices already
paid keep their fee (as past orders do), the next ones take the new percent at Stripe, and the ledger
stays equal to Stripe's balances. Through the sandbox over HTTP and its signed webhooks, USD and JPY."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from fees.models import FeeRule
from fees.services import fee_rule_delete, fee_rule_set
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from payments.models import Payment
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionInvoice
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import pay, signed_in, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for
from tests.subscriptions.test_subscriptions import DAY, advance, seller_with_plan, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def percent_at_stripe(sandbox: Any, sub: Subscription) -> float:
    return float(client_for(sandbox).v1.subscriptions.retrieve(sub.stripe_subscription_id).application_fee_percent)


def basis_points_of(sub: Subscription) -> int:
    return Subscription.objects.get(pk=sub.pk).application_fee_basis_points


@pytest.mark.parametrize(("currency", "price", "fees"), [("usd", 2_999, [300, 450]), ("jpy", 3_333, [333, 500])])
def test_a_new_platform_fee_reaches_a_live_subscription_from_its_next_invoice(
    sandbox_webhooks: Any, currency: str, price: int, fees: list[int]
) -> None:
    _, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    sub = subscribe(sandbox_webhooks, UserFactory(), listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).count() == 1)

    console = signed_in(make_platform_admin())
    page = console.post(reverse("console_fees"), {"currency": currency, "percent": "15", "fixed": "0"}, follow=True)
    assert "live subscriptions' next invoices included" in page.content.decode()
    assert wait_until(lambda: basis_points_of(sub) == 1_500)
    assert percent_at_stripe(sandbox_webhooks, sub) == 15
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).count() == 2)
    paid = Payment.objects.filter(subscription_invoices__subscription=sub)  # 10 % then 15 %, half up
    assert sorted(p.application_fees.get().amount for p in paid) == fees
    assert_ledger_equals_stripe()


def test_a_rule_reaches_only_its_sellers_subscriptions_and_its_removal_brings_the_default_back(
    sandbox_webhooks: Any,
) -> None:
    """10 % -> 20 % -> 10 % for one shop: each change is its own update at Stripe (the key names the
    change), so the way back is not answered with the first update's replay; the other shop keeps 10 %."""
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 1_500, 1_000)
    _, other_listing = seller_with_plan(sandbox_webhooks, "usd", 2_500, 1_000)
    mine = subscribe(sandbox_webhooks, UserFactory(), listing)
    theirs = subscribe(sandbox_webhooks, UserFactory(), other_listing)
    admin = make_platform_admin()

    rule = fee_rule_set(currency="usd", basis_points=2_000, fixed_amount=30, seller=seller, actor=admin)
    assert wait_until(lambda: basis_points_of(mine) == 2_000)
    assert percent_at_stripe(sandbox_webhooks, mine) == 20  # the fixed amount has no place in a percent
    fee_rule_delete(rule=rule)
    assert wait_until(lambda: basis_points_of(mine) == 1_000)
    assert percent_at_stripe(sandbox_webhooks, mine) == 10
    fee_rule_set(currency="jpy", basis_points=3_000, fixed_amount=0, actor=admin)  # another currency
    assert (basis_points_of(theirs), percent_at_stripe(sandbox_webhooks, theirs)) == (1_000, 10)
    assert not OutboxMessage.objects.exclude(status=OutboxMessage.Status.DELIVERED).exists()


def test_a_subscription_paid_on_a_page_opened_before_the_change_takes_the_new_fee(sandbox_webhooks: Any) -> None:
    """Checkout pages live 30 minutes: one opened at 10 % and paid after the change to 12.5 % makes a
    subscription at 10 %, after the change's follow-up ran. Mirroring it notices and sets 12.5 %."""
    _, listing = seller_with_plan(sandbox_webhooks, "jpy", 2_000, 1_000)
    buyer = UserFactory()
    start = services.subscription_checkout_start(
        buyer=buyer, listing_id=listing.pk, attempt="b" * 32, success_url="http://app/ok", cancel_url="http://app/no"
    )
    fee_rule_set(currency="jpy", basis_points=1_250, fixed_amount=0, actor=make_platform_admin())
    assert pay(sandbox_webhooks, start.url.rstrip("/").rsplit("/", 1)[-1], "4242424242424242")["status"] == "succeeded"
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.filter(buyer=buyer, application_fee_basis_points=1_250).exists())
    sub = Subscription.objects.get(buyer=buyer)
    assert percent_at_stripe(sandbox_webhooks, sub) == 12.5
    first = Payment.objects.get(subscription_invoices__subscription=sub)
    assert first.application_fees.get().amount == 200  # the page's 10 %: paid before the change reached it
    assert_ledger_equals_stripe()


def test_stripe_down_keeps_the_change_and_the_follow_up_retries(sandbox: Any) -> None:
    _, listing = seller_with_plan(sandbox, "usd", 1_000, 1_000)
    sub = services.subscription_sync(
        stripe_subscription_id=subscribe_quietly(sandbox, listing).subscription  # type: ignore[arg-type]
    )
    assert sub is not None
    with override_settings(STRIPE_API_BASE="http://127.0.0.1:9"):  # nothing listens there
        fee_rule_set(currency="usd", basis_points=1_100, fixed_amount=0, actor=make_platform_admin())
    assert FeeRule.objects.get(currency="usd", seller=None, category=None).basis_points == 1_100
    message = OutboxMessage.objects.get(name="subscriptions.follow_fee_policy", status=OutboxMessage.Status.PENDING)
    assert (message.status, message.attempts, basis_points_of(sub)) == (OutboxMessage.Status.PENDING, 1, 1_000)
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
    assert outbox_deliver(message_id=message.pk) == OutboxMessage.Status.DELIVERED
    assert (basis_points_of(sub), percent_at_stripe(sandbox, sub)) == (1_100, 11)


def subscribe_quietly(sandbox: Any, listing: Any) -> Any:
    """A paid subscription Checkout with no webhooks: the test mirrors it itself."""
    start = services.subscription_checkout_start(
        buyer=UserFactory(),
        listing_id=listing.pk,
        attempt="c" * 32,
        success_url="http://a/ok",
        cancel_url="http://a/no",
    )
    session_id = start.url.rstrip("/").rsplit("/", 1)[-1]
    assert pay(sandbox, session_id, "4242424242424242")["status"] == "succeeded"
    return client_for(sandbox).v1.checkout.sessions.retrieve(session_id)
