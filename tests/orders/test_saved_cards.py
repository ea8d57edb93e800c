"""Buy now with a saved card, settled by Stripe's signed webhooks alone: the buyer completes (or
fails) 3-D Secure on Stripe's page and never comes back to our `return_url`. USD and JPY; the
ledger equals the sandbox's balances afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from marketplace.errors import CardDeclined, InvalidInput, NotFound
from orders.models import Order, OrderStatus
from orders.services import saved_cards
from orders.services.checkout import buyer_customer_ensure
from tests.factories import UserFactory
from tests.orders.conftest import active_seller, listing_of, wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import RETURN_URL, client_for, fetch_no_redirect

pytestmark = pytest.mark.django_db(transaction=True)


def saved_card(sandbox: Any, buyer: Any, pm: str) -> str:
    """A card saved on the buyer's Customer (set up off-session, as Stripe's setup page does)."""
    seti = client_for(sandbox).v1.setup_intents.create(
        params={
            "customer": buyer_customer_ensure(user=buyer),
            "payment_method": pm,
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    if seti.status == "requires_action":
        fetch_no_redirect(seti.next_action.redirect_to_url.url, b"action=complete")
    return str(seti.payment_method)


def buy_now(buyer: Any, listing: Any, card: str, attempt: str, return_url: str = "x") -> saved_cards.BuyNow:
    """ "Buy now" pressed on the listing's page as drawn: the price the form says it showed is the
    listing's (`saved_cards.buy_now`'s `price_seen`)."""
    return saved_cards.buy_now(
        buyer=buyer,
        listing_id=listing.pk,
        payment_method=card,
        attempt=attempt,
        return_url=return_url,
        price_seen=(listing.price, listing.currency),
    )


@pytest.mark.parametrize(("currency", "price"), [("usd", 3_300), ("jpy", 3_300)])
def test_three_d_secure_completed_then_only_the_webhook_settles(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    seller = active_seller(sandbox_webhooks, currency=currency)
    mug = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    card = saved_card(sandbox_webhooks, buyer, "pm_card_authenticationRequired")
    assert saved_cards.default_card_for(user=buyer) is not None

    started = buy_now(buyer, mug, card, "a" * 32, "http://app/r?o={ORDER_ID}")
    assert started.redirect_url and started.order.status == OrderStatus.PENDING_PAYMENT
    again = buy_now(buyer, mug, card, "a" * 32, "http://app/r?o={ORDER_ID}")
    assert again.order.pk == started.order.pk  # the same submit twice: one order, one payment

    status, location, _ = fetch_no_redirect(started.redirect_url, b"action=complete")
    assert status == 303 and location.startswith(f"http://app/r?o={started.order.pk}&payment_intent=pi_")
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: Order.objects.get(pk=started.order.pk).status == OrderStatus.PAID)
    paid = Order.objects.get(pk=started.order.pk)
    assert paid.payment is not None and paid.payment.amount == price
    assert paid.payment.transfers.get().amount == price
    assert paid.payment.application_fees.get().amount == paid.application_fee_amount
    assert wait_until(lambda: any(buyer.email in m.to and "order" in m.subject.lower() for m in mail.outbox))
    assert_ledger_equals_stripe()


def test_failed_authentication_closes_the_order_by_webhook(sandbox_webhooks: Any) -> None:
    seller = active_seller(sandbox_webhooks)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    card = saved_card(sandbox_webhooks, buyer, "pm_card_authenticationRequired")
    started = buy_now(buyer, mug, card, "b" * 32, "http://app/r")
    assert started.redirect_url
    fetch_no_redirect(started.redirect_url, b"action=fail")
    assert sandbox_webhooks.wait_for_webhooks(10)
    assert wait_until(lambda: Order.objects.get(pk=started.order.pk).status == OrderStatus.PAYMENT_FAILED)
    failed = Order.objects.get(pk=started.order.pk)
    assert failed.status_message == saved_cards.AUTH_FAILED and failed.payment is None
    mug.refresh_from_db()
    assert mug.stock == 1


def test_decline_and_someone_elses_card(sandbox_webhooks: Any) -> None:
    seller = active_seller(sandbox_webhooks)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer, other = UserFactory(), UserFactory()
    declining = saved_card(sandbox_webhooks, buyer, "pm_card_chargeCustomerFail")
    with pytest.raises(CardDeclined) as exc:
        buy_now(buyer, mug, declining, "c" * 32)
    assert exc.value.message == "Your card was declined. Nothing was charged."
    order = Order.objects.get(buyer=buyer)
    assert order.status == OrderStatus.PAYMENT_FAILED and not order.stock_reserved
    with pytest.raises(NotFound):
        buy_now(other, mug, declining, "d" * 32)
    with pytest.raises(NotFound):
        saved_cards.saved_card_remove(user=other, payment_method=declining)
    assert not Order.objects.filter(buyer=other).exists()


def test_the_buy_now_offer_is_remembered_and_forgotten_when_the_buyer_changes_cards(sandbox: Any) -> None:
    """A listing page asks which card "Buy now" offers: Stripe is asked once, then not until the
    buyer changes cards here (made default, removed) or the offered card turns out gone."""
    from django.core.cache import cache

    buyer = UserFactory()
    first = saved_card(sandbox, buyer, "pm_card_visa")
    second = saved_card(sandbox, buyer, "pm_card_mastercard")
    cards = saved_cards.saved_cards_for(user=buyer)
    offered = saved_cards.default_card_for(user=buyer)
    assert offered is not None and offered.id == cards[0].id
    key = saved_cards._offer_key(buyer_customer_ensure(user=buyer))
    assert cache.get(key) == (offered,)

    other = second if offered.id == first else first
    saved_cards.saved_card_make_default(user=buyer, payment_method=other, attempt="visit-1")
    assert cache.get(key) is None
    assert (saved_cards.default_card_for(user=buyer) or offered).id == other

    saved_cards.saved_card_remove(user=buyer, payment_method=other)
    assert cache.get(key) is None
    assert (saved_cards.default_card_for(user=buyer) or offered).id == offered.id

    # Removed elsewhere (the Dashboard): the remembered offer fails once, and is then forgotten.
    client_for(sandbox).v1.payment_methods.detach(offered.id)
    assert [card.id for card in cache.get(key)] == [offered.id]  # now the default: the only card left
    with pytest.raises(NotFound):
        saved_cards.buy_now(
            buyer=buyer, listing_id=0, payment_method=offered.id, attempt="a", return_url=RETURN_URL, price_seen=None
        )
    assert saved_cards.default_card_for(user=buyer) is None


def test_the_buy_now_offer_is_forgotten_when_stripe_says_the_cards_changed_elsewhere(sandbox_webhooks: Any) -> None:
    """Cards changed at Stripe, not here (a card saved by a Checkout payment, a default or a removal
    in the Dashboard): Stripe's signed events forget the remembered offer, so the next listing page
    offers the card as it is now, not for up to `BUY_NOW_CARD_SECONDS` the one before. A change of
    the customer that is not about cards (its email) leaves the offer remembered."""
    from django.core.cache import cache

    from marketplace.webhooks.models import WebhookEvent

    stripe = client_for(sandbox_webhooks)
    buyer = UserFactory()
    customer = buyer_customer_ensure(user=buyer)
    key = saved_cards._offer_key(customer)
    first = saved_card(sandbox_webhooks, buyer, "pm_card_visa")

    def processed(event_type: str) -> int:
        return WebhookEvent.objects.filter(type=event_type, status="processed").count()

    def offer() -> str | None:
        card = saved_cards.default_card_for(user=buyer)
        return card.id if card else None

    assert wait_until(lambda: processed("payment_method.attached") == 1)
    assert offer() == first  # the only card, made the default
    assert cache.get(key) is not None
    assert wait_until(lambda: cache.get(key) is None)  # that change's customer.updated forgets it
    assert offer() == first

    second = saved_card(sandbox_webhooks, buyer, "pm_card_mastercard")
    assert wait_until(lambda: cache.get(key) is None)
    assert offer() == first  # the default, not the newest

    stripe.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": second}})
    assert wait_until(lambda: cache.get(key) is None)
    assert offer() == second

    updated = processed("customer.updated")
    stripe.v1.customers.update(customer, params={"email": "new@example.com"})
    assert wait_until(lambda: processed("customer.updated") == updated + 1)
    assert cache.get(key) is not None

    stripe.v1.payment_methods.detach(second)
    assert wait_until(lambda: cache.get(key) is None)
    assert offer() == first


def test_a_seller_cannot_buy_now_from_its_own_shop(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=1)
    card = saved_card(sandbox, seller.user, "pm_card_visa")
    with pytest.raises(InvalidInput, match="your own shop's listing"):
        buy_now(seller.user, mug, card, "e" * 32)
    assert not Order.objects.exists()
    mug.refresh_from_db()
    assert mug.stock == 1


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_000), ("jpy", 2_000)])
def test_a_buy_now_left_at_the_bank_check_is_canceled_at_stripe_and_one_finished_meanwhile_is_paid(
    sandbox: Any, currency: str, price: int
) -> None:
    """No event comes (no webhooks here): after `BUY_NOW_LIFETIME` the sweeper reads Stripe. The left one
    is canceled there first, so a late check cannot charge the card, then closed with its unit back; the
    one whose check was finished is paid. The Checkout sweeper leaves both to it."""
    from datetime import timedelta

    from django.utils import timezone

    from orders import services

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    card = saved_card(sandbox, buyer, "pm_card_authenticationRequired")
    left, finished = (buy_now(buyer, mug, card, attempt * 32, "http://app/r") for attempt in ("c", "d"))
    assert left.redirect_url and finished.redirect_url
    fetch_no_redirect(finished.redirect_url, b"action=complete")
    assert saved_cards.buy_now_sweep_abandoned() == 0  # not yet
    later = timezone.now() + saved_cards.BUY_NOW_LIFETIME + timedelta(minutes=5)
    assert services.orders_sweep_expired(now=later) == 0  # not the Checkout sweeper's

    assert saved_cards.buy_now_sweep_abandoned(now=later) == 2
    closed = Order.objects.get(pk=left.order.pk)
    assert (closed.status, closed.status_message) == (OrderStatus.PAYMENT_FAILED, saved_cards.ABANDONED)
    assert Order.objects.get(pk=finished.order.pk).status == OrderStatus.PAID
    mug.refresh_from_db()
    assert mug.stock == 1  # the left one's unit is back, the paid one's is sold
    stripe = client_for(sandbox)
    intents = {
        pi.metadata["order_id"]: (pi.status, pi.cancellation_reason) for pi in stripe.v1.payment_intents.list().data
    }
    assert intents[str(left.order.pk)] == ("canceled", "abandoned")
    fetch_no_redirect(left.redirect_url, b"action=complete")  # the buyer comes back too late
    assert {pi.metadata["order_id"]: pi.status for pi in stripe.v1.payment_intents.list().data}[
        str(left.order.pk)
    ] == "canceled"
    assert saved_cards.buy_now_sweep_abandoned(now=later) == 0  # once
    assert_ledger_equals_stripe()


def _buy_now_at_the_bank_check(sandbox: Any, buyer: Any, listing: Any, attempt: str) -> saved_cards.BuyNow:
    card = saved_card(sandbox, buyer, "pm_card_authenticationRequired")
    started = buy_now(buyer, listing, card, attempt, "http://app/r")
    assert started.redirect_url and started.order.status == OrderStatus.PENDING_PAYMENT
    return started


@pytest.mark.parametrize("shops", [1, 2])
def test_paying_the_cart_leaves_a_buy_now_waiting_at_the_bank_check_alone(sandbox: Any, shops: int) -> None:
    """A Buy now waiting on 3-D Secure is a purchase of its own: paying the cart of the same shop
    (alone, or with another shop in one payment) does not cancel it nor give its unit back, so the
    check finished afterwards pays an order that is still there, with its unit."""
    from orders import services
    from tests.orders.conftest import URLS, cart_with

    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=2, title="Mug")
    bowl = listing_of(seller, price=1_500, stock=5, title="Bowl")
    buyer = UserFactory()
    started = _buy_now_at_the_bank_check(sandbox, buyer, mug, "e" * 32)
    items = [(bowl, 1)]
    if shops == 2:
        items.append((listing_of(active_seller(sandbox, shop="Other"), price=900, stock=3), 1))
    cart = cart_with(buyer, *items)
    if shops == 1:
        services.checkout_start(buyer=buyer, cart=cart, seller_id=seller.pk, currency="usd", **URLS)
    else:
        services.checkout_start_cart(buyer=buyer, cart=cart, currency="usd", **URLS)

    kept = Order.objects.get(pk=started.order.pk)
    assert kept.status == OrderStatus.PENDING_PAYMENT and kept.stock_reserved
    mug.refresh_from_db()
    assert mug.stock == 1  # the Buy now's unit is still held for it

    fetch_no_redirect(str(started.redirect_url), b"action=complete")
    paid = saved_cards.buy_now_settle(order=kept, payment_intent=_intent_of(buyer, kept))
    assert paid.status == OrderStatus.PAID
    mug.refresh_from_db()
    assert mug.stock == 1


def _intent_of(buyer: Any, order: Order) -> str:
    from marketplace.gateway import cards as gateway_cards

    intents = gateway_cards.payment_intents_of_customer(buyer_customer_ensure(user=buyer))
    return next(i.id for i in intents if i.metadata.get("order_id") == str(order.pk))


def test_canceling_a_buy_now_waiting_at_the_bank_check_cancels_its_payment_at_stripe(sandbox: Any) -> None:
    """Pressing "Cancel this order" on a Buy now waiting on 3-D Secure says nothing was charged: so the
    PaymentIntent is canceled at Stripe first, and finishing the check afterwards charges nothing."""
    from marketplace.gateway import checkout as gateway_checkout
    from tests.orders.conftest import signed_in

    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    started = _buy_now_at_the_bank_check(sandbox, buyer, mug, "f" * 32)
    intent = _intent_of(buyer, started.order)

    client = signed_in(buyer)
    page = client.get(f"/orders/{started.order.pk}/").content.decode()
    assert "Your bank is checking it is you" in page and "held for you until  UTC" not in page
    answer = client.post(f"/orders/{started.order.pk}/cancel/", follow=True)
    assert "Order canceled. Nothing was charged." in answer.content.decode()
    canceled = Order.objects.get(pk=started.order.pk)
    assert canceled.status == OrderStatus.CANCELED
    assert gateway_checkout.payment_intent_retrieve(intent).status == "canceled"
    assert client_for(sandbox).v1.payment_intents.retrieve(intent).cancellation_reason == "requested_by_customer"
    fetch_no_redirect(str(started.redirect_url), b"action=complete")
    assert gateway_checkout.payment_intent_retrieve(intent).status == "canceled"
    assert Order.objects.get(pk=started.order.pk).payment is None
    mug.refresh_from_db()
    assert mug.stock == 1


def test_canceling_a_buy_now_whose_check_was_finished_meanwhile_makes_it_paid(sandbox: Any) -> None:
    from orders import services

    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    started = _buy_now_at_the_bank_check(sandbox, buyer, mug, "9" * 32)
    fetch_no_redirect(str(started.redirect_url), b"action=complete")  # in the other tab, no webhook yet

    order = services.order_cancel(order=started.order, buyer=buyer)
    assert order.status == OrderStatus.PAID and order.payment is not None
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_000), ("jpy", 2_000)])
def test_buy_now_of_one_unit_takes_one_unit_out_of_the_cart(sandbox: Any, currency: str, price: int) -> None:
    """The cart held 3 of the item: buying one now leaves 2 there, not none."""
    from catalog.models import CartItem
    from tests.orders.conftest import cart_with

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=price, stock=5)
    buyer = UserFactory()
    cart_with(buyer, (mug, 3))
    card = saved_card(sandbox, buyer, "pm_card_visa")
    done = buy_now(buyer, mug, card, "7" * 32)
    assert done.order.status == OrderStatus.PAID
    assert CartItem.objects.get(cart__user=buyer, listing=mug).quantity == 2
    assert_ledger_equals_stripe()


def test_a_slow_double_click_on_add_a_card_opens_stripes_page_not_an_error(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same form sent again a second or a minute later (a slow double click, a re-post): the
    page's `expires_at` had changed under the same idempotency key, which Stripe refuses, and the
    buyer read that Stripe could not be reached."""
    from datetime import timedelta

    from django.utils import timezone

    buyer = UserFactory()
    base = timezone.now().replace(second=10, microsecond=0)
    clock = {"now": base}
    monkeypatch.setattr(saved_cards.timezone, "now", lambda: clock["now"])

    def add() -> str:
        return saved_cards.saved_card_setup_start(
            user=buyer,
            attempt="5" * 32,
            success_url="http://app/done?s={CHECKOUT_SESSION_ID}",
            cancel_url="http://app/",
        )

    first = add()
    clock["now"] = base + timedelta(seconds=2)
    assert add() == first  # the same page
    clock["now"] = base + timedelta(seconds=61)
    later = add()
    assert later.startswith("http") and later != first


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_000), ("jpy", 2_000)])
def test_the_sweeper_and_cancel_read_a_buy_nows_payment_by_its_id_not_by_listing(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, currency: str, price: int
) -> None:
    """Buy now keeps its PaymentIntent's id once Stripe answered: settling it later (the sweeper, the
    buyer's Cancel) is one retrieve, not a list of every payment of the customer."""
    from datetime import timedelta

    from django.utils import timezone

    from marketplace.gateway import cards as gateway_cards

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=price, stock=3)
    buyer = UserFactory()
    left = _buy_now_at_the_bank_check(sandbox, buyer, mug, "a1" * 16)
    finished = _buy_now_at_the_bank_check(sandbox, buyer, mug, "b2" * 16)
    canceled = _buy_now_at_the_bank_check(sandbox, buyer, mug, "c3" * 16)
    for started in (left, finished, canceled):
        assert Order.objects.get(pk=started.order.pk).payment_intent_id == _intent_of(buyer, started.order)
    fetch_no_redirect(str(finished.redirect_url), b"action=complete")

    def no_listing(customer: str) -> list[Any]:
        raise AssertionError("listed the customer's payments")

    monkeypatch.setattr(gateway_cards, "payment_intents_of_customer", no_listing)
    assert saved_cards.buy_now_cancel(order=Order.objects.get(pk=canceled.order.pk)).status == OrderStatus.CANCELED
    later = timezone.now() + saved_cards.BUY_NOW_LIFETIME + timedelta(minutes=5)
    assert saved_cards.buy_now_sweep_abandoned(now=later) == 2
    assert Order.objects.get(pk=left.order.pk).status == OrderStatus.PAYMENT_FAILED
    assert Order.objects.get(pk=finished.order.pk).status == OrderStatus.PAID
    mug.refresh_from_db()
    assert mug.stock == 2
    assert_ledger_equals_stripe()


