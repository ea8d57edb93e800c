"""The subscription pages: what each shows (status, next payment, amount; subscribers and monthly
recurring revenue per currency, a yearly subscription counting a twelfth; a subscription payment's
refunds), and a fixed number of queries however many subscriptions and refunds there are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from payments.models import Refund
from sellers.models import Seller
from subscriptions.models import SubscriptionInvoice
from tests.catalog.factories import ListingFactory, SellerFactory
from tests.factories import UserFactory
from tests.orders.conftest import signed_in
from tests.subscriptions.factories import END, paid_invoice, subscription

pytestmark = pytest.mark.django_db


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_your_subscriptions_shows_status_next_payment_and_amount() -> None:
    buyer = UserFactory()
    box = ListingFactory(title="Coffee box", price=1_999)
    client = signed_in(buyer)
    subscription(buyer, box)
    one = queries(client, "/account/subscriptions/")
    subscription(buyer, ListingFactory(title="Tea tin", price=900), cancel_at_period_end=True)
    subscription(buyer, ListingFactory(title="Mug club", price=500), status="past_due")
    subscription(buyer, ListingFactory(title="Old box", price=500), status="canceled", ended_at=END)
    assert queries(client, "/account/subscriptions/") == one
    page = client.get("/account/subscriptions/").content.decode()
    assert "$19.99 on 4 Mar 2031" in page and "None: ends on 4 Mar 2031" in page
    assert "Payment overdue" in page and "None (ended 4 Mar 2031)" in page and "Manage billing" in page


def test_subscribers_and_mrr_per_currency() -> None:
    seller = SellerFactory()
    usd = ListingFactory(seller=seller, title="Coffee box", price=2_000)
    jpy = ListingFactory(seller=seller, title="Tea", price=12_000, currency="jpy")
    client = signed_in(seller.user)
    subscription(UserFactory(), usd)
    client.get("/sell/subscriptions/")  # the nav's refund-request count is cached from now on
    one = queries(client, "/sell/subscriptions/")
    subscription(UserFactory(), usd, status="past_due")
    subscription(UserFactory(), usd, status="canceled", ended_for_nonpayment=True)
    subscription(UserFactory(), jpy, interval="year")
    assert queries(client, "/sell/subscriptions/") == one
    page = client.get("/sell/subscriptions/").content.decode()
    assert 'data-testid="mrr-usd">$40.00 per month' in page  # active + past due
    assert 'data-testid="mrr-jpy">¥1,000 per month' in page  # a twelfth of ¥12,000 a year
    assert "(payments failed)" in page
    other = signed_in(SellerFactory().user).get("/sell/subscriptions/").content.decode()
    assert "Coffee box" not in other and 'data-testid="mrr-none"' in other


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 1_600, "$16.00"), ("jpy", 1_600, "¥1,600")])
def test_a_past_due_subscription_shows_what_is_owed_now_and_where_to_pay_it(
    currency: str, price: int, shown: str
) -> None:
    """Stripe moves the period on while it retries a declined renewal: the next period's date is
    not what the buyer owes; the open invoice is, and its page is where to pay it."""
    buyer = UserFactory()
    box = ListingFactory(title="Coffee box", price=price, currency=currency)
    sub = subscription(buyer, box, status="past_due")
    SubscriptionInvoice.objects.create(
        subscription=sub,
        stripe_invoice_id="in_paid",
        status="paid",
        amount_due=price,
        amount_paid=price,
        currency=currency,
        created_at=END - timedelta(days=62),
    )
    SubscriptionInvoice.objects.create(
        subscription=sub,
        stripe_invoice_id="in_open",
        status="open",
        amount_due=price,
        currency=currency,
        hosted_invoice_url="https://invoice.stripe.com/i/in_open",
        created_at=END - timedelta(days=31),
    )
    page = signed_in(buyer).get("/account/subscriptions/").content.decode()
    next_payment = page.split('data-testid="subscription-next">')[1].split("</td>")[0]
    assert f"{shown} overdue" in next_payment and "4 Mar 2031" not in next_payment
    assert '<a href="https://invoice.stripe.com/i/in_open">pay it now</a>' in next_payment

    seller_page = signed_in(box.seller.user).get("/sell/subscriptions/").content.decode()
    assert "Overdue: the card is being tried again" in seller_page and "4 Mar 2031" not in seller_page


def test_a_visitor_not_signed_in_is_asked_to_sign_in_and_comes_back_to_the_listing() -> None:
    """The "Subscribe" button posted a form to an address that only takes forms: signed out, the visitor went to
    the login page with that address as `next`, and after signing in got a blank 405 page."""
    from django.test import Client

    from subscriptions.models import SubscriptionPlan

    listing = ListingFactory(seller=SellerFactory(charges_enabled=True), price=900, stock=5)
    SubscriptionPlan.objects.create(listing=listing, interval="month")
    page = Client().get(f"/listing/{listing.pk}/").content.decode()
    assert f'action="/listing/{listing.pk}/subscribe/"' not in page
    assert f'href="/accounts/login/?next=/listing/{listing.pk}/"' in page
    signed = signed_in(UserFactory()).get(f"/listing/{listing.pk}/").content.decode()
    assert f'action="/listing/{listing.pk}/subscribe/"' in signed  # signed in: the form, as before


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_000), ("jpy", 2_000)])
def test_a_paused_shop_reads_its_subscribers_are_kept_not_that_it_has_none(currency: str, price: int) -> None:
    """While the platform pauses the shop its subscriptions stay active and charge nothing: the
    recurring revenue read "No active subscriptions yet." above a table of active subscribers."""
    seller = SellerFactory(paused_at=timezone.now())
    box = ListingFactory(seller=seller, title="Coffee box", price=price, currency=currency)
    subscription(UserFactory(), box, collection_paused=True)
    subscription(UserFactory(), box, interval="year", collection_paused=True)
    page = signed_in(seller.user).get("/sell/subscriptions/").content.decode()
    mrr = page.split('<h2 id="mrr-h">')[1].split("</section>")[0]
    assert "No active subscriptions yet." not in mrr
    assert "Nothing while your shop is paused: its 2 subscriptions are charged again once it is unpaused.</p>" in mrr
    # Stripe holds the shop's payments instead (not paused here): the page says whose hold it is.
    Seller.objects.filter(pk=seller.pk).update(paused_at=None, charges_enabled=False)
    page = signed_in(seller.user).get("/sell/subscriptions/").content.decode()
    mrr = page.split('<h2 id="mrr-h">')[1].split("</section>")[0]
    assert (
        "Nothing while Stripe holds your shop's payments: its 2 subscriptions are charged again once Stripe lets"
        " your shop take payments.</p>"
    ) in mrr
    assert "None while Stripe holds your shop's payments" in page


def test_subscribe_on_a_page_shown_before_the_seller_sold_it_once_again_says_so_on_the_listing() -> None:
    """The buyer's page still showed Subscribe when the seller switched the listing back to one-off
    sales: pressing it gave "Page not found" for a product that is right there to buy."""
    from subscriptions import services

    listing = ListingFactory(seller=SellerFactory(charges_enabled=True), title="Coffee box", price=900, stock=5)
    services.plan_set(seller=listing.seller, listing_id=listing.pk, interval="month")
    client = signed_in(UserFactory())
    assert f'action="/listing/{listing.pk}/subscribe/"' in client.get(f"/listing/{listing.pk}/").content.decode()
    services.plan_set(seller=listing.seller, listing_id=listing.pk, interval="")
    response = client.post(f"/listing/{listing.pk}/subscribe/", {"attempt": "e" * 32}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(f"/listing/{listing.pk}/", 302)]
    page = response.content.decode()
    assert "Coffee box is no longer sold by subscription: add it to your cart to buy it once." in page
    assert "Add to cart" in page


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_800), ("jpy", 1_800)])
def test_a_seller_selling_once_again_is_told_its_subscribers_go_on_being_charged(currency: str, price: int) -> None:
    """Stripe goes on charging the subscriptions already made when the listing is sold once (or
    yearly) from now on: the seller read only "Sold once: buyers add it to their cart." and could
    believe the subscribers were no longer charged."""
    from subscriptions.models import SubscriptionPlan

    seller = SellerFactory()
    box = ListingFactory(seller=seller, title="Coffee box", price=price, currency=currency)
    SubscriptionPlan.objects.create(listing=box, interval="month")
    subscription(UserFactory(), box)
    subscription(UserFactory(), box, status="past_due")
    subscription(UserFactory(), box, status="canceled", ended_at=END)
    client = signed_in(seller.user)
    page = client.post(f"/sell/subscriptions/{box.pk}/plan/", {"interval": ""}, follow=True).content.decode()
    assert "Sold once: buyers add it to their cart." in page
    assert "Its 2 subscribers keep their subscription and are charged as before until they cancel it." in page
    page = client.post(f"/sell/subscriptions/{box.pk}/plan/", {"interval": "year"}, follow=True).content.decode()
    assert "Its 2 subscribers keep their subscription" in page
    page = client.post(f"/sell/subscriptions/{box.pk}/plan/", {"interval": "month"}, follow=True).content.decode()
    assert "keep their subscription" not in page  # sold as they subscribed: nothing to tell


def test_subscribers_and_listings_come_50_a_page() -> None:
    """A shop with thousands of subscribers or listings got every one of them on one page."""
    seller = SellerFactory()
    box = ListingFactory(seller=seller, title="Coffee box", price=2_000)
    for n in range(50):
        ListingFactory(seller=seller, title=f"Tin {n:02d}", price=900)
    for _ in range(51):
        subscription(UserFactory(), box)
    client = signed_in(seller.user)
    first = client.get("/sell/subscriptions/").content.decode()
    assert first.count('data-testid="subscriber-row"') == 50 and first.count('data-testid="plan-row"') == 50
    assert "$1,020.00 per month" in first  # the revenue counts every subscriber, not the page's
    assert 'href="?page=2&amp;listings_page=1#subs-h"' in first
    assert 'href="?page=1&amp;listings_page=2#plans-h"' in first
    second = client.get("/sell/subscriptions/?page=2&listings_page=2").content.decode()
    assert second.count('data-testid="subscriber-row"') == 1 and second.count('data-testid="plan-row"') == 1
    assert client.get("/sell/subscriptions/?page=x&listings_page=" + "9" * 1000).status_code == 200


def test_the_admin_reads_before_pausing_that_the_shops_subscribers_stop_being_charged() -> None:
    """Pausing a shop voids its subscriptions' renewals until the unpause; the console said only that
    its listings are hidden and checkout refused its items."""
    from tests.factories import make_platform_admin

    seller = SellerFactory()
    page = signed_in(make_platform_admin()).get(f"/console/sellers/{seller.pk}/").content.decode()
    assert (
        "Their listings are hidden, checkout refuses their items and their subscribers are not charged at "
        "renewal until unpaused (the subscriptions stay active)." in page
    )


@pytest.mark.parametrize(
    ("currency", "old", "typed", "said"),
    [
        (
            "usd",
            2_000,
            "25",
            "Its 2 subscribers keep paying $20.00 monthly until they cancel; new subscribers pay $25.00.",
        ),
        (
            "jpy",
            2_400,
            "3000",
            "Its 2 subscribers keep paying ¥2,400 monthly until they cancel; new subscribers pay ¥3,000.",
        ),
    ],
)
def test_a_new_price_on_a_listing_sold_by_subscription_tells_the_seller_subscribers_keep_theirs(
    currency: str, old: int, typed: str, said: str
) -> None:
    """Stripe charges each subscription the price it was made with: the seller who raised the price
    read only "Your changes are saved." and expected the subscribers to pay the new price."""
    from django.urls import reverse

    from subscriptions.models import SubscriptionPlan

    seller = SellerFactory()
    box = ListingFactory(seller=seller, title="Coffee box", price=old, currency=currency)
    SubscriptionPlan.objects.create(listing=box, interval="month")
    subscription(UserFactory(), box)
    subscription(UserFactory(), box, status="past_due")
    subscription(UserFactory(), box, status="canceled", ended_at=END)
    # Canceled by its buyer at the period's end: it pays nothing more, so it does not "keep paying".
    subscription(UserFactory(), box, cancel_at_period_end=True)
    client = signed_in(seller.user)
    url = reverse("sell_listing_edit", args=[box.pk])
    form = {"title": "Coffee box", "price": typed, "stock": "5", "category": box.category_id}
    page = client.post(url, form, follow=True).content.decode()
    assert said in page
    page = client.post(url, {**form, "title": "Coffee box, ground"}, follow=True).content.decode()
    assert said in page  # still true after any later edit
    same = ListingFactory(seller=seller, title="Tea", price=old, currency=currency)
    SubscriptionPlan.objects.create(listing=same, interval="month")
    subscription(UserFactory(), same)
    edit = {
        "title": "Tea tin",
        "price": client.get(reverse("sell_listing_edit", args=[same.pk])).context["form"].initial["price"],
        "stock": "5",
        "category": same.category_id,
    }
    page = client.post(reverse("sell_listing_edit", args=[same.pk]), edit, follow=True).content.decode()
    assert "keep paying" not in page  # the price did not change


def _refunded(invoice: SubscriptionInvoice, amount: int, status: str = "succeeded") -> None:
    assert invoice.payment is not None
    Refund.objects.create(
        payment=invoice.payment,
        origin="seller",
        status=status,
        currency=invoice.currency,
        amount=amount,
        reverse_transfer=True,
        refund_application_fee=True,
        stripe_refund_id=f"re_{invoice.pk}_{amount}",
    )


@pytest.mark.parametrize(
    ("currency", "shown"), [("usd", "$5.00 of your $19.99 payment"), ("jpy", "¥500 of your ¥1,999")]
)
def test_a_subscription_payments_page_and_the_buyers_refunds_take_fixed_queries(currency: str, shown: str) -> None:
    """The seller's page of one payment (its refunds, the subscription's other payments) and the
    buyer's subscriptions with their refunds: a fixed number of queries however many there are."""
    seller = SellerFactory()
    buyer = UserFactory()
    sub = subscription(buyer, ListingFactory(seller=seller, title="Coffee box", price=1_999, currency=currency))
    latest = paid_invoice(sub, 1)
    _refunded(latest, 500)
    seller_client, buyer_client = signed_in(seller.user), signed_in(buyer)
    url = f"/sell/subscriptions/payments/{latest.pk}/"
    seller_client.get(url)  # the nav's refund-request count is cached from now on
    one, mine = queries(seller_client, url), queries(buyer_client, "/account/subscriptions/")
    for n in range(2, 5):
        _refunded(paid_invoice(sub, n), 100 * n, status="pending")
    _refunded(latest, 300)
    assert queries(seller_client, url) == one
    assert queries(buyer_client, "/account/subscriptions/") == mine
    page = buyer_client.get("/account/subscriptions/").content.decode()
    assert page.count('data-testid="subscription-refund"') == 5 and shown in page and "on its way to your card" in page
    assert seller_client.get(url).content.decode().count('data-testid="refund-row"') == 2
    assert signed_in(SellerFactory().user).get(url).status_code == 404


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 1_999, "$19.99"), ("jpy", 1_999, "¥1,999")])
def test_a_subscription_ended_for_nonpayment_tells_the_buyer_why(currency: str, price: int, shown: str) -> None:
    """Stripe cancels a subscription whose renewal failed every retry. The seller read "Canceled
    (payments failed)" while the buyer, who canceled nothing, read only "Canceled"."""
    buyer = UserFactory()
    box = ListingFactory(title="Coffee box", price=price, currency=currency)
    subscription(buyer, box, status="canceled", ended_at=END, ended_for_nonpayment=True)
    tin = ListingFactory(title="Tea tin", price=price, currency=currency)
    subscription(buyer, tin, status="canceled", ended_at=END)
    page = signed_in(buyer).get("/account/subscriptions/").content.decode()
    assert f"{shown} monthly" in page
    assert page.count("Canceled: your payments failed") == 1


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$19.99"), ("jpy", "¥1,999")])
def test_a_payment_of_an_ended_subscription_does_not_say_the_subscription_goes_on(currency: str, shown: str) -> None:
    """The seller refunding a payment of a subscription Stripe canceled for nonpayment read "The
    subscription goes on: the subscriber cancels it in their billing page", and its status without
    why it ended; a live one's page still says it goes on."""
    seller = SellerFactory()
    box = ListingFactory(seller=seller, title="Coffee box", price=1_999, currency=currency)
    ended = subscription(UserFactory(), box, status="canceled", ended_at=END, ended_for_nonpayment=True)
    live = subscription(UserFactory(), box)
    client = signed_in(seller.user)
    page = client.get(f"/sell/subscriptions/payments/{paid_invoice(ended).pk}/").content.decode()
    assert f"Canceled (payments failed), {shown} monthly" in page
    assert "goes on" not in page and "The subscription has ended: a refund does not change that." in page
    page = client.get(f"/sell/subscriptions/payments/{paid_invoice(live).pk}/").content.decode()
    assert "The subscription goes on: the subscriber cancels it in their billing page." in page


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$19.99"), ("jpy", "¥1,999")])
@pytest.mark.parametrize("by", ["buyer", "shop"])
def test_a_payment_of_a_canceled_subscription_does_not_ask_the_subscriber_to_cancel_it(
    currency: str, shown: str, by: str
) -> None:
    """A subscription canceled at its period end (by the buyer in Stripe's portal, or by the shop) is
    still active until then: its payment's refund form said "The subscription goes on: the subscriber
    cancels it in their billing page", of one already canceled. It says when it ends instead."""
    seller = SellerFactory()
    box = ListingFactory(seller=seller, title="Coffee box", price=1_999, currency=currency)
    asked = END - timedelta(days=3)
    sub = subscription(
        UserFactory(),
        box,
        cancel_at_period_end=True,
        canceled_at=asked,
        shop_canceled_at=asked if by == "shop" else None,
    )
    page = signed_in(seller.user).get(f"/sell/subscriptions/payments/{paid_invoice(sub).pk}/").content.decode()
    assert f"{shown} monthly" in page
    assert "goes on" not in page and "the subscriber cancels it" not in page
    ends = date_format(timezone.localtime(END), "j M Y")
    assert (
        f"The subscription is canceled and ends on {ends}, with no payment after: a refund does not change that."
        in page
    )


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_800), ("jpy", 1_800)])
@pytest.mark.parametrize("hidden", ["draft", "unpublished", "shop cannot sell"])
def test_a_plan_set_on_a_listing_buyers_cannot_see_does_not_say_they_subscribe(
    currency: str, price: int, hidden: str
) -> None:
    """The Subscribers page lists drafts too: setting one monthly said "buyers subscribe", as if it were
    on sale, when no buyer can see it until it is published (or the shop can sell)."""
    seller = SellerFactory(charges_enabled=hidden != "shop cannot sell")
    status = {"draft": "draft", "unpublished": "unpublished"}.get(hidden, "published")
    box = ListingFactory(seller=seller, title="Coffee box", price=price, currency=currency, status=status)
    client = signed_in(seller.user)
    page = client.post(f"/sell/subscriptions/{box.pk}/plan/", {"interval": "month"}, follow=True).content.decode()
    assert "Sold by subscription, monthly" in page
    assert "buyers subscribe." not in page
    assert "Buyers cannot see it yet" in page
    page = client.post(f"/sell/subscriptions/{box.pk}/plan/", {"interval": ""}, follow=True).content.decode()
    assert "Sold once" in page and "buyers add it to their cart." not in page


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_800), ("jpy", 1_800)])
def test_a_plan_set_on_a_listing_on_sale_says_buyers_subscribe(currency: str, price: int) -> None:
    seller = SellerFactory()
    box = ListingFactory(seller=seller, title="Coffee box", price=price, currency=currency)
    client = signed_in(seller.user)
    page = client.post(f"/sell/subscriptions/{box.pk}/plan/", {"interval": "month"}, follow=True).content.decode()
    assert "Sold by subscription, monthly: buyers subscribe." in page
    assert "Buyers cannot see it yet" not in page
