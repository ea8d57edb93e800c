"""Saved cards and the subscriptions they pay for, through the sandbox over HTTP and its signed
webhooks.

Stripe saves a card again on every Checkout (a new PaymentMethod each time); `card.fingerprint` is
the same for the same card number, so the cards page shows one row per card. Checkout in
subscription mode sets the subscription's own `default_payment_method`, which wins over the
customer's default: making a card the default here moves the buyer's live subscriptions to it, and
removing a card that pays one moves it to the card left as the default (or is refused, with a
sentence, when no card would be left to pay it). USD and JPY; after a renewal charged on the new
card the ledger equals Stripe."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from marketplace.errors import Conflict
from orders.services import saved_cards
from orders.services.checkout import buyer_customer_ensure
from subscriptions import services as subscription_services
from subscriptions.models import Subscription, SubscriptionInvoice
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of, pay, signed_in, wait_until
from tests.orders.test_saved_cards import saved_card
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86400
VISA = "4242424242424242"
MASTERCARD = "5555555555554444"


def plans(sandbox: Any, currency: str, price: int, *titles: str) -> list[Any]:
    seller = active_seller(sandbox, currency=currency, shop="Roastery")
    listings = [listing_of(seller, price=price, title=title) for title in titles]
    for listing in listings:
        subscription_services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    return listings


def subscribe(sandbox: Any, buyer: Any, listing: Any, card: str) -> Subscription:
    """The buyer subscribes on Stripe's Checkout paying with `card` (Checkout saves it on the
    buyer's Customer, again when it is already saved), and comes back to our success page."""
    start = subscription_services.subscription_checkout_start(
        buyer=buyer,
        listing_id=listing.pk,
        attempt=f"{listing.pk:032d}",
        success_url="http://a/ok",
        cancel_url="http://a/",
    )
    assert pay(sandbox, start.session_id, card)["status"] == "succeeded"
    sub = subscription_services.subscription_checkout_finish(buyer=buyer, session_id=start.session_id)
    assert sub is not None and sub.status == "active"
    return sub


def card_of(sandbox: Any, sub: Subscription) -> str:
    """The last four digits of the card Stripe will charge the subscription's next renewal on."""
    stripe = client_for(sandbox)
    remote = stripe.v1.subscriptions.retrieve(sub.stripe_subscription_id)
    pm = (
        remote.default_payment_method
        or stripe.v1.customers.retrieve(remote.customer).invoice_settings.default_payment_method
    )
    return str(stripe.v1.payment_methods.retrieve(pm).card.last4)


def rows(buyer: Any) -> list[tuple[str, bool, tuple[str, ...]]]:
    return [(c.label, c.is_default, c.pays_for) for c in saved_cards.saved_cards_for(user=buyer)]


def renew(sandbox: Any, sub: Subscription, paid: int) -> Any:
    """A month passes: the renewal is charged; returns that charge, once our ledger has it."""
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 31 * DAY}, timeout=60).raise_for_status()
    assert sandbox.wait_for_webhooks(30)
    done = SubscriptionInvoice.objects.filter(subscription=sub, status="paid", payment__isnull=False)
    assert wait_until(lambda: done.count() == paid, 20)
    newest = done.order_by("-created_at").first()
    assert newest is not None and newest.payment is not None
    return client_for(sandbox).v1.charges.retrieve(newest.payment.stripe_charge_id)


