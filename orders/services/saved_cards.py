"""Saved cards and one-click buying ("Buy now with Visa ending 4242").

- *Saving* goes through Stripe's hosted page in `mode=setup`; the card lands on the buyer's
  Customer, and the first one saved becomes the default (`invoice_settings.default_payment_method`).
- *Buying* makes a one-unit order with its stock reserved and its fee snapshotted, like a cart
  checkout, then the server creates and confirms a PaymentIntent with the saved card: a
  destination charge with our fee. Paid at once, or after the 3-D Secure page (the buyer comes
  back to `return_url`), or by `payment_intent.succeeded`: all three settle through
  `order_mark_paid_by_intent`, the same single paid path (payment, ledger, emails) as Checkout.
- A decline or a failed authentication closes the order with the reason, releases the unit and
  leaves the cart alone. A Buy now left at the 3-D Secure page is canceled at Stripe after
  `BUY_NOW_LIFETIME` (`buy_now_sweep_abandoned`, from the orders sweeper), then closed the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from catalog.models import Listing
from fees.policy import FeeLine, fee_for
from marketplace.errors import CardDeclined, Conflict, DomainError, InvalidInput, NotFound
from marketplace.gateway import cards as gateway_cards
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import CheckoutSession, PaymentError, PaymentIntent, PaymentMethod
from marketplace.money import format_money
from orders.models import BUY_NOW_FINGERPRINT_PREFIX, Order, OrderLine, OrderStatus
from orders.services._stock import change_stock, close_order, lock_listings
from orders.services.checkout import buyer_customer_ensure, buyer_customer_of
from orders.services.payment_state import order_mark_paid_by_intent
from sellers.selectors import seller_can_sell, seller_cannot_sell_message

logger = logging.getLogger(__name__)

SETUP_LIFETIME = timedelta(minutes=30)
# How long a listing page's "Buy now" offer is remembered if Stripe's event of a change made
# elsewhere never comes (see `default_card_for`).
BUY_NOW_CARD_SECONDS = 300
AUTH_FAILED = (
    "Your bank could not confirm it was you (3-D Secure), so nothing was charged. Try again, or use another card."
)
NOT_PAID = "The payment did not go through, so nothing was charged. Try again, or use another card."
ABANDONED = (
    "The bank's check (3-D Secure) was not finished in time, so the payment was canceled and nothing was charged. "
    "Try again, or use another card."
)
BUYER_CANCELED = "You canceled this order. Nothing was charged."
OTHER_CARD = (
    "You already pressed Buy now for this with another card, and that payment is on its way, so nothing was "
    "charged to {card}. Your order's page shows how it goes."
)
# How long a Buy now may wait on the bank's check before the sweeper cancels it (as a Checkout
# Session's lifetime bounds a cart's checkout).
BUY_NOW_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class SavedCard:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool

    @property
    def label(self) -> str:
        """How a person names the card: "Visa ending 4242"."""
        brand = {"amex": "American Express", "mastercard": "Mastercard"}.get(self.brand, self.brand.title())
        return f"{brand} ending {self.last4}"


@dataclass(frozen=True)
class BuyNow:
    order: Order
    redirect_url: str | None  # the 3-D Secure page, when the bank asks for it


def _customer_of(user: Any) -> str | None:
    return buyer_customer_of(user=user)


def _card(pm: PaymentMethod, default: str | None) -> SavedCard | None:
    if pm.card is None:
        return None
    return SavedCard(pm.id, pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year, pm.id == default)


def saved_cards_for(*, user: Any) -> list[SavedCard]:
    """The buyer's saved cards, the default first, as Stripe has them now; no Stripe call for a
    buyer who never paid."""
    customer = _customer_of(user)
    if customer is None:
        return []
    return _cards_of(customer)


def _cards_of(customer: str) -> list[SavedCard]:
    default = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
    cards = [c for c in (_card(pm, default) for pm in gateway_cards.payment_methods_list(customer=customer)) if c]
    cards.sort(key=lambda c: not c.is_default)
    cache.set(_offer_key(customer), (cards[0] if cards else None,), BUY_NOW_CARD_SECONDS)
    return cards


def _offer_key(customer: str) -> str:
    return f"buy-now-card:{customer}"


def buyer_cards_changed(*, customer: str) -> None:
    """`customer`'s cards changed, here or at Stripe (`orders.webhooks.buyer_cards_changed`: a card
    saved by a Checkout payment, removed or made default in the Dashboard): the remembered "Buy
    now" offer is forgotten, and the next listing page asks Stripe again."""
    cache.delete(_offer_key(customer))


