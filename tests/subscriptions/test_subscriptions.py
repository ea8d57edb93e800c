"""Subscriptions sold by sellers, through the sandbox over HTTP and its signed webhooks: subscribe,
renew as the sandbox clock moves, a failing renewal (past due, email with the hosted invoice, then
canceled and the seller told), 3-D Secure on renewal; the seller's money to the cent and the
ledger invariant, in USD and JPY."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from django.core import mail
from django.urls import reverse

from catalog.models import Listing
from fees.models import FeeRule
from marketplace.errors import Conflict, InvalidInput, NotFound
from marketplace.money import format_money
from orders.services import saved_cards
from orders.services.checkout import buyer_customer_ensure
from payments.models import Payment, Refund, RefundStatus
from payouts.models import Payout
from sellers.services import seller_pause, seller_unpause
from subscriptions import selectors, services
from subscriptions.models import Subscription, SubscriptionInvoice, SubscriptionPlan, SubscriptionStatus
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, listing_of, pay, signed_in, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for, fetch_no_redirect
from tests.sellers.conftest import set_requirements

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86400


def advance(sandbox: Any, seconds: int) -> None:
    r = requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=30)
    r.raise_for_status()


def subscribe(sandbox: Any, buyer: Any, listing: Any, card: str = "4242424242424242") -> Subscription:
    start = services.subscription_checkout_start(
        buyer=buyer, listing_id=listing.pk, attempt="a" * 32, success_url="http://app/ok", cancel_url="http://app/no"
    )
    session_id = start.url.rstrip("/").rsplit("/", 1)[-1]
    assert pay(sandbox, session_id, card)["status"] == "succeeded"
    assert sandbox.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.filter(buyer=buyer, status="active").exists())
    return Subscription.objects.get(buyer=buyer)


def seller_with_plan(sandbox: Any, currency: str, price: int, basis_points: int) -> Any:
    seller = active_seller(sandbox, currency=currency)
    FeeRule.objects.update_or_create(
        currency=currency, seller=None, category=None, defaults={"basis_points": basis_points, "fixed_amount": 0}
    )
    listing = listing_of(seller, price=price, title="Coffee box")
    services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    return seller, listing


@pytest.mark.parametrize(("currency", "price", "basis_points"), [("usd", 2_999, 1_250), ("jpy", 3_333, 1_000)])
def test_subscribe_and_renew_each_invoice_a_destination_charge_with_our_fee(
    sandbox_webhooks: Any, currency: str, price: int, basis_points: int
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, basis_points)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert (sub.amount, sub.currency, sub.interval, sub.application_fee_basis_points) == (
        price,
        currency,
        "month",
        basis_points,
    )
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).count() == 1)
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 2)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).count() == 2)
    fee = (price * basis_points + 5_000) // 10_000  # our percent of each invoice, half up
    client = client_for(sandbox_webhooks)
    for row in SubscriptionInvoice.objects.filter(subscription=sub):
        payment: Payment = row.payment  # type: ignore[assignment]
        charge = client.v1.charges.retrieve(payment.stripe_charge_id)
        assert (charge.amount, charge.application_fee_amount) == (price, fee)
        assert client.v1.transfers.retrieve(charge.transfer).destination == seller.stripe_account_id
        assert payment.transfers.get().amount == price
        assert payment.application_fees.get().amount == fee
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    assert selectors.recurring_revenue_of_seller(seller=seller).mrr == {currency: price}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_a_new_subscription_is_confirmed_to_the_buyer_and_told_to_the_seller_once(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """A paid order mails its buyer a confirmation and its seller "You have a new paid order"; a subscription
    mailed neither, so its seller learned of a subscriber only from the Subscribers page. Each is told
    once, when it starts: not again at renewal."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    amount = format_money(price, currency)

    def started(to: str) -> list[Any]:
        return [m for m in mail.outbox if to in m.to and "Coffee box" in m.subject]

    assert wait_until(lambda: len(started(buyer.email)) == 1 and len(started(seller.user.email)) == 1)
    [to_buyer], [to_seller] = started(buyer.email), started(seller.user.email)
    assert to_buyer.subject == f"[Marketplace] You subscribed to Coffee box: {amount} monthly"
    date = f"{sub.current_period_end:%-d %B %Y}"
    assert f"The first payment of {amount} is made; the next is on {date}" in to_buyer.body
    assert reverse("my_subscriptions") in to_buyer.body
    assert to_seller.subject == f"[Marketplace] New subscriber to Coffee box: {amount} monthly"
    assert f"{buyer.email} subscribed to Coffee box: {amount} monthly." in to_seller.body
    assert reverse("sell_subscriptions") in to_seller.body

    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 2)
    assert len(started(buyer.email)) == 1 and len(started(seller.user.email)) == 1
    assert_ledger_equals_stripe()