def test_a_card_subscribed_with_twice_is_one_saved_card_paying_for_both(sandbox: Any) -> None:
    box, beans = plans(sandbox, "usd", 1_500, "Coffee box", "Beans")
    buyer = UserFactory()
    subscribe(sandbox, buyer, box, VISA)
    subscribe(sandbox, buyer, beans, VISA)
    at_stripe = client_for(sandbox).v1.customers.payment_methods.list(buyer_customer_ensure(user=buyer)).data
    assert len(at_stripe) == 2 and len({pm.card.fingerprint for pm in at_stripe}) == 1

    assert rows(buyer) == [("Visa ending 4242", True, ("Beans", "Coffee box"))]
    [card] = saved_cards.saved_cards_for(user=buyer)
    assert sorted(card.payment_methods) == sorted(pm.id for pm in at_stripe)
    page = signed_in(buyer).get("/account/cards/").content.decode()
    assert page.count('data-testid="card-row"') == 1
    assert "Beans, Coffee box" in page


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_500), ("jpy", 1_500)])
def test_the_first_card_a_subscription_saved_becomes_the_default_once(sandbox: Any, currency: str, price: int) -> None:
    """Checkout in subscription mode sets the subscription's card, not the customer's default: the
    cards page (or a listing's Buy now) makes the first card saved the default, as saving one here
    does, once; a second subscription's card stays not the default."""
    box, beans = plans(sandbox, currency, price, "Coffee box", "Beans")
    buyer = UserFactory()
    subscribe(sandbox, buyer, box, VISA)
    stripe = client_for(sandbox)
    customer = buyer_customer_ensure(user=buyer)
    assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method is None
    subscribe(sandbox, buyer, beans, MASTERCARD)

    assert rows(buyer) == [("Visa ending 4242", True, ("Coffee box",)), ("Mastercard ending 4444", False, ("Beans",))]
    visa = saved_cards.saved_cards_for(user=buyer)[0]
    assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method == visa.id
    offer = saved_cards.default_card_for(user=buyer)
    assert offer is not None and (offer.id, offer.is_default) == (visa.id, True)
    page = signed_in(buyer).get("/account/cards/").content.decode()
    assert page.count("<strong>Default</strong>") == 1


def test_a_card_left_with_no_default_again_becomes_the_default_again(sandbox: Any) -> None:
    """Visa made the default by the cards page; Mastercard saved and made the default, then removed in
    the Dashboard (Stripe clears the default): Visa is alone with no default again, as the first
    time. Keyed by the cards alone, the second change had the first's key within Stripe's 24 hours,
    Stripe replayed the first answer, and the customer stayed with no default."""
    [box] = plans(sandbox, "usd", 1_500, "Coffee box")
    buyer = UserFactory()
    subscribe(sandbox, buyer, box, VISA)
    stripe = client_for(sandbox)
    customer = buyer_customer_ensure(user=buyer)
    [visa] = saved_cards.saved_cards_for(user=buyer)
    assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method == visa.id
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    stripe.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": mastercard}})
    stripe.v1.payment_methods.detach(mastercard)
    assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method is None

    assert rows(buyer) == [("Visa ending 4242", True, ("Coffee box",))]
    assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method == visa.id


def test_buy_now_offers_the_first_card_made_the_default(sandbox: Any) -> None:
    """A listing page read first (no cards page visit): its Buy now offer is the card made the default."""
    [box] = plans(sandbox, "jpy", 900, "Coffee box")
    buyer = UserFactory()
    subscribe(sandbox, buyer, box, MASTERCARD)
    offer = saved_cards.default_card_for(user=buyer)
    assert offer is not None and offer.is_default and offer.label == "Mastercard ending 4444"
    customer = client_for(sandbox).v1.customers.retrieve(buyer_customer_ensure(user=buyer))
    assert customer.invoice_settings.default_payment_method == offer.id


def test_the_only_card_paying_a_subscription_is_not_removed_and_the_page_says_why(sandbox: Any) -> None:
    box, beans = plans(sandbox, "jpy", 1_500, "Coffee box", "Beans")
    buyer = UserFactory()
    subscribe(sandbox, buyer, box, VISA)
    subscribe(sandbox, buyer, beans, VISA)
    [card] = saved_cards.saved_cards_for(user=buyer)
    with pytest.raises(Conflict) as refused:
        saved_cards.saved_card_remove(user=buyer, payment_method=card.id)
    assert refused.value.message == (
        "Visa ending 4242 pays for your subscriptions to Beans and Coffee box, and you have no other card to pay "
        "them with: add another card first, or cancel them under Your subscriptions. Nothing was removed."
    )
    assert rows(buyer) == [("Visa ending 4242", True, ("Beans", "Coffee box"))]
    assert len(client_for(sandbox).v1.customers.payment_methods.list(buyer_customer_ensure(user=buyer)).data) == 2

    client = signed_in(buyer)
    answer = client.post(f"/account/cards/{card.id}/remove/", follow=True)
    assert "you have no other card to pay them with" in answer.content.decode()
    assert answer.content.decode().count('data-testid="card-row"') == 1