def saved_card_setup_start(*, user: Any, attempt: str, success_url: str, cancel_url: str) -> str:
    """The URL of Stripe's page that saves a card on the buyer's Customer (`attempt`: the form's
    token, so a double submit opens one page)."""
    customer = buyer_customer_ensure(user=user)
    # To the minute, so that a double click sends the same parameters and gets the same page (the
    # key has them); 2 minutes more, so that it is never under Stripe's 30-minute minimum.
    expires = (timezone.now() + SETUP_LIFETIME + timedelta(minutes=2)).replace(second=0, microsecond=0)
    session = gateway_cards.setup_session_create(
        user_id=user.pk,
        attempt=attempt,
        customer=customer,
        currency=settings.CARD_SETUP_CURRENCY,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=int(expires.timestamp()),
    )
    return session.url or ""


def saved_card_setup_finish(*, user: Any, session_id: str) -> SavedCard | None:
    """Back from the setup page: the card saved by that session, made the default when the buyer
    has none yet. Re-reads the session (never trusts the query string) and checks it is theirs."""
    customer = _customer_of(user)
    if customer is None:
        raise NotFound("No such card setup.")
    try:
        session = gateway_cards.setup_session_retrieve(session_id)
    except InvalidInput:
        raise NotFound("No such card setup.") from None
    if session.mode != "setup" or session.customer != customer:
        raise NotFound("No such card setup.")
    return _card_saved(customer, session)


def saved_card_setup_completed(*, session_id: str) -> None:
    """`checkout.session.completed` of a setup page of ours: what coming back to it does (a first
    card becomes the default), for the buyer who closed the tab instead."""
    session = gateway_cards.setup_session_retrieve(session_id)
    if session.mode == "setup" and session.metadata.get("user_id") and isinstance(session.customer, str):
        _card_saved(session.customer, session)


def _card_saved(customer: str, session: CheckoutSession) -> SavedCard | None:
    """The card a completed setup session saved on `customer`, made the default when there is none
    (the key is the same from the return page and the event: one change)."""
    seti = session.setup_intent
    if isinstance(seti, str) or seti is None or seti.status != "succeeded" or not seti.payment_method:
        return None
    buyer_cards_changed(customer=customer)
    current = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
    if current is None:
        gateway_cards.customer_default_payment_method_set(
            customer=customer, payment_method=seti.payment_method, replacing=None
        )
        current = seti.payment_method
    return _card(gateway_cards.payment_method_retrieve(seti.payment_method), current)


def _own_card(user: Any, payment_method: str) -> tuple[str, PaymentMethod]:
    customer = _customer_of(user)
    if customer is None or not payment_method.startswith("pm_"):
        raise NotFound("No such saved card.")
    try:
        pm = gateway_cards.payment_method_retrieve(payment_method)
    except InvalidInput:
        pm = None
    if pm is None or pm.customer != customer:
        # e.g. a "Buy now" offer of a card removed elsewhere: ask Stripe next time
        buyer_cards_changed(customer=customer)
        raise NotFound("No such saved card.")
    return customer, pm


def saved_card_make_default(*, user: Any, payment_method: str, attempt: str) -> SavedCard:
    """`attempt` is the cards page's visit (its form's token): one visit's change is one change at
    Stripe, however often it is sent, and another visit's is another change."""
    customer, pm = _own_card(user, payment_method)
    current = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
    if current != pm.id:
        gateway_cards.customer_default_payment_method_set(
            customer=customer, payment_method=pm.id, replacing=current, attempt=attempt
        )
    buyer_cards_changed(customer=customer)
    card = _card(pm, pm.id)
    assert card is not None
    return card


def saved_card_remove(*, user: Any, payment_method: str) -> SavedCard:
    """Detach the card. Stripe then clears the customer's default if it was this card: a buyer with
    cards left gets the newest of them as the default (as the first card saved becomes it), so the
    cards page names the card "Buy now" offers and renewals are not left without one."""
    customer, pm = _own_card(user, payment_method)
    was_default = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method == pm.id
    gateway_cards.payment_method_detach(payment_method=pm.id)
    buyer_cards_changed(customer=customer)
    if was_default:
        left = [c for c in gateway_cards.payment_methods_list(customer=customer) if c.card is not None]
        if left:  # Stripe lists them newest first
            gateway_cards.customer_default_payment_method_set(
                customer=customer, payment_method=left[0].id, replacing=pm.id, after_removing=pm.id
            )
            buyer_cards_changed(customer=customer)
    card = _card(pm, None)
    assert card is not None
    return card