def test_a_failing_renewal_is_past_due_emails_the_invoice_then_ends_and_tells_the_seller(
    sandbox_webhooks: Any,
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 1_500, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="v" * 32)
    status, _, _ = fetch_no_redirect(portal, b"action=card&cardNumber=4000000000000341")
    assert status == 303
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.PAST_DUE)
    invoice = SubscriptionInvoice.objects.get(subscription=sub, status="open")
    assert invoice.hosted_invoice_url.endswith(f"/hosted/invoices/{invoice.stripe_invoice_id}")
    assert wait_until(lambda: any(invoice.hosted_invoice_url in m.body and buyer.email in m.to for m in mail.outbox))
    advance(sandbox_webhooks, 15 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.CANCELED, 20)
    assert Subscription.objects.get(pk=sub.pk).ended_for_nonpayment
    assert wait_until(lambda: any(seller.user.email in m.to and "ended" in m.subject for m in mail.outbox))
    assert selectors.recurring_revenue_of_seller(seller=seller).mrr == {}
    assert_ledger_equals_stripe()


def test_a_renewal_needing_3ds_emails_the_link(sandbox_webhooks: Any) -> None:
    _, listing = seller_with_plan(sandbox_webhooks, "jpy", 1_000, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="w" * 32)
    fetch_no_redirect(portal, b"action=card&cardNumber=4000002760003184")
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: any("Confirm your payment" in m.subject and buyer.email in m.to for m in mail.outbox))
    assert Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.PAST_DUE
    assert_ledger_equals_stripe()