def test_a_buy_now_whose_create_answer_was_lost_is_still_found_by_listing(sandbox: Any) -> None:
    """The answer of the PaymentIntent's create never came back (a timeout after Stripe made it): no id
    is kept, and the sweeper falls back to the customer's list, so the payment is canceled at Stripe
    before the order says nothing was charged."""
    from datetime import timedelta

    from django.utils import timezone

    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    started = _buy_now_at_the_bank_check(sandbox, buyer, mug, "d4" * 16)
    intent = _intent_of(buyer, started.order)
    Order.objects.filter(pk=started.order.pk).update(payment_intent_id="")

    later = timezone.now() + saved_cards.BUY_NOW_LIFETIME + timedelta(minutes=5)
    assert saved_cards.buy_now_sweep_abandoned(now=later) == 1
    assert Order.objects.get(pk=started.order.pk).status == OrderStatus.PAYMENT_FAILED
    assert client_for(sandbox).v1.payment_intents.retrieve(intent).status == "canceled"


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_buy_now_whose_kept_payment_stripe_does_not_know_is_closed_and_its_unit_released(
    sandbox: Any, currency: str
) -> None:
    """Stripe answers `resource_missing` for the kept PaymentIntent id (its data was reset, another
    key): no such payment can charge the card. The sweeper retried the order on every run for ever,
    its unit reserved, and the buyer's Cancel said Stripe could not be reached."""
    from datetime import timedelta

    from django.utils import timezone

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=2_000, stock=2)
    buyer = UserFactory()
    swept = _buy_now_at_the_bank_check(sandbox, buyer, mug, "e5" * 16)
    canceled = _buy_now_at_the_bank_check(sandbox, buyer, mug, "f6" * 16)
    Order.objects.filter(pk__in=[swept.order.pk, canceled.order.pk]).update(payment_intent_id="pi_unknownToStripe")

    assert saved_cards.buy_now_cancel(order=Order.objects.get(pk=canceled.order.pk)).status == OrderStatus.CANCELED
    later = timezone.now() + saved_cards.BUY_NOW_LIFETIME + timedelta(minutes=5)
    assert saved_cards.buy_now_sweep_abandoned(now=later) == 1
    assert Order.objects.get(pk=swept.order.pk).status == OrderStatus.PAYMENT_FAILED
    mug.refresh_from_db()
    assert mug.stock == 2
    assert_ledger_equals_stripe()