def visa_default_and_a_box_paid_with_mastercard(sandbox: Any, currency: str, price: int) -> tuple[Any, str, str, Any]:
    """A buyer whose default card is Visa, subscribed to "Coffee box" paying with Mastercard on Checkout
    (which saves it and makes it the subscription's own card): the buyer, both cards' ids, the subscription."""
    [box] = plans(sandbox, currency, price, "Coffee box")
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    sub = subscribe(sandbox, buyer, box, MASTERCARD)
    [mastercard] = [c.id for c in saved_cards.saved_cards_for(user=buyer) if not c.is_default]
    return buyer, visa, mastercard, sub


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_999), ("jpy", 3_333)])
def test_making_a_card_the_default_moves_the_subscriptions_and_the_renewal_charges_it(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    buyer, visa, mastercard, sub = visa_default_and_a_box_paid_with_mastercard(sandbox_webhooks, currency, price)
    assert rows(buyer) == [("Visa ending 4242", True, ()), ("Mastercard ending 4444", False, ("Coffee box",))]
    assert card_of(sandbox_webhooks, sub) == "4444"

    changed = saved_cards.saved_card_make_default(user=buyer, payment_method=mastercard, attempt="visit-2")
    assert changed.message == "Mastercard ending 4444 is now your default card."  # Coffee box already paid by it
    changed = saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-3")
    assert changed.message == "Visa ending 4242 is now your default card. It now pays for Coffee box too."
    assert card_of(sandbox_webhooks, sub) == "4242"
    again = saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-3")  # a double click
    assert again.message == "Visa ending 4242 is now your default card."
    assert rows(buyer) == [("Visa ending 4242", True, ("Coffee box",)), ("Mastercard ending 4444", False, ())]

    charge = renew(sandbox_webhooks, sub, paid=2)
    assert (charge.amount, charge.currency, charge.payment_method_details.card.last4) == (price, currency, "4242")
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_250), ("jpy", 1_250)])
def test_removing_the_card_a_subscription_pays_with_moves_it_to_the_default_and_the_renewal_charges_that(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    buyer, _, mastercard, sub = visa_default_and_a_box_paid_with_mastercard(sandbox_webhooks, currency, price)

    removed = saved_cards.saved_card_remove(user=buyer, payment_method=mastercard)
    assert removed.message == "Removed Mastercard ending 4444. Coffee box is now paid with Visa ending 4242."
    assert rows(buyer) == [("Visa ending 4242", True, ("Coffee box",))]
    assert card_of(sandbox_webhooks, sub) == "4242"

    charge = renew(sandbox_webhooks, sub, paid=2)
    assert (charge.amount, charge.currency, charge.payment_method_details.card.last4) == (price, currency, "4242")
    assert_ledger_equals_stripe()


def test_removing_a_default_card_saved_twice_removes_both_and_its_subscriptions_go_to_the_card_left(
    sandbox: Any,
) -> None:
    """Visa saved on the cards page and again by two subscription Checkouts: one row. Removing it
    detaches all three PaymentMethods; the card left (Mastercard) becomes the default and pays both
    subscriptions."""
    box, beans = plans(sandbox, "usd", 900, "Coffee box", "Beans")
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    subscribe(sandbox, buyer, box, VISA)
    subscribe(sandbox, buyer, beans, VISA)
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    assert rows(buyer) == [("Visa ending 4242", True, ("Beans", "Coffee box")), ("Mastercard ending 4444", False, ())]

    removed = saved_cards.saved_card_remove(user=buyer, payment_method=visa)
    assert removed.message == (
        "Removed Visa ending 4242. Beans and Coffee box are now paid with Mastercard ending 4444, "
        "now your default card."
    )
    customer = buyer_customer_ensure(user=buyer)
    stripe = client_for(sandbox)
    assert [pm.id for pm in stripe.v1.customers.payment_methods.list(customer).data] == [mastercard]
    assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method == mastercard
    assert rows(buyer) == [("Mastercard ending 4444", True, ("Beans", "Coffee box"))]


def test_the_cards_page_says_the_default_pays_the_subscriptions_and_moves_them_with_a_button(sandbox: Any) -> None:
    """A subscription started on Checkout with another card than the default is paid by that card;
    the default's row then offers to move the subscriptions to it (its "Make ... the default" is not
    there, it is the default already)."""
    [box] = plans(sandbox, "usd", 1_000, "Coffee box")
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    sub = subscribe(sandbox, buyer, box, MASTERCARD)
    client = signed_in(buyer)
    page = client.get("/account/cards/").content.decode()
    assert "Making a card the default moves your subscriptions to it" in page
    assert "making a card the default here does not change it" not in page
    assert "Pay my subscriptions with Visa ending 4242" in page
    attempt = page.split(f'action="/account/cards/{visa}/default/"', 1)[1].split('name="attempt" value="', 1)[1][:32]
    answer = client.post(f"/account/cards/{visa}/default/", {"attempt": attempt}, follow=True).content.decode()
    # It was the default already: the sentence says what changed (it said "is now your default card").
    assert "Visa ending 4242 now pays for Coffee box too." in answer
    assert "is now your default card" not in answer
    assert "Pay my subscriptions with" not in answer
    assert card_of(sandbox, sub) == "4242"


def test_moving_a_subscription_to_visa_mastercard_and_visa_again_moves_it_each_time(sandbox: Any) -> None:
    """Each visit of the cards page is its own change at Stripe: keyed by the subscription and the
    card alone, the third move (Mastercard to Visa again, within Stripe's 24 hours of keys) would be
    answered with the first one's replay and the subscription left on Mastercard while the page said
    Visa. A double click of one visit is still one change (no error, no second update)."""
    [box] = plans(sandbox, "jpy", 800, "Coffee box")
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    sub = subscribe(sandbox, buyer, box, VISA)
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    for visit, (card, last4) in enumerate([(mastercard, "4444"), (visa, "4242"), (mastercard, "4444"), (visa, "4242")]):
        for _ in range(2):  # a double click
            saved_cards.saved_card_make_default(user=buyer, payment_method=card, attempt=f"visit-{visit}")
        assert card_of(sandbox, sub) == last4
    updates = client_for(sandbox).v1.events.list(params={"type": "customer.subscription.updated", "limit": 100}).data
    moves = [e for e in updates if "default_payment_method" in (e.data.previous_attributes or {})]
    assert len(moves) == 4


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_100), ("jpy", 1_100)])
def test_the_only_card_of_a_subscription_ending_at_its_period_end_can_be_removed(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    """The buyer canceled in Stripe's portal (or the shop ended it): the subscription ends at its
    period end and charges nothing more, so its card no longer "pays for" it and removing the
    buyer's only card is not refused with "cancel them under Your subscriptions" (done already).
    The period ends with no renewal charged on the removed card, and the ledger equals Stripe."""
    [box] = plans(sandbox_webhooks, currency, price, "Coffee box")
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, box, VISA)
    client_for(sandbox_webhooks).v1.subscriptions.update(sub.stripe_subscription_id, {"cancel_at_period_end": True})
    [card] = saved_cards.saved_cards_for(user=buyer)
    assert card.pays_for == ()

    removed = saved_cards.saved_card_remove(user=buyer, payment_method=card.id)
    assert removed.message == "Removed Visa ending 4242."
    assert client_for(sandbox_webhooks).v1.customers.payment_methods.list(buyer_customer_ensure(user=buyer)).data == []

    requests.post(
        f"{sandbox_webhooks.url}/_sandbox/clock/advance", json={"seconds": 31 * DAY}, timeout=60
    ).raise_for_status()
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert wait_until(lambda: Subscription.objects.get(pk=sub.pk).status == "canceled", 20)
    assert SubscriptionInvoice.objects.filter(subscription=sub, status="paid").count() == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("listing_id", ["²", "9" * 25, "-3", ""])
def test_the_cards_page_names_a_subscription_whose_listing_id_at_stripe_is_not_one_of_ours(
    sandbox: Any, listing_id: str
) -> None:
    """Before a subscription's first event is mirrored here, the page names it from Stripe's
    `metadata.listing_id`, which the Dashboard can edit: a superscript digit or an id past bigint
    names it "a subscription" rather than failing the page."""
    [beans] = plans(sandbox, "usd", 1_500, "Beans")
    buyer = UserFactory()
    sub = subscribe(sandbox, buyer, beans, VISA)
    client_for(sandbox).v1.subscriptions.update(sub.stripe_subscription_id, {"metadata": {"listing_id": listing_id}})
    Subscription.objects.filter(pk=sub.pk).delete()
    assert [(label, pays_for) for label, _, pays_for in rows(buyer)] == [("Visa ending 4242", ("a subscription",))]