def test_subscribe_refuses_what_it_must(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    one_off = listing_of(seller, price=500, title="Mug")
    buyer = UserFactory()
    with pytest.raises(Conflict, match="no longer sold by subscription"):
        services.subscription_checkout_start(
            buyer=buyer, listing_id=one_off.pk, attempt="b" * 32, success_url="http://a", cancel_url="http://a"
        )
    SubscriptionPlan.objects.create(listing=one_off, interval="year")
    with pytest.raises(Conflict, match="your own product"):
        services.subscription_checkout_start(
            buyer=seller.user, listing_id=one_off.pk, attempt="b" * 32, success_url="http://a", cancel_url="http://a"
        )
    with pytest.raises(NotFound):
        services.plan_set(seller=active_seller(sandbox, shop="Other"), listing_id=one_off.pk, interval="month")


def test_the_listing_page_offers_subscribe_once_sold_by_subscription(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    box = listing_of(seller, price=1_800, title="Coffee box")
    buyer = UserFactory()
    client = signed_in(buyer)
    page = client.get(f"/listing/{box.pk}/").content.decode()  # cached for every visitor from now on
    assert "Add to cart" in page and "Subscribe" not in page
    services.plan_set(seller=seller, listing_id=box.pk, interval="month")
    page = client.get(f"/listing/{box.pk}/").content.decode()
    assert "$18.00 monthly" in page and 'data-testid="subscribe"' in page and "Add to cart" not in page
    form = {"listing": box.pk, "quantity": 1, "attempt": uuid.uuid4().hex}  # the page seen before
    refused = client.post("/cart/add/", form, follow=True).content.decode()
    assert "This is sold by subscription: press Subscribe on its page." in refused
    with pytest.raises(InvalidInput):
        services.plan_set(seller=seller, listing_id=box.pk, interval="week")
    services.plan_set(seller=seller, listing_id=box.pk, interval="")
    assert "Add to cart" in client.get(f"/listing/{box.pk}/").content.decode()


def test_buy_now_refuses_a_listing_sold_by_subscription(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    box = listing_of(seller, price=1_800, title="Coffee box")
    services.plan_set(seller=seller, listing_id=box.pk, interval="year")
    buyer = UserFactory()
    pm = client_for(sandbox).v1.payment_methods.attach(
        "pm_card_visa", params={"customer": buyer_customer_ensure(user=buyer)}
    )
    with pytest.raises(InvalidInput, match="sold by subscription"):
        saved_cards.buy_now(
            buyer=buyer,
            listing_id=box.pk,
            payment_method=pm.id,
            attempt="c" * 32,
            return_url="http://app/r",
            price_seen=(box.price, box.currency),
        )


@pytest.mark.parametrize(("currency", "price", "net"), [("usd", 2_000, 1_800), ("jpy", 2_000, 1_800)])
def test_a_payout_names_the_subscription_its_invoice_paid_for(
    sandbox_webhooks: Any, currency: str, price: int, net: int
) -> None:
    """A subscription's invoice has no order: the payout's line says which subscription it was,
    not a bare "Sale" the seller cannot trace."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    subscribe(sandbox_webhooks, UserFactory(), listing)
    advance(sandbox_webhooks, 5 * DAY)  # available after two days, paid out at a midnight, arrived a day later
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Payout.objects.filter(status="paid", reconciliation_status="completed").exists())
    payout = Payout.objects.get(account=seller.stripe_account_id)
    page = signed_in(seller.user).get(f"/sell/money/payouts/{payout.pk}/").content.decode()
    line = page.split('data-testid="payout-line">')[1].split("</tr>")[0]
    assert "<td>Subscription: Coffee box</td>" in line and format_money(net, currency) in line


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_a_paused_shops_subscriptions_charge_nothing_until_it_is_unpaused(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """A paused shop cannot provide what a renewal charges for: its subscriptions stay active, Stripe
    voids their renewal invoices (`pause_collection`, "unable to provide services"), and the unpause
    starts charging again. The buyer and the seller read it; the ledger stays equal to Stripe."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 1)
    admin = make_platform_admin()
    client = client_for(sandbox_webhooks)

    seller_pause(seller=seller, actor=admin, reason="Counterfeit reports")
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).collection_paused)
    remote = client.v1.subscriptions.retrieve(sub.stripe_subscription_id)
    assert remote.pause_collection is not None and remote.pause_collection.behavior == "void"
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    invoices = client.v1.invoices.list(params={"subscription": sub.stripe_subscription_id}).data
    assert sorted(i.status for i in invoices) == ["paid", "void"]
    assert len(client.v1.charges.list(params={"customer": sub_customer(sub)}).data) == 1  # nothing charged
    assert Payment.objects.count() == 1
    sub.refresh_from_db()
    assert (sub.status, sub.collection_paused) == (SubscriptionStatus.ACTIVE, True)
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert f"None while {seller.shop_name} is paused: you are not charged for it" in mine
    assert (
        "None while your shop is paused" in signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    )
    money = signed_in(seller.user).get(reverse("sell_money")).content.decode()
    assert "Nothing while your shop is paused: its 1 subscription is charged again once it is unpaused." in money
    assert selectors.recurring_revenue_of_seller(seller=seller).mrr == {}
    assert_ledger_equals_stripe()

    seller_unpause(seller=seller, actor=admin, reason="Receipts checked")
    assert wait_until(lambda: not Subscription.objects.get(pk=sub.pk).collection_paused)
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 2)
    assert wait_until(lambda: Payment.objects.count() == 2)
    assert selectors.recurring_revenue_of_seller(seller=seller).mrr == {currency: price}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_a_shop_stripe_disables_has_its_subscriptions_charge_nothing_until_stripe_enables_it(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """Stripe disables the shop (requirements past due: `transfers` inactive). Stripe refuses any charge
    to it, so each renewal failed as if the buyer's card had: past due, "your payment failed" emails
    about a card that works, retries, then the subscription canceled for nonpayment. Now its collection
    is paused like a paused shop's (`pause_collection=void`): the renewal is voided, nothing is charged
    or emailed as failed, the buyer and the seller read why; once Stripe enables the shop it charges
    again. The ledger stays equal to Stripe."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 1)
    client = client_for(sandbox_webhooks)
    due = ["individual.verification.document"]
    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), currently_due=due, past_due=due)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).collection_paused)
    remote = client.v1.subscriptions.retrieve(sub.stripe_subscription_id)
    assert remote.pause_collection is not None and remote.pause_collection.behavior == "void"
    mail.outbox.clear()
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    invoices = client.v1.invoices.list(params={"subscription": sub.stripe_subscription_id}).data
    assert sorted(i.status for i in invoices) == ["paid", "void"]
    assert len(client.v1.charges.list(params={"customer": sub_customer(sub)}).data) == 1
    sub.refresh_from_db()
    assert (sub.status, sub.collection_paused) == (SubscriptionStatus.ACTIVE, True)
    assert not [m for m in mail.outbox if buyer.email in m.to], "no payment-failed email for a card that works"
    shop = seller.shop_name
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert f"None while {shop} can't take payments: you are not charged for it" in mine
    sell = signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    assert "None while Stripe holds your shop's payments" in sell
    assert "charged again once Stripe lets your shop take payments" in sell
    assert_ledger_equals_stripe()

    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), currently_due=[])
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: not Subscription.objects.get(pk=sub.pk).collection_paused)
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 2)
    assert wait_until(lambda: Payment.objects.count() == 2)
    assert Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.ACTIVE
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_an_overdue_renewal_of_a_shop_stripe_disables_is_not_blamed_on_the_buyers_card(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """A renewal declined, then Stripe disables the shop: Stripe still retries the open invoice and
    refuses each retry (no charge can go to the shop), which sent the buyer "your payment failed" with
    a page to pay that Stripe refuses too. Now no such email while the shop can't take payments, and
    "Your subscriptions" says why nothing is charged, without the link. Once Stripe enables the shop
    the buyer's new card pays it; the ledger stays equal to Stripe."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="d" * 32)
    fetch_no_redirect(portal, b"action=card&cardNumber=4000000000000341")
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.PAST_DUE)
    unpaid = SubscriptionInvoice.objects.get(subscription=sub, status="open")
    due = ["individual.verification.document"]
    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), currently_due=due, past_due=due)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).collection_paused)
    mail.outbox.clear()
    advance(sandbox_webhooks, 2 * DAY)  # Stripe's retry, refused
    assert sandbox_webhooks.wait_for_webhooks(15)
    client = client_for(sandbox_webhooks)
    assert client.v1.invoices.retrieve(unpaid.stripe_invoice_id).attempt_count >= 2
    assert not [m for m in mail.outbox if buyer.email in m.to]
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    shown = format_money(price, currency)
    assert f"{shown} overdue: {seller.shop_name} can't take payments now, so nothing is charged until it can" in mine
    assert unpaid.hosted_invoice_url not in mine

    set_requirements(sandbox_webhooks, str(seller.stripe_account_id), currently_due=[])
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: not Subscription.objects.get(pk=sub.pk).collection_paused)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="e" * 32)
    fetch_no_redirect(portal, b"action=card&cardNumber=4242424242424242")
    advance(sandbox_webhooks, 2 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.get(pk=unpaid.pk).status == "paid")
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.ACTIVE)
    assert wait_until(lambda: Payment.objects.count() == 2)
    assert_ledger_equals_stripe()