def test_the_page_that_saves_a_card_names_a_currency(sandbox: Any) -> None:
    """Stripe requires `currency` on a `mode=setup` Checkout Session made without
    `payment_method_types` (which this API version no longer takes): without it no buyer could
    open the page that saves a card."""
    import re

    from django.test import override_settings

    buyer = UserFactory()
    with override_settings(CARD_SETUP_CURRENCY="jpy"):
        url = saved_cards.saved_card_setup_start(
            user=buyer, attempt="6" * 32, success_url="http://app/done?s={CHECKOUT_SESSION_ID}", cancel_url="http://a/"
        )
    found = re.search(r"cs_test_\w+", url)
    assert found is not None
    session = client_for(sandbox).v1.checkout.sessions.retrieve(found.group(0))
    assert (session.mode, session.currency) == ("setup", "jpy")


def test_resuming_a_buy_now_whose_payment_was_never_made_closes_it(sandbox: Any) -> None:
    """Continue on a Buy now whose PaymentIntent Stripe never made (the create never reached it):
    there is no bank check to go back to and nothing was charged, so the order is closed and its
    unit released; a Checkout order is not a Buy now."""
    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    buyer_customer_ensure(user=buyer)
    order, _ = saved_cards._buy_now_order(
        buyer=buyer,
        listing_id=mug.pk,
        quantity=1,
        attempt="e5" * 16,
        payment_method="pm_x",
        price_seen=(mug.price, mug.currency),
    )
    mug.refresh_from_db()
    assert mug.stock == 0
    resumed = saved_cards.buy_now_resume(order=order)
    assert resumed.redirect_url is None
    assert (resumed.order.status, resumed.order.status_message) == (OrderStatus.PAYMENT_FAILED, saved_cards.NOT_PAID)
    mug.refresh_from_db()
    assert mug.stock == 1
    Order.objects.filter(pk=order.pk).update(cart_fingerprint="cart:x")
    with pytest.raises(NotFound):
        saved_cards.buy_now_resume(order=Order.objects.get(pk=order.pk))