def default_card_for(*, user: Any) -> SavedCard | None:
    """The card "Buy now" pays with: the default, else the newest saved one.

    Every listing page a signed-in buyer with a Stripe Customer opens asks this, and asking Stripe
    is two calls, so the answer is remembered for `BUY_NOW_CARD_SECONDS`: forgotten at once when the
    buyer saves, removes or picks a default card here, when Stripe's event says the cards changed
    elsewhere (a card saved by a Checkout payment, removed or made default in the Dashboard), and
    refreshed by the cards page. "Buy now" with a card removed elsewhere before its event came is
    refused ("No such saved card") and forgets the offer, and the buyer pays through the cart."""
    customer = _customer_of(user)
    if customer is None:
        return None
    remembered = cache.get(_offer_key(customer))
    if remembered is not None:
        return remembered[0]
    cards = _cards_of(customer)
    return cards[0] if cards else None


def _buy_now_order(
    *, buyer: Any, listing_id: int, attempt: str, payment_method: str, price_seen: tuple[int, str] | None
) -> Order:
    """A one-unit order with its unit reserved and its fee snapshotted, to be paid with
    `payment_method`. `attempt` (a token of the form) makes a double submit find the first order,
    and its card, instead of paying twice. `price_seen` must be the listing's price now (see `buy_now`)."""
    fingerprint = f"{BUY_NOW_FINGERPRINT_PREFIX}{attempt}"[:64]
    with transaction.atomic():
        listing = lock_listings([listing_id]).get(listing_id)  # first: two submits queue here
        existing = Order.objects.filter(buyer=buyer, cart_fingerprint=fingerprint).first()
        if existing is not None:
            return existing
        if listing is None or not Listing.objects.visible().filter(pk=listing_id).exists():
            raise NotFound("This item is not available right now.")
        if Listing.objects.filter(pk=listing_id, subscription_plan__isnull=False).exists():
            raise InvalidInput(
                "This is sold by subscription: press Subscribe on its page.", code="sold_by_subscription"
            )
        if listing.stock < 1:
            raise InvalidInput(f"“{listing.title}” is sold out.", code="out_of_stock")
        seller = listing.seller
        if seller.user_id == buyer.pk:
            raise InvalidInput("This is your own shop's listing: you cannot buy it.", code="own_listing")
        if not seller_can_sell(seller):
            raise Conflict(seller_cannot_sell_message(seller), code="seller_cannot_sell")
        if price_seen != (listing.price, listing.currency):
            raise Conflict(
                f"The price of “{listing.title}” is now {format_money(listing.price, listing.currency)}: "
                "nothing was charged. Press Buy now again to pay this price.",
                code="price_changed",
            )
        quote = fee_for(
            seller=seller,
            lines=[FeeLine(amount=listing.price, currency=listing.currency, category_id=listing.category_id)],
        )
        order = Order.objects.create(
            buyer=buyer,
            seller=seller,
            currency=listing.currency,
            amount_total=quote.amount,
            application_fee_amount=quote.fee,
            cart_fingerprint=fingerprint,
            stock_reserved=True,
            payment_method_id=payment_method,
        )
        OrderLine.objects.create(
            order=order,
            listing=listing,
            title=listing.title,
            unit_amount=listing.price,
            quantity=1,
            fee_amount=quote.lines[0].fee,
        )
        change_stock({listing.pk: -1})
        return order


