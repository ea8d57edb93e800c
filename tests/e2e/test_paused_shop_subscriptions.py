"""A shop paused by the platform, or disabled by Stripe, stops charging its subscriptions (Stripe's
`pause_collection`): the buyer's "Your subscriptions" and the seller's "Subscribers" say so, naming
whose hold it is, in USD and JPY, on a phone (375 px, axe-core). Real subscriptions on the sandbox,
paused through the follow-up of the admin's pause or of the read of the account Stripe disabled, so
the sentences follow what Stripe says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from catalog.models import Listing
from sellers.services import seller_pause, seller_refresh_from_stripe
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionInvoice
from tests.catalog.factories import ListingFactory, SellerFactory
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, pay, wait_until
from tests.sellers.conftest import set_requirements
from tests.subscriptions.factories import subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _subscribe(sandbox: Any, buyer: Any, listing: Listing) -> Subscription:
    start = services.subscription_checkout_start(
        buyer=buyer,
        listing_id=listing.pk,
        attempt=f"{listing.pk:032d}",
        success_url="http://a/ok",
        cancel_url="http://a/no",
    )
    session_id = start.url.rstrip("/").rsplit("/", 1)[-1]
    assert pay(sandbox, session_id)["status"] == "succeeded"
    sub = services.subscription_checkout_finish(buyer=buyer, session_id=session_id)
    assert sub is not None and sub.status == "active"
    return sub


# Who holds the shop, and what the buyer's row, the seller's revenue and the seller's rows then say.
HOLDS = {
    "paused here": (
        "is paused",
        "Nothing while your shop is paused: its 2 subscriptions are charged again once it is unpaused.",
        "None while your shop is paused",
    ),
    "disabled by Stripe": (
        "can't take payments",
        "Nothing while Stripe holds your shop's payments: its 2 subscriptions are charged again once Stripe lets"
        " your shop take payments.",
        "None while Stripe holds your shop's payments",
    ),
}


@pytest.mark.parametrize("hold", list(HOLDS))
def test_a_paused_shops_subscriptions_say_nothing_is_charged_to_buyer_and_seller(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, hold: str
) -> None:
    buyer_says, revenue_says, row_says = HOLDS[hold]
    seller = active_seller(sandbox, shop="Kiln & Co")
    coffee = ListingFactory(seller=seller, title="Coffee box", price=2_000, currency="usd")
    tea = ListingFactory(seller=seller, title="Tea", price=1_200, currency="jpy")
    for listing, interval in ((coffee, "month"), (tea, "year")):
        services.plan_set(seller=seller, listing_id=listing.pk, interval=interval)
    buyer = UserFactory()
    subs = [_subscribe(sandbox, buyer, coffee), _subscribe(sandbox, buyer, tea)]
    if hold == "paused here":
        seller_pause(seller=seller, actor=make_platform_admin(), reason="Counterfeit reports")
    else:
        due = ["individual.verification.document"]
        set_requirements(sandbox, str(seller.stripe_account_id), currently_due=due, past_due=due)
        seller_refresh_from_stripe(seller=seller)  # what its account.updated does
    assert wait_until(
        lambda: Subscription.objects.filter(pk__in=[s.pk for s in subs], collection_paused=True).count() == 2
    )

    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    page.goto(live_server.url + "/account/subscriptions/")
    rows = page.get_by_test_id("subscription-row")
    expect(rows).to_have_count(2)
    for title in ("Coffee box", "Tea"):
        row = rows.filter(has_text=title)
        expect(row.get_by_test_id("subscription-status")).to_have_text("Active")
        expect(row.get_by_test_id("subscription-next")).to_have_text(
            f"None while Kiln & Co {buyer_says}: you are not charged for it"
        )
    fits_a_phone_and_passes_axe(page)
    page.context.close()

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    page.goto(live_server.url + "/sell/subscriptions/")
    expect(page.get_by_test_id("mrr-paused")).to_have_text(revenue_says)
    rows = page.get_by_test_id("subscriber-row")
    expect(rows).to_have_count(2)
    for title, amount in (("Coffee box", "$20.00 monthly"), ("Tea", "¥1,200 yearly")):
        row = rows.filter(has_text=title)
        expect(row).to_contain_text(amount)
        expect(row).to_contain_text(row_says)
    fits_a_phone_and_passes_axe(page)
    page.context.close()


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 2_999, "$29.99"), ("jpy", 3_333, "¥3,333")])
def test_an_overdue_subscription_of_a_shop_stripe_holds_says_why_nothing_is_charged(
    live_server: Any, browser: Browser, clean_cache: None, axe_js: Path, currency: str, price: int, shown: str
) -> None:
    """Past due when Stripe disabled the shop: Stripe refuses any charge to it, so the row says nothing is
    charged until the shop can take payments, with no page to pay that would refuse the buyer too."""
    seller = SellerFactory(shop_name="Kiln & Co", charges_enabled=False)
    listing = ListingFactory(seller=seller, title="Coffee box", price=price, currency=currency)
    buyer = UserFactory()
    sub = subscription(buyer, listing, status="past_due", collection_paused=True)
    SubscriptionInvoice.objects.create(
        subscription=sub,
        stripe_invoice_id=f"in_{sub.pk}",
        status="open",
        amount_due=price,
        currency=currency,
        hosted_invoice_url="https://invoice.example/pay",
        created_at=timezone.now(),
    )
    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    page.goto(live_server.url + "/account/subscriptions/")
    row = page.get_by_test_id("subscription-row")
    expect(row.get_by_test_id("subscription-status")).to_have_text("Payment overdue")
    expect(row.get_by_test_id("subscription-next")).to_have_text(
        f"{shown} overdue: Kiln & Co can't take payments now, so nothing is charged until it can"
    )
    expect(row.get_by_role("link", name="pay it now")).to_have_count(0)
    fits_a_phone_and_passes_axe(page)
    page.context.close()