def test_removing_the_default_card_makes_the_newest_card_left_the_default(sandbox: Any) -> None:
    """Stripe clears the customer's default when that card is detached. The buyer who still has cards
    keeps a default (the newest one), so the cards page names the one "Buy now" offers and renewals
    have a card to charge; removing another card leaves the default alone."""
    buyer = UserFactory()
    first = saved_card(sandbox, buyer, "pm_card_visa")
    saved_cards.saved_card_make_default(user=buyer, payment_method=first, attempt="visit-1")
    older = saved_card(sandbox, buyer, "pm_card_mastercard")
    newest = saved_card(sandbox, buyer, "pm_card_authenticationRequired")

    saved_cards.saved_card_remove(user=buyer, payment_method=older)
    assert [(c.id, c.is_default) for c in saved_cards.saved_cards_for(user=buyer)][:1] == [(first, True)]

    saved_cards.saved_card_remove(user=buyer, payment_method=first)
    cards = saved_cards.saved_cards_for(user=buyer)
    assert [(c.id, c.is_default) for c in cards] == [(newest, True)]
    customer = client_for(sandbox).v1.customers.retrieve(buyer_customer_ensure(user=buyer))
    assert customer.invoice_settings.default_payment_method == newest
    assert saved_cards.default_card_for(user=buyer) == cards[0]

    saved_cards.saved_card_remove(user=buyer, payment_method=newest)
    assert saved_cards.saved_cards_for(user=buyer) == []
    assert saved_cards.default_card_for(user=buyer) is None