def buy_now(
    *,
    buyer: Any,
    listing_id: int,
    payment_method: str,
    attempt: str,
    return_url: str,
    price_seen: tuple[int, str] | None,
) -> BuyNow:
    """Pay one unit of a listing with a saved card. `return_url` may contain `{ORDER_ID}`.

    `price_seen` is the price (minor units, currency) the page the buyer pressed Buy now on showed;
    None when it did not say. No Stripe page shows the amount before this charge, so the price the
    buyer saw is the one agreed to: a listing whose price is another now (the shop changed it, the
    page was old) is refused with its new price before anything is reserved or charged.

    The form sent again (a double click, a reload) finds its first order: settled, it is shown as it
    is; with the same card, the same PaymentIntent comes back (same idempotency key). With another
    card (a double click that changed the choice) nothing is sent to Stripe: the key has the card in
    it, so that request made a second PaymentIntent, charged while the first waited at the bank's
    check or was still on its way. The first attempt's PaymentIntent is read and applied instead (the
    bank's check again, paid, or closed); while it is still on its way (not at Stripe yet) the
    submit is refused with `OTHER_CARD` (`Conflict`).

    Raises `CardDeclined` (with the bank's reason; the order is closed and the unit released) and
    the other domain errors with a sentence for the buyer."""
    customer, pm = _own_card(buyer, payment_method)
    order = _buy_now_order(
        buyer=buyer, listing_id=listing_id, attempt=attempt, payment_method=pm.id, price_seen=price_seen
    )
    if order.status != OrderStatus.PENDING_PAYMENT:
        return BuyNow(order=order, redirect_url=None)
    if order.payment_method_id != pm.id:
        first = _intent_of(order)
        if first is None:
            card = _card(pm, None)
            raise Conflict(OTHER_CARD.format(card=card.label if card else "this card"), code="buy_now_other_card")
        return _apply(order, first)
    try:
        intent = gateway_cards.payment_intent_confirm_saved_card(
            order_id=order.pk,
            customer=customer,
            payment_method=pm.id,
            amount=order.amount_total,
            currency=order.currency,
            application_fee_amount=order.application_fee_amount,
            destination=str(order.seller.stripe_account_id),
            return_url=return_url.replace("{ORDER_ID}", str(order.pk)),
        )
    except CardDeclined as exc:
        sentence = f"{exc.message} Nothing was charged."
        _close_failed(order.pk, sentence)
        raise CardDeclined(sentence, code=exc.code) from exc
    except InvalidInput:
        _close_failed(order.pk, NOT_PAID)
        raise
    # Kept so that settling it later (the sweeper, the buyer's Cancel) is one retrieve; an order
    # without it is one whose create answer was lost, found by listing (`_intent_of`).
    Order.objects.filter(pk=order.pk, payment_intent_id="").update(payment_intent_id=intent.id)
    order.payment_intent_id = intent.id
    return _apply(order, intent)


def buy_now_settle(*, order: Order, payment_intent: str) -> Order:
    """Back from the 3-D Secure page, or a webhook about it: re-read the PaymentIntent, check it is
    this order's, and apply what Stripe says."""
    if not payment_intent.startswith("pi_"):
        raise NotFound("No such payment.")
    intent = gateway_checkout.payment_intent_retrieve(payment_intent)
    if intent.metadata.get("order_id") != str(order.pk):
        raise NotFound("No such payment.")
    return _apply(order, intent).order


def buy_now_resume(*, order: Order) -> BuyNow:
    """The buyer closed the bank's 3-D Secure page and comes back to the order: its PaymentIntent is
    read again (by the id kept at its create); still waiting on the check, `redirect_url` is the
    bank's page again, otherwise what Stripe says now is applied (paid, or closed with the reason)."""
    if not order.is_buy_now:
        raise NotFound("No such payment.")
    if order.status != OrderStatus.PENDING_PAYMENT:
        return BuyNow(order=order, redirect_url=None)
    intent = _intent_of(order)
    if intent is None:  # never created at Stripe: nothing to finish, and nothing was charged
        _close_failed(order.pk, NOT_PAID)
        order.refresh_from_db()
        return BuyNow(order=order, redirect_url=None)
    return _apply(order, intent)


def _apply(order: Order, intent: PaymentIntent) -> BuyNow:
    if intent.status == "succeeded":
        return BuyNow(order=order_mark_paid_by_intent(intent=intent) or order, redirect_url=None)
    if intent.status == "requires_action" and intent.next_action and intent.next_action.redirect_to_url:
        return BuyNow(order=order, redirect_url=intent.next_action.redirect_to_url.url)
    if intent.status in ("requires_payment_method", "canceled"):
        _close_failed(order.pk, failure_sentence(intent.last_payment_error))
    order.refresh_from_db()
    return BuyNow(order=order, redirect_url=None)


def failure_sentence(error: PaymentError | None) -> str:
    if error is not None and error.code == "payment_intent_authentication_failure":
        return AUTH_FAILED
    if error is not None and error.type == "card_error" and error.message:
        return f"{error.message} Nothing was charged."
    return NOT_PAID


def _close_failed(order_id: int, message: str, *, status: str = OrderStatus.PAYMENT_FAILED) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == OrderStatus.PENDING_PAYMENT:
            close_order(order, status, message)


