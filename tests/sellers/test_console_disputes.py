"""The console's seller page and sellers list tell the truth about disputes, against the sandbox over
HTTP (USD and JPY): a dispute of a payment for several shops is each shop's (its own order and part,
counted in its dispute rate), not only the first shop's, which the Dispute row names; a subscription
payment whose dispute was lost reads so, with no Refund link Stripe would refuse (`charge_disputed`)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.urls import reverse

from marketplace.money import format_money
from orders.models import Order
from payments.models import Dispute, SellerDebt
from subscriptions import services as subscription_services
from subscriptions.models import SubscriptionInvoice
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, listing_of, pay
from tests.orders.test_multi_seller_disputes import _lose_part_of_a_group_payment
from tests.payments.helpers import assert_ledger_equals_stripe, lose_dispute, new_events, process
from tests.sellers.conftest import signed_in_client

pytestmark = pytest.mark.django_db

PARTS = [3_429, 1_143, 428]  # of the 5000 disputed, over orders of 10000, 3333 and 1250
# The seller page's queries: 12, + the orders of the disputed payments for several shops (each shop's
# part); of a subscription payment's dispute, + the subscription payments and what their disputes name.
GROUP_DETAIL_QUERIES = 13
SUBSCRIPTION_DETAIL_QUERIES = 15


def _disputes_section(page: str) -> str:
    found = re.search(r'<section [^>]*data-testid="seller-disputes">.*?</section>', page, re.S)
    assert found is not None
    return found.group(0)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_every_shop_of_a_lost_payment_for_several_shops_sees_the_dispute_its_part_and_its_rate(
    sandbox: Any, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any, currency: str
) -> None:
    """Paid with 4242, each shop's funds are pending, so each owes its share: the page of a shop the
    dispute does not name read "Owes the platform from lost disputes" beside "No disputes" and
    "0 disputes over 1 payment"."""
    shops, dispute = _lose_part_of_a_group_payment(
        sandbox, currency, django_capture_on_commit_callbacks, card="4242424242424242"
    )
    assert_ledger_equals_stripe()
    admin = signed_in_client(make_platform_admin())
    whole = format_money(5_000, currency)
    for index, (shop, part) in enumerate(zip(shops, PARTS, strict=True)):
        own = Order.objects.get(payment=dispute.payment, seller=shop)
        with django_assert_num_queries(GROUP_DETAIL_QUERIES):
            page = admin.get(reverse("console_seller_detail", args=[shop.pk])).content.decode()
        section = _disputes_section(page)
        assert "No disputes." not in section
        assert "1 dispute over 1 payment in 90 days" in section and "above the threshold" in section
        owed = SellerDebt.objects.get(dispute=dispute, seller=shop).amount
        assert f"<strong>Owes the platform from lost disputes:</strong> {format_money(owed, currency)}" in section
        link = reverse("console_dispute_detail", args=[dispute.pk])
        answers = "this shop answers it" if index == 0 else f"{shops[0].shop_name} answers it"
        assert (
            f'<li data-testid="seller-dispute"><a href="{link}">{format_money(part, currency)} of order {own.pk}'
            f"</a>: its part of {whole} disputed on a payment for several shops ({answers}), fraudulent · Lost</li>"
        ) in section.replace("&amp;", "&")
    # The sellers list flags each of them.
    with django_assert_num_queries(6):
        listing = admin.get(reverse("console_sellers")).content.decode()
    for shop in shops:
        row = re.search(
            rf'<tr data-testid="seller-row">(?:(?!</tr>).)*{re.escape(shop.shop_name)}.*?</tr>',
            listing.replace("&amp;", "&"),
            re.S,
        )
        assert row is not None and "High dispute rate" in row.group(0), shop.shop_name


def subscribed(sandbox: Any, listing: Any, capture: Any, seen: set[str]) -> SubscriptionInvoice:
    """A new buyer subscribes to `listing` and pays its first invoice on Stripe's Checkout."""
    buyer = UserFactory()
    start = subscription_services.subscription_checkout_start(
        buyer=buyer,
        listing_id=listing.pk,
        attempt=uuid.uuid4().hex,
        success_url="http://t/ok",
        cancel_url="http://t/no",
    )
    pay(sandbox, start.url.rstrip("/").rsplit("/", 1)[-1])
    with capture(execute=True):
        assert "failed" not in process(new_events(seen))
    return SubscriptionInvoice.objects.select_related("payment", "subscription__buyer").get(subscription__buyer=buyer)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_subscription_payment_whose_dispute_was_lost_reads_so_with_no_refund_link(
    sandbox: Any, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any, currency: str
) -> None:
    """It read "Succeeded", "—" and offered Refund, which Stripe refuses (`charge_disputed`); the other
    payment keeps its link."""
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=10_000, title="Coffee box")
    subscription_services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    seen: set[str] = set()
    disputed = subscribed(sandbox, listing, django_capture_on_commit_callbacks, seen)
    kept = subscribed(sandbox, listing, django_capture_on_commit_callbacks, seen)
    assert disputed.payment is not None
    lose_dispute(
        sandbox,
        charge_id=disputed.payment.stripe_charge_id,
        amount=10_000,
        on_commit=django_capture_on_commit_callbacks,
    )
    assert Dispute.objects.get().status == "lost"
    assert_ledger_equals_stripe()
    admin = signed_in_client(make_platform_admin())
    with django_assert_num_queries(SUBSCRIPTION_DETAIL_QUERIES):
        page = admin.get(reverse("console_seller_detail", args=[seller.pk])).content.decode()
    rows = re.findall(r'<tr data-testid="seller-sub-payment">.*?</tr>', page, re.S)
    [lost] = [r for r in rows if disputed.subscription.buyer.email in r]
    [other] = [r for r in rows if kept.subscription.buyer.email in r]
    assert 'data-testid="sub-payment-dispute">Dispute lost</span>' in lost
    assert ">Refund<" not in lost and "stripe_id=" not in lost
    assert "sub-payment-dispute" not in other and f"stripe_id={kept.stripe_invoice_id}" in other