def test_a_card_made_the_default_again_is_the_default(sandbox: Any) -> None:
    """Visa, then Mastercard, then Visa again as the default, within Stripe's 24 hours of idempotency
    keys: the third change had the first one's key (the customer and the card), so Stripe answered
    with the first response and changed nothing, while the page said Visa was the default."""
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    customer = buyer_customer_ensure(user=buyer)
    stripe = client_for(sandbox)
    for visit, card in enumerate((visa, mastercard, visa)):
        assert saved_cards.saved_card_make_default(
            user=buyer, payment_method=card, attempt=f"visit-{visit}"
        ).card.is_default
        assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method == card
    assert [(c.id, c.is_default) for c in saved_cards.saved_cards_for(user=buyer)][:1] == [(visa, True)]


def test_a_first_card_saved_by_a_buyer_who_never_came_back_becomes_the_default(sandbox_webhooks: Any) -> None:
    """The buyer saves a card on Stripe's page (3-D Secure there) and closes the tab instead of coming
    back: `checkout.session.completed` of the setup session makes it the default as coming back would,
    since it is their first card."""
    import re

    from marketplace.webhooks.models import WebhookEvent
    from tests.sandbox.helpers import control

    buyer = UserFactory()
    url = saved_cards.saved_card_setup_start(
        user=buyer, attempt="f6" * 16, success_url="http://app/done?s={CHECKOUT_SESSION_ID}", cancel_url="http://a/"
    )
    found = re.search(r"cs_test_\w+", url)
    assert found is not None
    control(sandbox_webhooks, f"checkout/sessions/{found.group(0)}/pay", card="4000002500003155")
    control(sandbox_webhooks, f"checkout/sessions/{found.group(0)}/authenticate", outcome="complete")
    assert sandbox_webhooks.wait_for_webhooks(30)
    assert wait_until(
        lambda: WebhookEvent.objects.filter(type="checkout.session.completed", status="processed").exists()
    )
    cards = saved_cards.saved_cards_for(user=buyer)
    assert [(c.last4, c.is_default) for c in cards] == [("3155", True)]


def test_a_lost_buy_now_payment_is_found_behind_a_hundred_newer_payments_of_the_buyer(sandbox: Any) -> None:
    """The fallback for a Buy now whose create answer was lost lists the customer's payments: one
    page of 100 missed it once the buyer had made 100 newer ones, and the order was closed as never
    charged while its payment still waited on the bank's check. It reads on, back to the order's time."""
    from datetime import timedelta

    from django.utils import timezone

    seller = active_seller(sandbox)
    mug = listing_of(seller, price=2_000, stock=1)
    buyer = UserFactory()
    started = _buy_now_at_the_bank_check(sandbox, buyer, mug, "a7" * 16)
    intent = _intent_of(buyer, started.order)
    Order.objects.filter(pk=started.order.pk).update(payment_intent_id="")
    stripe = client_for(sandbox)
    customer = buyer_customer_ensure(user=buyer)
    for _ in range(100):
        stripe.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "customer": customer})

    later = timezone.now() + saved_cards.BUY_NOW_LIFETIME + timedelta(minutes=5)
    assert saved_cards.buy_now_sweep_abandoned(now=later) == 1
    assert Order.objects.get(pk=started.order.pk).status == OrderStatus.PAYMENT_FAILED
    assert stripe.v1.payment_intents.retrieve(intent).status == "canceled"


def _intents_at_stripe(sandbox: Any, buyer: Any) -> list[Any]:
    customer = buyer_customer_ensure(user=buyer)
    return list(client_for(sandbox).v1.payment_intents.list(params={"customer": customer, "limit": 100}).data)


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_000), ("jpy", 2_000)])
def test_the_same_buy_now_form_sent_again_with_another_card_never_charges_twice(
    sandbox: Any, currency: str, price: int
) -> None:
    """A double click that changed the card, or the form sent again: the second submit, finding the
    first's order by the form's token, made a second PaymentIntent with the other card (its
    idempotency key has the card in it), which was charged while the first waited at the bank's
    check, or was on its way to Stripe. It finds the first attempt instead: its PaymentIntent's state
    (the bank's check again, then paid), or, while the first is still on its way, a clear refusal."""
    from marketplace.errors import Conflict

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=price, stock=3)
    buyer = UserFactory()
    checked = saved_card(sandbox, buyer, "pm_card_authenticationRequired")
    visa = saved_card(sandbox, buyer, "pm_card_visa")

    # The first submit waits at the bank's check; the second, with the Visa, goes back to that check.
    first = buy_now(buyer, mug, checked, "a1" * 16, "http://app/r")
    assert first.redirect_url
    again = buy_now(buyer, mug, visa, "a1" * 16, "http://app/r")
    assert (again.order.pk, again.redirect_url) == (first.order.pk, first.redirect_url)
    assert [(pi.status, pi.payment_method) for pi in _intents_at_stripe(sandbox, buyer)] == [
        ("requires_action", checked)
    ]
    fetch_no_redirect(first.redirect_url, b"action=complete")
    shown = buy_now(buyer, mug, visa, "a1" * 16, "http://app/r")
    assert shown.order.pk == first.order.pk and shown.order.status == OrderStatus.PAID
    assert [(pi.status, pi.amount) for pi in _intents_at_stripe(sandbox, buyer)] == [("succeeded", price)]

    # The first submit's order is made and its PaymentIntent is on its way: the second is refused.
    on_its_way, _ = saved_cards._buy_now_order(
        buyer=buyer,
        listing_id=mug.pk,
        quantity=1,
        attempt="b2" * 16,
        payment_method=visa,
        price_seen=(mug.price, mug.currency),
    )
    with pytest.raises(Conflict) as refused:
        buy_now(buyer, mug, checked, "b2" * 16, "http://app/r")
    assert refused.value.message == saved_cards.OTHER_CARD.format(card="Visa ending 3184")
    assert len(_intents_at_stripe(sandbox, buyer)) == 1, "nothing more was sent to Stripe"
    done = buy_now(buyer, mug, visa, "b2" * 16, "http://app/r")
    assert done.order.pk == on_its_way.pk and done.order.status == OrderStatus.PAID
    intents = _intents_at_stripe(sandbox, buyer)
    assert sorted((pi.metadata["order_id"], pi.status, pi.payment_method) for pi in intents) == sorted(
        [(str(first.order.pk), "succeeded", checked), (str(on_its_way.pk), "succeeded", visa)]
    )
    assert Order.objects.filter(buyer=buyer).count() == 2
    mug.refresh_from_db()
    assert mug.stock == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_000), ("jpy", 2_000)])