def buy_now_event(*, intent: PaymentIntent) -> None:
    """`payment_intent.succeeded` / `.payment_failed` of a saved-card payment (the buyer may never
    come back from the 3-D Secure page)."""
    try:
        order_id = int(intent.metadata.get("order_id", ""))
    except ValueError:
        return
    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        buy_now_settle(order=order, payment_intent=intent.id)


def buy_now_sweep_abandoned(*, now: Any = None, limit: int = 100) -> int:
    """Beat: Buy now orders still pending after `BUY_NOW_LIFETIME` (the buyer left the 3-D Secure
    page, and no event came). Each PaymentIntent is read from Stripe: paid ones become paid, others
    are canceled at Stripe first, so that a late authentication cannot charge the card, then the
    order is closed and its unit released. Returns how many orders changed."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(
            status=OrderStatus.PENDING_PAYMENT,
            cart_fingerprint__startswith=BUY_NOW_FINGERPRINT_PREFIX,
            created_at__lt=now - BUY_NOW_LIFETIME,
        )
        .select_related("buyer")
        .order_by("created_at")[:limit]
    )
    changed = 0
    for order in due:
        try:
            _settle_abandoned(order)
        except DomainError as exc:  # Stripe down: the next run tries again
            logger.warning("buy now sweeper could not settle order %s: %s", order.pk, exc.message)
            continue
        order.refresh_from_db()
        changed += order.status != OrderStatus.PENDING_PAYMENT
    return changed


def buy_now_cancel(*, order: Order) -> Order:
    """The buyer cancels a Buy now still waiting on the bank's check (3-D Secure in another tab):
    its PaymentIntent is canceled at Stripe first, so that finishing the check afterwards cannot
    charge the card once the order says nothing was charged; one paid meanwhile makes the order
    paid instead. Stripe unreachable raises, and the order stays as it was."""
    _settle_abandoned(order, closed_as=(OrderStatus.CANCELED, BUYER_CANCELED), reason="requested_by_customer")
    order.refresh_from_db()
    return order


def _intent_of(order: Order) -> PaymentIntent | None:
    """The order's PaymentIntent at Stripe, or None when it was never made. Read by the id kept at
    its create; when that answer was lost (a timeout after Stripe made it) the id is not kept, and
    the customer's payments are listed to find it by our `order_id` metadata, so that a payment
    waiting on the bank's check is still canceled before the order says nothing was charged.
    A kept id Stripe does not know (`resource_missing`: its data was reset, another key) is a
    payment that cannot charge the card: None, or the order stayed pending for ever."""
    if order.payment_intent_id:
        try:
            return gateway_checkout.payment_intent_retrieve(order.payment_intent_id)
        except InvalidInput as exc:
            if exc.code != "resource_missing":
                raise
            logger.warning("buy now order %s: Stripe has no PaymentIntent %s", order.pk, order.payment_intent_id)
            return None
    customer = _customer_of(order.buyer)
    # made right after the order, in the same request; a margin for Stripe's clock against ours
    since = int((order.created_at - timedelta(minutes=10)).timestamp())
    intents = gateway_cards.payment_intents_of_customer(customer, created_since=since) if customer else []
    return next((i for i in intents if i.metadata.get("order_id") == str(order.pk)), None)


def _settle_abandoned(
    order: Order,
    *,
    closed_as: tuple[str, str] = (OrderStatus.PAYMENT_FAILED, ABANDONED),
    reason: str = "abandoned",
) -> None:
    """Cancel the order's unfinished PaymentIntent at Stripe (`reason`: Stripe's cancellation_reason)
    and close the order as `closed_as`; one paid meanwhile makes the order paid instead."""
    intent = _intent_of(order)
    if intent is None:  # never created at Stripe: nothing to cancel
        _close_failed(order.pk, NOT_PAID, status=closed_as[0])
        return
    if intent.status in ("requires_action", "requires_payment_method", "requires_confirmation"):
        try:
            intent = gateway_cards.payment_intent_cancel(payment_intent_id=intent.id, order_id=order.pk, reason=reason)
        except InvalidInput:  # its state changed meanwhile (the buyer finished the check): read it again
            intent = gateway_checkout.payment_intent_retrieve(intent.id)
    if intent.status == "canceled":
        _close_failed(order.pk, closed_as[1], status=closed_as[0])
    elif intent.status != "processing":  # processing: the bank answers soon, and its event settles it
        _apply(order, intent)