def sub_customer(sub: Subscription) -> str:
    return str(buyer_customer_ensure(user=sub.buyer))


def test_pausing_a_shop_again_after_an_unpause_pauses_its_subscriptions_again(sandbox_webhooks: Any) -> None:
    """Each pause and unpause is its own change at Stripe (its idempotency key holds the moderation
    entry): a second pause is not answered with the first pause's or the unpause's replay."""
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 1_500, 1_000)
    sub = subscribe(sandbox_webhooks, UserFactory(), listing)
    admin = make_platform_admin()
    for pause in (True, False, True):
        if pause:
            seller_pause(seller=seller, actor=admin, reason="Reports")
        else:
            seller_unpause(seller=seller, actor=admin, reason="Checked")
        assert wait_until(lambda p=pause: Subscription.objects.get(pk=sub.pk).collection_paused == p)  # type: ignore[misc]
        remote = client_for(sandbox_webhooks).v1.subscriptions.retrieve(sub.stripe_subscription_id)
        assert (remote.pause_collection is not None) == pause


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_500), ("jpy", 1_500)])
def test_a_subscription_paid_on_a_page_opened_before_the_pause_is_not_charged_while_paused(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """The buyer opened Stripe's Checkout, then the admin paused the shop, then the buyer paid: the
    pause's follow-up found no subscription to pause, and that one renewed at full price while the
    shop stayed paused. It starts with its collection paused like the shop's others."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    start = services.subscription_checkout_start(
        buyer=buyer, listing_id=listing.pk, attempt="d" * 32, success_url="http://app/ok", cancel_url="http://app/no"
    )
    seller_pause(seller=seller, actor=make_platform_admin(), reason="Counterfeit reports")
    session_id = start.url.rstrip("/").rsplit("/", 1)[-1]
    assert pay(sandbox_webhooks, session_id)["status"] == "succeeded"
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.filter(buyer=buyer, status="active").exists())
    sub = Subscription.objects.get(buyer=buyer)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).collection_paused)
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    client = client_for(sandbox_webhooks)
    invoices = client.v1.invoices.list(params={"subscription": sub.stripe_subscription_id}).data
    assert sorted(i.status for i in invoices) == ["paid", "void"]
    assert len(client.v1.charges.list(params={"customer": sub_customer(sub)}).data) == 1
    assert selectors.recurring_revenue_of_seller(seller=seller).mrr == {}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_500), ("jpy", 1_500)])
def test_a_renewal_invoice_voided_at_stripe_is_void_here_and_no_longer_offered_to_pay(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """Someone voids an overdue renewal's invoice in Stripe's Dashboard (`POST /v1/invoices/{id}/void`;
    the customer portal cannot void: its features are customer_update, invoice_history,
    payment_method_update and subscription_cancel/pause/update): `invoice.voided` makes the mirror
    void, so "Your subscriptions" no longer links its page to pay, and nothing more is charged for it."""
    _, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="v" * 32)
    fetch_no_redirect(portal, b"action=card&cardNumber=4000000000000341")
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="open").exists())
    unpaid = SubscriptionInvoice.objects.get(subscription=sub, status="open")
    assert unpaid.hosted_invoice_url in signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    client = client_for(sandbox_webhooks)
    client.v1.invoices.void_invoice(unpaid.stripe_invoice_id)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.get(pk=unpaid.pk).status == "void")
    assert unpaid.hosted_invoice_url not in signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    advance(sandbox_webhooks, 2 * DAY)  # no retry of a void invoice
    assert sandbox_webhooks.wait_for_webhooks(15)
    charges = client.v1.charges.list(params={"customer": sub_customer(sub)}).data
    assert [c.amount for c in charges if c.status == "succeeded"] == [price]
    assert SubscriptionInvoice.objects.get(pk=unpaid.pk).status == "void"
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_500), ("jpy", 1_500)])
def test_a_subscription_ended_for_nonpayment_leaves_no_invoice_to_pay(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """Stripe ends the subscription after its retries and leaves the last invoice open: the link in
    the payment-failed email still took the buyer's money for a subscription that had ended, after
    the ended email said nothing more would be charged. The open invoice is voided."""
    _, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="f" * 32)
    fetch_no_redirect(portal, b"action=card&cardNumber=4000000000000341")
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, status="open").exists())
    unpaid = SubscriptionInvoice.objects.get(subscription=sub, status="open")
    advance(sandbox_webhooks, 15 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == SubscriptionStatus.CANCELED, 20)
    assert wait_until(lambda: SubscriptionInvoice.objects.get(pk=unpaid.pk).status == "void")
    client = client_for(sandbox_webhooks)
    assert client.v1.invoices.retrieve(unpaid.stripe_invoice_id).status == "void"
    _, _, page = fetch_no_redirect(unpaid.hosted_invoice_url, b"cardNumber=4242424242424242")
    assert "This invoice is void." in page
    charges = client.v1.charges.list(params={"customer": sub_customer(sub)}).data
    assert [c.amount for c in charges if c.status == "succeeded"] == [price]  # the first month only
    assert_ledger_equals_stripe()


def test_a_slow_double_click_on_subscribe_opens_one_checkout_page(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribe pressed twice a second or more apart made two Checkout pages: `expires_at` had
    moved on, and the parameters are in the idempotency key."""
    from datetime import timedelta

    from django.utils import timezone

    _, listing = seller_with_plan(sandbox, "jpy", 3_333, 1_000)
    buyer = UserFactory()
    base = timezone.now().replace(second=10, microsecond=0)
    clock = {"now": base}
    monkeypatch.setattr(services.timezone, "now", lambda: clock["now"])

    def press() -> str:
        return services.subscription_checkout_start(
            buyer=buyer,
            listing_id=listing.pk,
            attempt="7" * 32,
            success_url="http://app/ok",
            cancel_url="http://app/no",
        ).url

    first = press()
    clock["now"] = base + timedelta(seconds=3)
    assert press() == first


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_500), ("jpy", 1_500)])
def test_a_second_subscribe_page_closes_the_first_so_only_one_can_be_paid(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """Two tabs minutes apart (two forms, two attempts) opened two Checkout pages for the same buyer
    and listing, and both could be paid: two subscriptions, two charges every month. Opening the
    second expires the first at Stripe."""
    _, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()

    def open_page(attempt: str) -> str:
        start = services.subscription_checkout_start(
            buyer=buyer, listing_id=listing.pk, attempt=attempt, success_url="http://app/ok", cancel_url="http://app/no"
        )
        return start.url.rstrip("/").rsplit("/", 1)[-1]

    first = open_page("1" * 32)
    advance(sandbox_webhooks, 120)  # the second tab, two minutes later
    second = open_page("2" * 32)
    assert first != second
    client = client_for(sandbox_webhooks)
    assert wait_until(lambda: client.v1.checkout.sessions.retrieve(first).status == "expired")
    r = requests.post(
        f"{sandbox_webhooks.url}/_sandbox/checkout/sessions/{first}/pay", json={"card": "4242424242424242"}, timeout=10
    )
    assert r.status_code == 400
    assert pay(sandbox_webhooks, second)["status"] == "succeeded"
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.filter(buyer=buyer, status="active").count() == 1)
    charges = client.v1.charges.list(params={"customer": buyer_customer_ensure(user=buyer)}).data
    assert [c.amount for c in charges] == [price]
    assert_ledger_equals_stripe()