def test_buy_now_pressed_twice_with_two_cards_on_the_page_charges_once(sandbox: Any, currency: str, price: int) -> None:
    """Through the page's form: the second press with another card sends the buyer to the first's
    bank check, not to a second payment."""
    from tests.orders.conftest import signed_in

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    checked = saved_card(sandbox, buyer, "pm_card_authenticationRequired")
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    client = signed_in(buyer)
    url = f"/listing/{mug.pk}/buy-now/"
    pressed = [
        client.post(url, {"attempt": "c3" * 16, "payment_method": card, "price": price, "currency": currency})
        for card in (checked, visa)
    ]
    assert [p.status_code for p in pressed] == [303, 303]
    assert pressed[0]["Location"] == pressed[1]["Location"], "both to the first payment's bank check"
    [intent] = _intents_at_stripe(sandbox, buyer)
    assert (intent.status, intent.payment_method, intent.amount) == ("requires_action", checked, price)
    assert Order.objects.get(buyer=buyer).status == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_a_double_click_that_changed_the_card_charges_one_card_once(sandbox: Any, currency: str, price: int) -> None:
    """Both presses at once, each with its own card: whichever comes second finds the first's order,
    and either its payment or a refusal, so Stripe charges exactly one PaymentIntent."""
    import threading

    from django.db import connection

    from tests.orders.conftest import signed_in

    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    cards = [saved_card(sandbox, buyer, pm) for pm in ("pm_card_visa", "pm_card_mastercard")]
    pressed = threading.Barrier(2, timeout=30)
    answers: list[int] = []
    errors: list[BaseException] = []

    def press(card: str) -> None:
        try:
            client = signed_in(buyer)
            pressed.wait()
            answers.append(
                client.post(
                    f"/listing/{mug.pk}/buy-now/",
                    {"attempt": "d4" * 16, "payment_method": card, "price": price, "currency": currency},
                ).status_code
            )
        except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(card,)) for card in cards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert answers == [302, 302]
    [intent] = _intents_at_stripe(sandbox, buyer)
    assert (intent.status, intent.amount, intent.payment_method in cards) == ("succeeded", price, True)
    order = Order.objects.get(buyer=buyer)
    assert order.status == OrderStatus.PAID and order.payment_method_id == intent.payment_method
    mug.refresh_from_db()
    assert mug.stock == 1
    assert_ledger_equals_stripe()


def _buy_now_form(client: Any, listing_id: int) -> dict[str, str]:
    """What pressing Buy now on the listing page, as rendered for this buyer, sends: its form's
    hidden fields and its quantity box as drawn (Buy now is a second button of that form)."""
    import re

    page = client.get(f"/listing/{listing_id}/").content.decode()
    form = re.search(
        r'<form method="post"[^>]*>(?:(?!</form>).)*formaction="/listing/\d+/buy-now/".*?</form>', page, re.S
    )
    assert form is not None, "the page offers Buy now"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))
    fields.pop("csrfmiddlewaretoken", None)
    box = re.search(r'<input class="qty" id="quantity" name="quantity"[^>]*value="([^"]*)"', form.group(0))
    assert box is not None, "Buy now sends the quantity box"
    fields["quantity"] = box.group(1)
    return fields


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_250), ("jpy", 1_250)])
def test_buy_now_pays_the_quantity_typed_in_the_box_once(sandbox: Any, client: Any, currency: str, price: int) -> None:
    """The quantity box belonged to Add to cart only: a buyer who typed 3 and pressed Buy now paid
    for one. Now 3 are ordered, charged 3 times the price with the fee of any order of that amount,
    and taken from stock; the same press sent twice pays once, while the same page sent with
    another quantity is a purchase of its own, not the first one's payment."""
    from fees.policy import FeeLine, fee_for

    seller = active_seller(sandbox, currency=currency)
    bowl = listing_of(seller, price=price, stock=5)
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_visa")
    client.force_login(buyer)
    form = {**_buy_now_form(client, bowl.pk), "quantity": "3"}
    first = client.post(f"/listing/{bowl.pk}/buy-now/", form, follow=True).content.decode()
    assert "Thank you! Your payment went through." in first
    again = client.post(f"/listing/{bowl.pk}/buy-now/", form, follow=True).content.decode()
    assert "Pressed twice: paid once." in again

    order = Order.objects.get(buyer=buyer)
    [line] = order.lines.all()
    expected = fee_for(
        seller=seller, lines=[FeeLine(amount=3 * price, currency=currency, category_id=bowl.category_id)]
    )
    assert (order.status, line.quantity, line.unit_amount) == (OrderStatus.PAID, 3, price)
    assert (order.amount_total, order.application_fee_amount) == (3 * price, expected.fee)
    [intent] = _intents_at_stripe(sandbox, buyer)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 3 * price, currency)
    assert order.payment is not None and order.payment.application_fees.get().amount == expected.fee
    bowl.refresh_from_db()
    assert bowl.stock == 2

    client.post(f"/listing/{bowl.pk}/buy-now/", {**form, "quantity": "1"})
    assert sorted(i.amount for i in _intents_at_stripe(sandbox, buyer)) == sorted([price, 3 * price])
    bowl.refresh_from_db()
    assert bowl.stock == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 1_250), ("jpy", 1_250)])
