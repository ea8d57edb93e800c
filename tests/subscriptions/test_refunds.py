"""Refunds of subscription payments from the app, through the sandbox over HTTP and its signed
webhooks, in USD and JPY: the seller refunds part of a payment from its page (a double click makes
one refund, more than is left is refused), an admin refunds the rest from the console (the platform
paying), the buyer is emailed and sees both on "Your subscriptions", the money page's row and the
ledger equal Stripe for the platform and the seller; a redelivered refund event posts nothing
more; Stripe unreachable says so and posts nothing until the refund is sent; another shop's seller
gets a 404; a refund that fails after taking the seller's share back (card 5126) shows on the money
page's row as Stripe's balance does. And the page after Checkout of a duplicate subscription says
what happens to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from marketplace.ledger.models import LedgerTransaction
from marketplace.money import format_money
from payments.models import Refund, RefundOrigin, RefundStatus
from subscriptions import services
from subscriptions.models import Subscription, SubscriptionInvoice
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, pay, signed_in, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances
from tests.sandbox.helpers import client_for
from tests.subscriptions.test_subscriptions import checkout_page, seller_with_plan, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

MAJOR = {"usd": lambda minor: f"{minor / 100:.2f}", "jpy": str}  # the form takes major units
REFUND_EVENTS = {"refund.created", "charge.refunded", "transfer.reversed", "application_fee.refunded", "refund.updated"}


def _token(page: str) -> str:
    found = re.findall(r'name="form_token" value="([0-9a-f]{32})"', page)
    assert found, "the refund form carries a hidden token"
    return found[0]


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _paid_invoice(sandbox: Any, currency: str, price: int) -> tuple[Any, Any, SubscriptionInvoice]:
    seller, listing = seller_with_plan(sandbox, currency, price, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    invoice = SubscriptionInvoice.objects.select_related("payment").get(subscription=sub, payment__isnull=False)
    return seller, buyer, invoice


def _stripe_refunds(sandbox: Any, charge: str) -> list[Any]:
    return list(client_for(sandbox).v1.refunds.list(params={"charge": charge}).data)


@pytest.mark.parametrize(("currency", "price", "part"), [("usd", 2_999, 1_000), ("jpy", 3_333, 1_111)])
def test_the_seller_refunds_part_the_admin_the_rest_and_everything_adds_up(
    sandbox_webhooks: Any, currency: str, price: int, part: int
) -> None:
    seller, buyer, invoice = _paid_invoice(sandbox_webhooks, currency, price)
    payment = invoice.payment
    assert payment is not None
    money = lambda amount: format_money(amount, currency)  # noqa: E731
    client = signed_in(seller.user)
    page_url = reverse("sell_subscription_payment", args=[invoice.pk])
    refund_url = reverse("sell_subscription_refund", args=[invoice.pk])
    subscribers = client.get(reverse("sell_subscriptions")).content.decode()
    assert page_url in subscribers  # the way from a subscriber to its payments
    assert page_url in client.get(reverse("sell_money")).content.decode()  # and from its earnings row
    page = client.get(page_url).content.decode()
    assert f"({money(price)})" in page  # all of it is left to refund
    form = {"amount": MAJOR[currency](part), "reason": "Box arrived late", "form_token": _token(page)}

    first = client.post(refund_url, form)
    again = client.post(refund_url, form)  # a double click: the same token
    assert first.status_code == again.status_code == 302
    assert _messages(again) == [f"{money(part)} refunded to the buyer."] * 2  # both said (the page shows them)
    client.get(page_url)
    made = Refund.objects.get(payment=payment)
    assert (made.amount, made.origin, made.order_id, made.reverse_transfer) == (part, RefundOrigin.SELLER, None, True)
    assert [r.amount for r in _stripe_refunds(sandbox_webhooks, payment.stripe_charge_id)] == [part]

    too_much = client.post(refund_url, {**form, "amount": MAJOR[currency](price), "form_token": "b" * 32})
    assert _messages(too_much) == []  # said beside the amount, not at the top
    assert Refund.objects.filter(payment=payment).count() == 1
    again_page = client.get(page_url).content.decode()
    assert f'value="{MAJOR[currency](price)}" aria-invalid="true"' in again_page  # what was typed is kept
    said = f"At most {money(price - part)} can still be refunded ({money(price)} was asked)."
    assert f'<p class="errorlist" id="refund-amount-error">{said}</p>' in again_page

    other = signed_in(active_seller(sandbox_webhooks, currency=currency, shop="Other shop").user)
    assert other.get(page_url).status_code == 404
    assert other.post(refund_url, {**form, "form_token": "c" * 32}).status_code == 404
    assert signed_in(buyer).get(page_url).status_code == 404  # a buyer has no shop
    assert Refund.objects.filter(payment=payment).count() == 1

    # The admin refunds the rest from the console, the platform paying (nothing taken from the seller).
    admin = signed_in(make_platform_admin())
    console = admin.get(reverse("console_refunds")).content.decode()
    admin_form = {"stripe_id": invoice.stripe_invoice_id, "amount": "", "reason": "", "form_token": _token(console)}
    answer = admin.post(reverse("console_subscription_refund"), admin_form)
    assert _messages(answer) == [f"Coffee box: {money(price - part)} refunded to the buyer."]
    admin.get(reverse("console_refunds"))
    rest = Refund.objects.get(payment=payment, origin=RefundOrigin.ADMIN)
    assert (rest.amount, rest.reverse_transfer, rest.refund_application_fee) == (price - part, False, False)
    refused = admin.post(reverse("console_subscription_refund"), {**admin_form, "form_token": "d" * 32})
    assert (refused.status_code, _messages(refused)) == (422, [])  # said beside the Stripe id that names it
    said = "This payment has been refunded in full already."
    assert f'<p class="errorlist" id="sub-stripe-id-error">{said}</p>' in refused.content.decode()
    assert "Subscription: Coffee box" in admin.get(reverse("console_refunds")).content.decode()

    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED).count() == 2)
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.status) == (price, "refunded")
    charge = client_for(sandbox_webhooks).v1.charges.retrieve(payment.stripe_charge_id)
    assert (charge.amount_refunded, charge.refunded) == (price, True)

    # The buyer: an email for each refund, and both on "Your subscriptions".
    assert wait_until(lambda: sum(buyer.email in m.to and "Refund of" in m.subject for m in mail.outbox) == 2)
    bodies = [m.body for m in mail.outbox if buyer.email in m.to and "Refund of" in m.subject]
    assert any("Why: Box arrived late" in body for body in bodies)  # the form says the subscriber reads it
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert mine.count('data-testid="subscription-refund"') == 2 and "Box arrived late" in mine
    assert f"{money(part)} of your {money(price)} payment" in mine
    assert f"{money(price - part)} of your {money(price)} payment" in mine

    # The seller's money page: the seller gave back its share of the first refund only (the fee in
    # proportion came back to it); the platform paid the rest.
    fee = (price * 1_000 + 5_000) // 10_000
    fee_back = (fee * part + price // 2) // price
    row = client.get(reverse("sell_money")).content.decode().split('data-testid="sub-earnings-row">')[1]
    assert f'data-label="Refunds">{money(part)}' in row
    assert f'data-testid="sub-net">{money(price - (fee - fee_back) - part)}' in row
    page = client.get(page_url).content.decode()
    assert 'data-testid="sub-payment-all-refunded"' in page and "paid by the marketplace" in page
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_redelivered_refund_event_posts_nothing_more(sandbox_webhooks: Any, currency: str) -> None:
    _, buyer, invoice = _paid_invoice(sandbox_webhooks, currency, 1_500)
    assert sandbox_webhooks.wait_for_webhooks(15)
    seen = {e["id"] for e in new_events(set())}
    refund = services.subscription_payment_refund(
        invoice=invoice, actor=None, origin=RefundOrigin.SELLER, amount=None, reason="x", token="form:" + "e" * 32
    )
    assert refund.status == RefundStatus.SUCCEEDED
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: any(buyer.email in m.to for m in mail.outbox))
    events = [e for e in new_events(seen) if e["type"] in REFUND_EVENTS]
    assert {"refund.created", "charge.refunded"} <= {e["type"] for e in events}
    postings, emails = LedgerTransaction.objects.count(), len(mail.outbox)
    assert set(process(events, copy=True)) == {"processed"}  # Stripe sending them again, under new ids
    assert set(process(reversed(events), copy=True)) == {"processed"}
    assert LedgerTransaction.objects.count() == postings
    assert Refund.objects.filter(payment=invoice.payment).count() == 1
    assert len(mail.outbox) == emails
    assert_ledger_equals_stripe()


def test_stripe_unreachable_says_so_and_posts_nothing_until_the_refund_is_sent(
    sandbox: Any,
    stripe_down: Any,
) -> None:
    seller, listing = seller_with_plan(sandbox, "jpy", 2_000, 1_000)
    buyer = UserFactory()
    start = services.subscription_checkout_start(
        buyer=buyer, listing_id=listing.pk, attempt="f" * 32, success_url="http://app/ok", cancel_url="http://app/no"
    )
    session_id = start.url.rstrip("/").rsplit("/", 1)[-1]
    assert pay(sandbox, session_id)["status"] == "succeeded"
    services.subscription_checkout_finish(buyer=buyer, session_id=session_id)
    invoice = SubscriptionInvoice.objects.get(subscription__buyer=buyer, payment__isnull=False)
    client = signed_in(seller.user)
    page_url = reverse("sell_subscription_payment", args=[invoice.pk])
    token = _token(client.get(page_url).content.decode())
    postings = LedgerTransaction.objects.count()

    stripe_down(True)
    answer = client.post(reverse("sell_subscription_refund", args=[invoice.pk]), {"amount": "", "form_token": token})
    assert _messages(answer) == ["Stripe could not be reached; the refund is sent automatically as soon as it can."]
    client.get(page_url)
    refund = Refund.objects.get(payment=invoice.payment)
    assert (refund.status, refund.stripe_refund_id) == (RefundStatus.CREATED, None)
    assert LedgerTransaction.objects.count() == postings  # nothing posted of a refund Stripe has not made
    assert "Sending" in client.get(page_url).content.decode()

    stripe_down(False)  # the seller tries again (the outbox would send it too, with the same key)
    again = client.post(reverse("sell_subscription_refund", args=[invoice.pk]), {"amount": "", "form_token": token})
    assert _messages(again) == [f"{format_money(2_000, 'jpy')} refunded to the buyer."]  # the same refund
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert len(_stripe_refunds(sandbox, invoice.payment.stripe_charge_id)) == 1  # type: ignore[union-attr]
    assert_ledger_equals_stripe()


def test_the_page_after_checkout_of_a_duplicate_says_it_is_canceled_and_refunded(sandbox_webhooks: Any) -> None:
    """Two Subscribe pages both paid: coming back from the second, the buyer read "You subscribed",
    while the app was canceling it and refunding its payment."""
    _, listing = seller_with_plan(sandbox_webhooks, "usd", 1_500, 1_000)
    buyer = UserFactory()
    sessions = [checkout_page(buyer, listing, attempt * 32) for attempt in ("5", "6")]
    for session in sessions:
        assert pay(sandbox_webhooks, session)["status"] == "succeeded"
    client = signed_in(buyer)
    said = {}
    for session in sessions:
        [said[session]] = _messages(client.get(reverse("subscription_started"), {"session_id": session}))
        client.get(reverse("my_subscriptions"))  # where the sentence is shown
    assert Subscription.objects.filter(buyer=buyer).count() == 2
    assert sorted(said.values()) == [
        "You already subscribe to Coffee box, so this second subscription is canceled and its payment of $15.00 "
        "refunded in full; your first subscription goes on as before.",
        "You subscribed to Coffee box.",
    ]
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert wait_until(lambda: Subscription.objects.filter(buyer=buyer, status="canceled").count() == 1, 20)
    later = Subscription.objects.filter(buyer=buyer).order_by("pk").last()
    assert later is not None and later.status == "canceled"
    second = next(session for session, sentence in said.items() if sentence.startswith("You already"))
    back = client.get(reverse("subscription_started"), {"session_id": second})  # reloaded after the cancel
    later_said = _messages(back)
    client.get(reverse("my_subscriptions"))
    assert len(later_said) == 1 and later_said[0].startswith("You already subscribe to Coffee box")
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "part"), [("usd", 2_999, 1_000), ("jpy", 3_333, 1_111)])
def test_a_refund_that_failed_after_taking_the_sellers_share_shows_on_the_money_page(
    sandbox_webhooks: Any, currency: str, price: int, part: int
) -> None:
    """Card 5126: the seller's refund of part of a payment takes its share back (the fee's share
    comes back to it), then fails at the buyer's bank; Stripe leaves the reversal in place. The
    money page's row of that payment nets what Stripe's balance holds, and says why."""
    seller, listing = seller_with_plan(sandbox_webhooks, currency, price, 1_000)
    subscribe(sandbox_webhooks, UserFactory(), listing, card="4000000000005126")
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(payment__isnull=False).exists())
    invoice = SubscriptionInvoice.objects.get(payment__isnull=False)
    client = signed_in(seller.user)
    page = client.get(reverse("sell_subscription_payment", args=[invoice.pk])).content.decode()
    form = {"amount": MAJOR[currency](part), "reason": "Box arrived late", "form_token": _token(page)}
    assert client.post(reverse("sell_subscription_refund", args=[invoice.pk]), form).status_code == 302
    assert Refund.objects.get().stripe_transfer_reversal_id
    requests.post(f"{sandbox_webhooks.url}/_sandbox/clock/advance", json={"seconds": 120}, timeout=10)
    assert wait_until(lambda: Refund.objects.filter(status=RefundStatus.FAILED).exists(), timeout=20)
    assert sandbox_webhooks.wait_for_webhooks(15)

    row = client.get(reverse("sell_money")).content.decode().split('data-testid="sub-earnings-row">')[1]
    held = stripe_balances(str(seller.stripe_account_id))[currency]
    assert held < price - (price * 1_000 + 5_000) // 10_000, "the reversal stays"
    assert f'data-testid="sub-net">{format_money(held, currency)}' in row
    assert "taken back for a refund that failed; the next refund uses it" in row
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "part"), [("usd", 2_999, 1_000), ("jpy", 3_333, 1_111)])
def test_everything_left_after_the_platform_paid_part_takes_the_whole_share_and_the_page_says_so(
    sandbox_webhooks: Any, currency: str, price: int, part: int
) -> None:
    """The admin refunds part of a subscription payment at the platform's cost; the seller's page then
    says a refund of everything left takes back its whole share (Stripe reverses the whole transfer
    and refunds the whole fee once the payment is refunded in full), refuses it until the box is
    ticked, and the money page's row equals the seller's Stripe balance (0) afterwards."""
    seller, _buyer, invoice = _paid_invoice(sandbox_webhooks, currency, price)
    payment = invoice.payment
    assert payment is not None
    account = str(seller.stripe_account_id)
    money = lambda amount: format_money(amount, currency)  # noqa: E731
    fee = (price * 1_000 + 5_000) // 10_000
    admin = signed_in(make_platform_admin())
    console = admin.get(reverse("console_refunds")).content.decode()
    paid = admin.post(
        reverse("console_subscription_refund"),
        {"stripe_id": invoice.stripe_invoice_id, "amount": MAJOR[currency](part), "form_token": _token(console)},
    )
    assert _messages(paid) == [f"Coffee box: {money(part)} refunded to the buyer."]
    assert stripe_balances(account) == {currency: price - fee}

    client = signed_in(seller.user)
    page_url = reverse("sell_subscription_payment", args=[invoice.pk])
    refund_url = reverse("sell_subscription_refund", args=[invoice.pk])
    page = client.get(page_url).content.decode()
    assert f"{money(price)} from your balance, {money(part)} more than that refund" in page
    form = {"amount": "", "reason": "Closing", "form_token": _token(page)}
    refused = client.post(refund_url, form)
    assert "Nothing was refunded." in _messages(refused)[0] and Refund.objects.filter(payment=payment).count() == 1
    assert 'name="whole_share"' in client.get(page_url).content.decode()  # the message read, the box shown
    taken = client.post(refund_url, {**form, "whole_share": "on"})
    assert _messages(taken) == [f"{money(price - part)} refunded to the buyer."]
    assert stripe_balances(account) == {}
    row = client.get(reverse("sell_money")).content.decode().split('data-testid="sub-earnings-row">')[1]
    assert f'data-label="Refunds">{money(price)}' in row and f'data-testid="sub-net">{money(0)}' in row
    assert f"Of it, {money(part)} is your share of refunds the marketplace paid" in row
    page = client.get(page_url).content.decode()
    assert "nothing taken from you" not in page and f"Stripe took back your whole share, {money(price)}" in page
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "part"), [("usd", 2_999, 1_234), ("jpy", 3_333, 1_111)])
def test_a_refund_stripe_refused_for_the_sellers_balance_is_not_listed_to_the_subscriber(
    sandbox_webhooks: Any, currency: str, price: int, part: int
) -> None:
    """The seller's share was paid out to its bank, so Stripe refuses an admin's refund taken from the
    seller (balance_insufficient) and nothing is refunded: "Your subscriptions" listed it to the buyer,
    twice after a second try, as "the refund failed; the shop or our team will refund you another
    way", a refund that never left (the order page stopped listing those). A refund that went through
    afterwards, from the platform's balance, is listed once."""
    seller, buyer, invoice = _paid_invoice(sandbox_webhooks, currency, price)
    account = str(seller.stripe_account_id)
    requests.post(f"{sandbox_webhooks.url}/_sandbox/clock/advance", json={"seconds": 3 * 86_400}, timeout=10)
    assert wait_until(lambda: stripe_balances(account) == {})  # paid out on the daily schedule
    admin = signed_in(make_platform_admin())
    form = {"stripe_id": invoice.stripe_invoice_id, "amount": MAJOR[currency](part), "from_seller": "on"}
    for _ in range(2):
        console = admin.get(reverse("console_refunds")).content.decode()
        refused = admin.post(reverse("console_subscription_refund"), {**form, "form_token": _token(console)})
        assert "too low to give back their share" in _messages(refused)[0]
    assert list(Refund.objects.values_list("status", "stripe_refund_id")) == [(RefundStatus.FAILED, None)] * 2
    assert _stripe_refunds(sandbox_webhooks, str(invoice.payment and invoice.payment.stripe_charge_id)) == []
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert 'data-testid="subscription-refund"' not in mine and "refund you another way" not in mine

    console = admin.get(reverse("console_refunds")).content.decode()
    platform_pays = {**form, "from_seller": "", "form_token": _token(console)}
    paid = admin.post(reverse("console_subscription_refund"), platform_pays)
    assert _messages(paid) == [f"Coffee box: {format_money(part, currency)} refunded to the buyer."]
    mine = signed_in(buyer).get(reverse("my_subscriptions")).content.decode()
    assert mine.count('data-testid="subscription-refund"') == 1
    assert f"{format_money(part, currency)} of your {format_money(price, currency)} payment" in mine
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()