def checkout_page(buyer: Any, listing: Any, attempt: str) -> str:
    """A Subscribe page for the buyer made straight at Stripe, as one opened in another tab before
    the app closed older ones: the way to a second subscription to the same listing."""
    from marketplace.gateway import subscriptions as gateway_subscriptions

    return gateway_subscriptions.subscription_checkout_create(
        user_id=buyer.pk,
        listing_id=listing.pk,
        attempt=attempt,
        customer=buyer_customer_ensure(user=buyer),
        seller_account=listing.seller.stripe_account_id,
        product_name=listing.title,
        unit_amount=listing.price,
        currency=listing.currency,
        interval="month",
        application_fee_percent="10",
        success_url="http://app/ok",
        cancel_url="http://app/no",
        expires_at=int(time.time()) + 3600,
    ).id


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_500), ("jpy", 1_500)])
def test_a_second_subscription_to_the_same_listing_is_canceled_and_refunded(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """Two pages paid anyway (both opened before older pages were closed, or Stripe unreachable when
    closing): the buyer had two subscriptions, each charged every month. The later one is canceled at
    Stripe and its payment refunded in full, the seller's share and our fee taken back."""
    _, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    buyer = UserFactory()
    customer = buyer_customer_ensure(user=buyer)
    first, second = checkout_page(buyer, listing, "3" * 32), checkout_page(buyer, listing, "4" * 32)
    assert pay(sandbox_webhooks, first)["status"] == "succeeded"
    assert pay(sandbox_webhooks, second)["status"] == "succeeded"
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.filter(buyer=buyer, status="canceled").count() == 1, 20)
    assert sandbox_webhooks.wait_for_webhooks(15)
    kept = Subscription.objects.get(buyer=buyer, status="active")
    client = client_for(sandbox_webhooks)
    assert wait_until(lambda: Refund.objects.filter(status=RefundStatus.SUCCEEDED, amount=price).count() == 1)
    charges = client.v1.charges.list(params={"customer": customer}).data
    assert sorted((c.amount, c.amount_refunded) for c in charges) == [(price, 0), (price, price)]
    assert client.v1.subscriptions.retrieve(kept.stripe_subscription_id).status == "active"
    assert wait_until(lambda: any(buyer.email in m.to and "already subscribe" in m.body for m in mail.outbox))
    canceled = Subscription.objects.get(buyer=buyer, status="canceled")
    assert services.subscription_duplicate_cancel(subscription_id=canceled.pk)  # a retry of its follow-up ...
    assert Refund.objects.filter(payment__subscription_invoices__subscription=canceled).count() == 1  # ... refunds once
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "refund"), [("usd", 2_999, 1_000), ("jpy", 3_333, 1_111)])
def test_the_money_page_shows_what_each_subscription_payment_left_the_seller(
    sandbox_webhooks: Any, currency: str, price: int, refund: int
) -> None:
    """The money page listed earnings per order only: a seller living on subscriptions saw an empty
    table under a chart of its earnings, and nowhere our fee on each invoice or a refund of one.
    Each paid invoice is a row (sale, our fee less what was given back, refunds taken back, net),
    and the rows add up to the seller's balance at Stripe."""
    from payments.services import refund_create, refund_submit
    from tests.payments.helpers import stripe_balances

    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_250)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    advance(sandbox_webhooks, 31 * DAY)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).count() == 2)
    first = SubscriptionInvoice.objects.filter(subscription=sub).order_by("created_at").first()
    assert first is not None and first.payment is not None
    made = refund_create(payment=first.payment, amount=refund, origin="seller", reason="Broken box")
    refund_submit(refund_id=made.pk)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Refund.objects.get(pk=made.pk).status == RefundStatus.SUCCEEDED)
    fee = (price * 1_250 + 5_000) // 10_000
    fee_back = (fee * refund + price // 2) // price  # in proportion (Stripe's rounding, as the sandbox)
    page = signed_in(seller.user).get(reverse("sell_money")).content.decode()
    rows = page.split('data-testid="sub-earnings-row">')[1:]
    assert len(rows) == 2
    newest, oldest = (row.split("</tr>", 1)[0] for row in rows)
    assert "Coffee box" in newest and buyer.email in newest
    money = lambda amount: format_money(amount, currency)  # noqa: E731
    assert f'data-label="Sale">{money(price)}' in newest and f'data-label="Marketplace fee">{money(fee)}' in newest
    assert f'data-testid="sub-net">{money(price - fee)}' in newest
    assert f'data-label="Refunds">{money(refund)}' in oldest
    assert f'data-label="Marketplace fee">{money(fee - fee_back)}' in oldest
    net_oldest = price - (fee - fee_back) - refund
    assert f'data-testid="sub-net">{money(net_oldest)}' in oldest
    payouts = client_for(sandbox_webhooks).v1.payouts.list(options={"stripe_account": seller.stripe_account_id}).data
    paid_out = sum(p.amount for p in payouts if p.status != "failed")
    balance = stripe_balances(seller.stripe_account_id).get(currency, 0)
    assert balance + paid_out == (price - fee) + net_oldest  # every row's net reached the seller
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 1_800, "$18.00"), ("jpy", 1_800, "¥1,800")])
def test_the_listing_page_tells_a_subscriber_they_subscribe_instead_of_offering_subscribe(
    sandbox: Any, currency: str, price: int, shown: str
) -> None:
    """A buyer who subscribes already was offered "Subscribe" on the listing's page (cached for every
    visitor), pressed it and was only then told they subscribe; one whose subscription ended, or
    another buyer, is offered it as before."""
    from tests.subscriptions.factories import subscription

    seller = active_seller(sandbox, currency=currency)
    box = listing_of(seller, price=price, title="Coffee box")
    services.plan_set(seller=seller, listing_id=box.pk, interval="month")
    subscriber, other = UserFactory(), UserFactory()
    assert 'data-testid="subscribe"' in signed_in(other).get(f"/listing/{box.pk}/").content.decode()
    sub = subscription(subscriber, box)
    page = signed_in(subscriber).get(f"/listing/{box.pk}/").content.decode()
    assert 'data-testid="subscribe"' not in page
    assert 'data-testid="subscribed"' in page and "You subscribe to this" in page
    assert f"{shown} monthly" in page and 'href="/account/subscriptions/"' in page
    assert 'data-testid="subscribe"' in signed_in(other).get(f"/listing/{box.pk}/").content.decode()
    Subscription.objects.filter(pk=sub.pk).update(status=SubscriptionStatus.CANCELED)
    assert 'data-testid="subscribe"' in signed_in(subscriber).get(f"/listing/{box.pk}/").content.decode()


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 1_800, "$18.00"), ("jpy", 1_800, "¥1,800")])
def test_the_listing_page_of_a_subscription_ending_says_it_ends_not_that_it_is_charged_every_month(
    sandbox: Any, currency: str, price: int, shown: str
) -> None:
    """Canceled on Stripe's billing page (it ends at the period's end), the listing's page still read
    "You subscribe to this: $18.00 every month. Cancel it ...", while Your subscriptions said
    "None: ends on 4 Mar 2031": it says when it ends, that nothing more is charged, and not "Cancel it"."""
    from tests.subscriptions.factories import subscription

    seller = active_seller(sandbox, currency=currency)
    box = listing_of(seller, price=price, title="Coffee box")
    services.plan_set(seller=seller, listing_id=box.pk, interval="month")
    subscriber = UserFactory()
    subscription(subscriber, box, cancel_at_period_end=True)
    page = signed_in(subscriber).get(f"/listing/{box.pk}/").content.decode()
    said = page.split('data-testid="subscribed">', 1)[1].split("</p>", 1)[0]
    assert "ends on 4 Mar 2031" in said and "not charged again" in said
    assert f"{shown} every month" not in said and "Cancel it" not in said
    assert 'href="/account/subscriptions/"' in said
    assert 'data-testid="subscribe"' not in page  # still live: Stripe would refuse a second one