def test_buy_now_of_a_quantity_not_in_stock_or_not_a_number_charges_nothing_and_says_why(
    sandbox: Any, client: Any, currency: str, price: int
) -> None:
    seller = active_seller(sandbox, currency=currency)
    bowl = listing_of(seller, price=price, stock=5)
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_visa")
    client.force_login(buyer)
    form = _buy_now_form(client, bowl.pk)
    said = {
        "6": "Only 5 of",
        "0": "Choose a quantity of at least 1.",
        "-2": "Choose a quantity of at least 1.",
        "abc": "Choose a quantity of at least 1.",
        "2.5": "Choose a quantity of at least 1.",
        "99999999999999999999999": "Only 5 of",
    }
    for typed, sentence in said.items():
        pressed = client.post(f"/listing/{bowl.pk}/buy-now/", {**form, "quantity": typed}, follow=True)
        kept = "?quantity=6" if typed == "6" else ""  # a whole number is typed in the box again (`back_to_listing`)
        assert pressed.redirect_chain[-1][0] == f"/listing/{bowl.pk}/{kept}", typed
        assert sentence in pressed.content.decode(), typed
    assert _intents_at_stripe(sandbox, buyer) == []
    assert not Order.objects.filter(buyer=buyer).exists()
    bowl.refresh_from_db()
    assert bowl.stock == 5
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price", "raised"), [("usd", 3_200, 99_900), ("jpy", 3_200, 99_900)])
def test_buy_now_after_the_price_changed_charges_nothing_and_says_the_new_price(
    sandbox: Any, currency: str, price: int, raised: int
) -> None:
    """Buy now pays at once, with no Stripe page to read the amount on: the buyer agreed to the price
    the listing's page showed. A shop that raised it meanwhile (or a page left open for a day) charged
    the new price, $999 for a bowl shown at $32. The press is now refused with the new price and
    nothing charged; pressed again from the page that shows it, it pays that price."""
    from catalog.services import listing_update
    from marketplace.money import format_money
    from tests.orders.conftest import signed_in

    seller = active_seller(sandbox, currency=currency)
    bowl = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_visa")
    client = signed_in(buyer)
    form = _buy_now_form(client, bowl.pk)
    listing_update(listing=bowl, data={"price": raised})

    pressed = client.post(f"/listing/{bowl.pk}/buy-now/", form, follow=True)
    assert pressed.redirect_chain[-1][0] == f"/listing/{bowl.pk}/?quantity=1"
    said = pressed.content.decode()
    assert f"is now {format_money(raised, currency)}" in said and "nothing was charged" in said.lower()
    assert _intents_at_stripe(sandbox, buyer) == []
    assert not Order.objects.filter(buyer=buyer, status=OrderStatus.PAID).exists()
    bowl.refresh_from_db()
    assert bowl.stock == 2, "no unit held for a payment that was not made"

    # The same form without its price (an old page, a hand-made post) is refused alike.
    bare = {k: v for k, v in _buy_now_form(client, bowl.pk).items() if k not in ("price", "currency")}
    client.post(f"/listing/{bowl.pk}/buy-now/", bare)
    assert _intents_at_stripe(sandbox, buyer) == []

    client.post(f"/listing/{bowl.pk}/buy-now/", _buy_now_form(client, bowl.pk))
    [intent] = _intents_at_stripe(sandbox, buyer)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", raised, currency)
    assert Order.objects.get(buyer=buyer, status=OrderStatus.PAID).amount_total == raised


def test_the_cards_page_says_the_default_moves_the_subscriptions(sandbox: Any, client: Any) -> None:
    """A subscription started on Checkout has its own card (Stripe's `subscription.default_payment_method`,
    which wins over the customer's default), so the page once said making a card the default did not
    change what renews it, and a buyer whose renewal failed was charged on the old card again. Making a
    card the default now moves the subscriptions to it, and the page says so, with each card's
    subscriptions (`tests/orders/test_saved_cards_and_subscriptions.py`)."""
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_visa")
    client.force_login(buyer)
    page = client.get("/account/cards/").content.decode()
    assert 'Your default card pays in one click ("Buy now").' in page
    assert "Making a card the default moves your subscriptions to it" in page
    assert "does not change it" not in page
    assert 'href="/account/subscriptions/"' in page


def test_removing_the_default_after_switching_defaults_still_leaves_a_default(sandbox: Any) -> None:
    """Visa the default, then Mastercard, then Visa again; Visa removed: the newest card left
    (Mastercard) is made the default with the key of "Mastercard replacing Visa", the first switch's,
    so Stripe replayed that answer and changed nothing: no default at all, on the page as at Stripe."""
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    for visit, card in enumerate((visa, mastercard, visa)):
        saved_cards.saved_card_make_default(user=buyer, payment_method=card, attempt=f"visit-{visit}")
    saved_cards.saved_card_remove(user=buyer, payment_method=visa)
    customer = client_for(sandbox).v1.customers.retrieve(buyer_customer_ensure(user=buyer))
    assert customer.invoice_settings.default_payment_method == mastercard
    assert [(c.id, c.is_default) for c in saved_cards.saved_cards_for(user=buyer)] == [(mastercard, True)]


