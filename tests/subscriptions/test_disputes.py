"""A dispute of a subscription payment, which has no order: the seller's and the admins' pages name what was
disputed (the subscription's listing, its subscriber and the payment's date), so it can be answered."""

from __future__ import annotations

from typing import Any

import pytest

from payments.models import Dispute
from subscriptions.models import SubscriptionInvoice
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import signed_in, wait_until
from tests.subscriptions.test_subscriptions import seller_with_plan, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

DISPUTED_CARD = "4000000000000259"  # succeeds, then is disputed as fraudulent


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_a_disputed_subscription_payment_names_its_subscription(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    subscribe(sandbox_webhooks, buyer, listing, card=DISPUTED_CARD)
    assert wait_until(lambda: Dispute.objects.filter(payment__isnull=False).exists())
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(payment__isnull=False).exists())
    dispute = Dispute.objects.get()
    paid = SubscriptionInvoice.objects.get(payment__isnull=False)
    assert dispute.order is None and dispute.payment_id == paid.payment_id
    named = f"Coffee box · {buyer.email} · {paid.created_at:%-d %b %Y}"

    seller_pages = signed_in(seller.user)
    disputes = seller_pages.get("/sell/disputes/").content.decode()
    assert named in disputes and f"Dispute {dispute.pk}" not in disputes
    # The column holds a subscription payment here, an order elsewhere: it was headed "Order".
    assert '<th scope="col">Disputed payment</th>' in disputes and '<th scope="col">Order</th>' not in disputes
    detail = seller_pages.get(f"/sell/disputes/{dispute.pk}/").content.decode()
    link = f'<a href="/sell/subscriptions/payments/{paid.pk}/">{named}</a>'
    assert f"<strong>Subscription payment:</strong> {link}" in detail

    admin = signed_in(make_platform_admin())
    queue = admin.get("/console/disputes/").content.decode()
    assert named in queue and f'<td data-label="Disputed payment">{named}</td>' in queue
    assert '<th scope="col">Disputed payment</th>' in queue and '<th scope="col">Order</th>' not in queue
    console = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert f"<strong>Subscription payment:</strong> {named}" in console
    # The evidence's suggestions, as for an order: who paid, and for what.
    assert f">{buyer.email}</textarea>" in console
    assert ">Coffee box, a monthly subscription</textarea>" in console


def test_the_dispute_rate_counts_subscription_payments_among_the_payments(sandbox_webhooks: Any) -> None:
    """A shop's disputes of subscription payments are counted over its payments, subscription payments included,
    as payment health counts them: one disputed payment of two is 50%, not "1 dispute over 0 paid orders: 100%"."""
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 2_500, 1_000)
    subscribe(sandbox_webhooks, UserFactory(), listing, card=DISPUTED_CARD)
    subscribe(sandbox_webhooks, UserFactory(), listing)
    assert wait_until(lambda: Dispute.objects.filter(payment__isnull=False).exists())
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(payment__isnull=False).count() == 2)
    page = signed_in(make_platform_admin()).get(f"/console/sellers/{seller.pk}/").content.decode()
    assert "1 dispute over 2 payments in 90 days (orders and subscription payments): <strong>50%</strong>" in page