@pytest.mark.parametrize(("currency", "old", "new"), [("usd", "$18.00", "$20.00"), ("jpy", "¥1,800", "¥2,000")])
def test_the_listing_page_says_the_price_the_subscriber_pays_not_the_new_price(
    sandbox: Any, currency: str, old: str, new: str
) -> None:
    """The shop raised the price: its subscriber keeps paying the old one (the seller is told so, and
    Your subscriptions says it), but the listing's page told the subscriber "You subscribe to this: ¥2,000
    every month". It says what they pay; the page's price is the new subscribers'."""
    from tests.subscriptions.factories import subscription

    seller = active_seller(sandbox, currency=currency)
    box = listing_of(seller, price=1_800, title="Coffee box")
    services.plan_set(seller=seller, listing_id=box.pk, interval="month")
    subscriber = UserFactory()
    subscription(subscriber, box)
    Listing.objects.filter(pk=box.pk).update(price=2_000)
    page = signed_in(subscriber).get(f"/listing/{box.pk}/").content.decode()
    said = page.split('data-testid="subscribed">', 1)[1].split("</p>", 1)[0]
    assert f"You subscribe to this: {old} every month." in said and new not in said
    assert f"{new} monthly" in page  # the price new subscribers pay


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_800), ("jpy", 1_800)])
def test_your_subscriptions_says_a_subscription_you_canceled_can_be_renewed_until_it_ends(
    sandbox: Any, currency: str, price: int
) -> None:
    """Canceled in Stripe's portal, a row read "None: ends on 4 Mar 2031" and the only button's text
    "Cancel, change your card or see your invoices": nothing said it could be undone, which Stripe's
    page does (Renew). One the shop ended says who ended it, and no renewing."""
    from tests.subscriptions.factories import END, subscription

    seller = active_seller(sandbox, currency=currency)
    box = listing_of(seller, price=price, title="Coffee box")
    services.plan_set(seller=seller, listing_id=box.pk, interval="month")
    buyer = UserFactory()
    sub = subscription(buyer, box, cancel_at_period_end=True)
    page = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    cell = page.split('data-testid="subscription-next">', 1)[1].split("</td>", 1)[0]
    assert "ends on 4 Mar 2031" in cell and "Renew" in cell and "Manage billing" in cell
    assert "None: ends on 4 Mar 2031, as you canceled it." in cell  # one colon, not "…2031: you canceled it"
    Subscription.objects.filter(pk=sub.pk).update(canceled_at=END, shop_canceled_at=END)
    page = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    cell = page.split('data-testid="subscription-next">', 1)[1].split("</td>", 1)[0]
    assert "ended by" in cell and "Renew" not in cell


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$79.00"), ("jpy", "¥7,900")])
def test_an_abandoned_subscription_checkout_leaves_nothing_to_pay_after_23_hours(
    sandbox_webhooks: Any, currency: str, shown: str
) -> None:
    """The card declined, then 3-D Secure never finished: Stripe's subscription waits `incomplete`
    with its first invoice open, then after 23 hours ends `incomplete_expired` and voids the invoice.
    The buyer's billing page said "open" for it forever; our mirror kept the invoice open. Now the
    invoice is void on both sides, "Your subscriptions" lists nothing, and Subscribe is offered again."""
    _, listing = seller_with_plan(sandbox_webhooks, currency, 7_900, 1_000)
    buyer = UserFactory()
    start = services.subscription_checkout_start(
        buyer=buyer, listing_id=listing.pk, attempt="b" * 32, success_url="http://app/ok", cancel_url="http://app/no"
    )
    session_id = start.url.rstrip("/").rsplit("/", 1)[-1]
    assert pay(sandbox_webhooks, session_id, "4000000000000002")["status"] == "declined"
    assert pay(sandbox_webhooks, session_id, "4000002760003184")["status"] == "requires_action"
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription__buyer=buyer, status="open").exists())
    unpaid = SubscriptionInvoice.objects.get(subscription__buyer=buyer)
    advance(sandbox_webhooks, 23 * 3600)
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: SubscriptionInvoice.objects.get(pk=unpaid.pk).status == "void")
    assert Subscription.objects.get(buyer=buyer).status == SubscriptionStatus.INCOMPLETE_EXPIRED
    page = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert 'data-testid="no-subscriptions"' in page and shown not in page
    assert 'data-testid="subscribe"' in signed_in(buyer).get(f"/listing/{listing.pk}/").content.decode()
    seller = listing.seller
    subscribers = signed_in(seller.user).get(reverse("sell_subscriptions")).content.decode()
    assert 'data-testid="subscriber-row"' not in subscribers and 'data-testid="mrr-none"' in subscribers
    assert selectors.recurring_revenue_of_seller(seller=seller).live == 0
    portal = services.billing_portal_url(user=buyer, return_url="http://app/subs", visit="x" * 32)
    _, _, billing = fetch_no_redirect(portal)
    assert "No subscriptions." in billing and f"<td>{shown}</td><td>void</td>" in billing
    assert ">open<" not in billing
    _, _, invoice_page = fetch_no_redirect(unpaid.hosted_invoice_url, b"cardNumber=4242424242424242")
    assert "This invoice is void." in invoice_page
    assert not [m for m in mail.outbox if buyer.email in m.to]
    assert_ledger_equals_stripe()