def test_switching_the_default_back_and_forth_switches_it_each_time(sandbox: Any, client: Any) -> None:
    """Visa, Mastercard, Visa, Mastercard as the default from the cards page within Stripe's 24 hours
    of keys: the fourth change had the second's key (Mastercard replacing Visa), so Stripe replayed
    its answer and Visa stayed the default while the page said Mastercard was. Each visit's form is
    one change; the same form sent twice at once is still one."""
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    client.force_login(buyer)
    customer = buyer_customer_ensure(user=buyer)
    stripe = client_for(sandbox)
    # the first visit makes the first card saved (Visa) the default
    for card in (mastercard, visa, mastercard, visa):
        page = client.get("/account/cards/").content.decode()
        assert f'action="/account/cards/{card}/default/"' in page
        attempt = page.split(f'action="/account/cards/{card}/default/"', 1)[1].split('name="attempt" value="', 1)[1]
        client.post(f"/account/cards/{card}/default/", {"attempt": attempt[:32]})
        assert stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method == card


def test_make_default_without_the_pages_token_changes_nothing_and_says_to_press_again(
    sandbox: Any, client: Any
) -> None:
    """The Stripe keys of a default change (the customer's, its subscriptions') are made of our ids
    and the cards page's visit token: a form without one (a page from before tokens, curl) would get
    a random key, so it changes nothing, as Add to cart does, and the page says to press again."""
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    client.force_login(buyer)
    customer = buyer_customer_ensure(user=buyer)
    for attempt in (None, "", "not-a-token", "f" * 33):
        form = {"attempt": attempt} if attempt is not None else {}
        answer = client.post(f"/account/cards/{mastercard}/default/", form, follow=True)
        assert answer.status_code == 200
        assert "Nothing was changed: the page was out of date. Press the button again." in answer.content.decode()
        assert client_for(sandbox).v1.customers.retrieve(customer).invoice_settings.default_payment_method == visa


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_buy_now_and_add_a_card_without_the_pages_token_do_nothing_and_say_to_press_again(
    sandbox: Any, client: Any, currency: str, price: int
) -> None:
    """Buy now's PaymentIntent and Add a card's setup session are keyed by their page's token too: a
    form without one would need a random key (a double click then pays twice), so nothing is charged
    or started and the page says to press again; the page's own form then pays once."""
    seller = active_seller(sandbox, currency=currency)
    bowl = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_visa")
    client.force_login(buyer)
    customer = buyer_customer_ensure(user=buyer)
    stripe = client_for(sandbox)
    sessions_before = len(stripe.v1.checkout.sessions.list(params={"customer": customer}).data)
    for attempt in (None, "", "not-a-token"):
        form = {k: v for k, v in _buy_now_form(client, bowl.pk).items() if k != "attempt"}
        if attempt is not None:
            form["attempt"] = attempt
        answer = client.post(f"/listing/{bowl.pk}/buy-now/", form, follow=True)
        assert answer.redirect_chain[-1][0] == f"/listing/{bowl.pk}/"
        assert "Nothing was charged: the page was out of date. Press the button again." in answer.content.decode()
        answer = client.post("/account/cards/add/", {} if attempt is None else {"attempt": attempt}, follow=True)
        assert answer.redirect_chain[-1][0] == "/account/cards/"
        assert "Nothing was started: the page was out of date. Press the button again." in answer.content.decode()
    assert _intents_at_stripe(sandbox, buyer) == []
    assert len(stripe.v1.checkout.sessions.list(params={"customer": customer}).data) == sessions_before
    bowl.refresh_from_db()
    assert bowl.stock == 2

    form = _buy_now_form(client, bowl.pk)
    client.post(f"/listing/{bowl.pk}/buy-now/", form)
    client.post(f"/listing/{bowl.pk}/buy-now/", form)  # the same page's form twice: one payment
    [intent] = _intents_at_stripe(sandbox, buyer)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", price, currency)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_buy_now_sent_again_from_the_same_page_says_it_paid_once(
    sandbox: Any, client: Any, currency: str, price: int
) -> None:
    """Back to the listing and Buy now again (or a double click, whose second answer is the one
    shown): one payment, and the page says so, as Add to cart's "Pressed twice: added once." does; it
    said "Thank you! Your payment went through." again, as if a second payment had gone through."""
    seller = active_seller(sandbox, currency=currency)
    bowl = listing_of(seller, price=price, stock=2)
    buyer = UserFactory()
    saved_card(sandbox, buyer, "pm_card_visa")
    client.force_login(buyer)
    form = _buy_now_form(client, bowl.pk)
    first = client.post(f"/listing/{bowl.pk}/buy-now/", form, follow=True).content.decode()
    assert "Thank you! Your payment went through." in first and "Pressed twice" not in first
    again = client.post(f"/listing/{bowl.pk}/buy-now/", form, follow=True).content.decode()
    assert "Thank you! Your payment went through. Pressed twice: paid once." in again
    [intent] = _intents_at_stripe(sandbox, buyer)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", price, currency)
    bowl.refresh_from_db()
    assert bowl.stock == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_bank_check_return_with_a_payment_stripe_does_not_know_is_the_sites_404(
    sandbox: Any, client: Any, currency: str
) -> None:
    """Stripe's 3-D Secure page sends the buyer back with `payment_intent` in the address. One Stripe
    does not know (a link someone made up) flashed Stripe's developer sentence with the address's text
    in it ("No such payment_intent: 'pi_ Call us at ...'") on the buyer's orders: any words a link
    carried, shown by the site. It is the site's 404, as an unknown card setup is; the order is as it was."""
    seller = active_seller(sandbox, currency=currency)
    print_ = listing_of(seller, price=3_300, stock=2)
    buyer = UserFactory()
    card = saved_card(sandbox, buyer, "pm_card_visa")
    order = buy_now(buyer, print_, card, "e" * 32).order
    assert order.is_paid
    client.force_login(buyer)
    words = "pi_ Your account is locked: call +1 555 0100"
    for intent in (words, "pi_unknown", "pi_" + "a" * 5_000):
        response = client.get("/buy-now/return/", {"order": order.pk, "payment_intent": intent}, follow=True)
        page = response.content.decode()
        assert response.status_code == 404 and "No such payment" in page
        assert "payment_intent:" not in page and "call +1 555" not in page
    order.refresh_from_db()
    assert order.is_paid
