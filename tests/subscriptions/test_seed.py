"""The demo's subscriptions: `seed_demo_subscriptions` sells the last listing of the JPY shop monthly
and of the USD shop yearly, and the demo buyer subscribes to both through the sandbox's Checkout, once;
the ledger equals Stripe's balances after it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from marketplace.models import User
from payments.models import Payment
from sellers.models import Seller
from subscriptions.models import Subscription, SubscriptionPlan, SubscriptionStatus
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = pytest.mark.django_db


def demo_shop(sandbox: Any, currency: str, name: str, email: str) -> Seller:
    seller = active_seller(sandbox, currency=currency, shop=name)
    User.objects.filter(pk=seller.user_id).update(email=email)
    return seller


def test_seed_demo_subscriptions_subscribes_the_demo_buyer_in_jpy_and_usd_once(sandbox: Any) -> None:
    buyer = UserFactory(email="buyer@marketplace.test")
    shops = {
        "jpy": demo_shop(sandbox, "jpy", "Hokusai Prints", "seller.active@marketplace.test"),
        "usd": demo_shop(sandbox, "usd", "Brooklyn Ceramics", "seller.active.us@marketplace.test"),
    }
    bought_once = {c: listing_of(shop, price=1_000, title="Bought once") for c, shop in shops.items()}
    sold_monthly = listing_of(shops["jpy"], price=3_300, title="Print of the month")
    sold_yearly = listing_of(shops["usd"], price=12_000, title="Mug club")
    out = StringIO()
    call_command("seed_demo_subscriptions", stdout=out)
    call_command("seed_demo_subscriptions", stdout=out)  # idempotent

    plans = {p.listing_id: p.interval for p in SubscriptionPlan.objects.all()}
    assert plans == {sold_monthly.pk: "month", sold_yearly.pk: "year"}  # the first listings stay sold once
    assert not set(plans) & {listing.pk for listing in bought_once.values()}
    subs = Subscription.objects.filter(buyer=buyer).order_by("currency")
    assert [(s.currency, s.amount, s.interval, s.status) for s in subs] == [
        ("jpy", 3_300, "month", SubscriptionStatus.ACTIVE),
        ("usd", 12_000, "year", SubscriptionStatus.ACTIVE),
    ]
    paid = Payment.objects.filter(subscription_invoices__subscription__buyer=buyer)
    assert sorted((p.currency, p.amount) for p in paid) == [("jpy", 3_300), ("usd", 12_000)]
    assert out.getvalue().count("already has a subscriber") == 2
    assert_ledger_equals_stripe()
