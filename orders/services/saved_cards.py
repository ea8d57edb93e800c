"""Saved cards and one-click buying ("Buy now with Visa ending 4242").

- *Saving* goes through Stripe's hosted page in `mode=setup`; the card lands on the buyer's
  Customer, and the first one saved becomes the default (`invoice_settings.default_payment_method`).
  A card saved by subscribing has no such step: reading cards with no default makes the first one
  the default (`_first_card_made_default`).
- *One row per card*: Stripe saves a card again as a new PaymentMethod on every Checkout (each
  subscription started saves it once more), so the PaymentMethods are grouped by `card.fingerprint`,
  which is the same for the same card number. Removing a card removes all of its PaymentMethods.
- *The cards pay the subscriptions*: Checkout in subscription mode gives each subscription its own
  `default_payment_method` (the card paid with), which wins over the customer's default. So making
  a card the default also moves the buyer's live subscriptions to it, and removing a card that pays
  one moves it to the card left as the default first; with no other card to pay it the removal is
  refused with a sentence. The cards page says which subscriptions each card pays for.
- *Buying* makes an order of the quantity in the listing page's box, its units reserved and its
  fee snapshotted, like a cart checkout, then the server creates and confirms a PaymentIntent
  with the saved card for price times quantity: a destination charge with our fee. Paid at once,
  or after the 3-D Secure page (the buyer comes back to `return_url`), or by
  `payment_intent.succeeded`: all three settle through `order_mark_paid_by_intent`, the same
  single paid path (payment, ledger, emails) as Checkout.
- A decline or a failed authentication closes the order with the reason, releases the units and
  leaves the cart alone. A Buy now left at the 3-D Secure page is canceled at Stripe after
  `BUY_NOW_LIFETIME` (`buy_now_sweep_abandoned`, from the orders sweeper), then closed the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Listing
from catalog.services import check_quantity
from marketplace.errors import CardDeclined, Conflict, DomainError, InvalidInput, NotFound
from marketplace.gateway import cards as gateway_cards
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import subscriptions as gateway_subscriptions
from marketplace.gateway.types import CheckoutSession, PaymentError, PaymentIntent, PaymentMethod
from marketplace.gateway.types import Subscription as StripeSubscription
from marketplace.money import format_money
from orders.models import BUY_NOW_FINGERPRINT_PREFIX, Order, OrderStatus, StripeCustomer
from orders.services._stock import close_order, lock_listings, order_create_reserving
from orders.services.checkout import buyer_customer_ensure, buyer_customer_of, raise_if_shop_refused
from orders.services.payment_state import order_mark_paid_by_intent
from sellers.selectors import seller_can_sell, seller_cannot_sell_message
from subscriptions.models import LIVE_STATUSES, Subscription, SubscriptionStatus

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
    """One card, however many times Stripe saved it. `id` is the PaymentMethod that stands for it
    (the default when it is one of them, else the newest): the one "Buy now" charges and the forms
    name. `payment_methods` are all of them (one `card.fingerprint`); `pays_for` the titles of the
    live subscriptions whose renewals charge this card; `takes_subscriptions` says, on the default,
    that some live subscription is paid by another card (the page offers to move them here)."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool
    payment_methods: tuple[str, ...] = ()
    pays_for: tuple[str, ...] = ()
    takes_subscriptions: bool = False

    @property
    def label(self) -> str:
        """How a person names the card: "Visa ending 4242"."""
        brand = {"amex": "American Express", "mastercard": "Mastercard"}.get(self.brand, self.brand.title())
        return f"{brand} ending {self.last4}"


@dataclass(frozen=True)
class CardChange:
    """A card made the default or removed, and the sentence that tells the buyer what changed
    (which subscriptions it moved, to which card)."""

    card: SavedCard
    message: str


@dataclass(frozen=True)
class BuyNow:
    order: Order
    redirect_url: str | None  # the 3-D Secure page, when the bank asks for it
    again: bool = False  # the form sent before (a double click, Back): its first order, not a new one


def _customer_of(user: Any) -> str | None:
    return buyer_customer_of(user=user)


def _card(pm: PaymentMethod, default: str | None) -> SavedCard | None:
    if pm.card is None:
        return None
    return SavedCard(
        pm.id, pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year, pm.id == default, (pm.id,)
    )


def _same_card(pm: PaymentMethod) -> str:
    """What tells one card from another: its fingerprint (the card number's), else its own id."""
    return (pm.card.fingerprint if pm.card else None) or pm.id


def _grouped(methods: list[PaymentMethod], default: str | None) -> list[SavedCard]:
    """One SavedCard per card, in Stripe's order (newest first), the default first."""
    groups: dict[str, list[PaymentMethod]] = {}
    for pm in methods:
        if pm.card is not None:
            groups.setdefault(_same_card(pm), []).append(pm)
    cards = []
    for same in groups.values():
        ids = tuple(pm.id for pm in same)
        shown = _card(next((pm for pm in same if pm.id == default), same[0]), default)
        assert shown is not None
        cards.append(replace(shown, is_default=default in ids, payment_methods=ids))
    cards.sort(key=lambda c: not c.is_default)
    return cards


def saved_cards_for(*, user: Any) -> list[SavedCard]:
    """The buyer's saved cards, one per card, the default first, each with the live subscriptions it
    pays for, as Stripe has them now; no Stripe call for a buyer who never paid."""
    customer = _customer_of(user)
    if customer is None:
        return []
    default, cards = _default_and_cards(customer)
    paid = _live_subscriptions(customer)
    if not paid:
        return cards
    titles = _titles(paid)
    charged = {sub.id: _charged_card(sub, default) for sub in paid}
    cards = [
        replace(card, pays_for=tuple(sorted(titles[s] for s, pm in charged.items() if pm in card.payment_methods)))
        for card in cards
    ]
    return [
        replace(c, takes_subscriptions=c.is_default and any(o.pays_for for o in cards if o is not c)) for c in cards
    ]


def _cards_of(customer: str) -> list[SavedCard]:
    return _default_and_cards(customer)[1]


def _default_and_cards(customer: str) -> tuple[str | None, list[SavedCard]]:
    default = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
    methods = gateway_cards.payment_methods_list(customer=customer)
    if default is None and any(pm.card is not None for pm in methods):
        default = _first_card_made_default(customer, methods)
    cards = _grouped(methods, default)
    cache.set(_offer_key(customer), (cards[0] if cards else None,), BUY_NOW_CARD_SECONDS)
    return default, cards


def _first_card_made_default(customer: str, methods: list[PaymentMethod]) -> str | None:
    """Cards but no default: they came from subscribing (Checkout in subscription mode sets the
    subscription's card, not the customer's default), or the default was removed elsewhere. The
    first card saved becomes the default, as the first one saved on the cards page does
    (`_card_saved`), so the page never shows a buyer's only card as not their default. Done here,
    where the cards page and a listing's "Buy now" read the cards, not in the webhook worker: a
    change and a read, once per customer left with no default, instead of calls on every
    subscription's checkout event.

    Keyed by the count of the buyer's card changes (`_card_changes`), read before the customer is
    read again: two pages read at once send one change, and the same state come back later (the
    default made here, another card made the default and removed in the Dashboard) is a new key,
    not a replay of the first answer. Stripe unreachable leaves the page as it was (no default),
    to try again next time."""
    cards = [pm for pm in methods if pm.card is not None]
    first = _grouped(cards, None)[-1].id  # Stripe lists them newest first; the card's newest PaymentMethod
    try:
        count = _card_changes(customer)
        now = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
        if now is None:
            made = gateway_cards.customer_default_payment_method_set(
                customer=customer, payment_method=first, replacing=None, change=f"no-default:{count}"
            )
            _card_changes_counted(customer)
            now = made.invoice_settings.default_payment_method
    except DomainError as exc:
        logger.warning("could not make %s the default card of %s: %s", first, customer, exc.message)
        return None
    return now


def _card_changes(customer: str) -> int:
    """How many changes to the buyer's cards Stripe made (`StripeCustomer.card_changes`), for the
    keys of the next ones. Read before Stripe's state is: a second post that finds the count moved
    also finds the first post's changes made, and sends nothing; one that finds it not moved sends
    the first's requests again under their keys, and Stripe replays them."""
    row = StripeCustomer.objects.filter(stripe_customer_id=customer).values_list("card_changes", flat=True).first()
    return row or 0


def _card_changes_counted(customer: str) -> None:
    """One more change to the buyer's cards: the keys of the next ones are new."""
    StripeCustomer.objects.filter(stripe_customer_id=customer).update(card_changes=F("card_changes") + 1)


def _live_subscriptions(customer: str, *, ending: bool = False) -> list[StripeSubscription]:
    """The customer's subscriptions Stripe still charges (active, past due, trialing), as Stripe has them.

    One ending at its period end (canceled in Stripe's portal, or ended by the shop) charges nothing
    more unless it is past due (its open invoice is retried): it is left out, so its card is not said
    to pay for it and removing that card is not refused for it ("cancel them": done already), unless
    `ending` asks for it too (a removal moves it along, in case it is renewed before it ends)."""
    return [
        s
        for s in gateway_subscriptions.subscriptions_of_customer(customer)
        if s.status in LIVE_STATUSES and (ending or _charges_again(s))
    ]


def _charges_again(sub: StripeSubscription) -> bool:
    return not sub.cancel_at_period_end or sub.status == SubscriptionStatus.PAST_DUE


def _charged_card(sub: StripeSubscription, default: str | None) -> str | None:
    """The PaymentMethod the subscription's next invoice charges: its own, else the customer's default."""
    return sub.default_payment_method or default


def _titles(subs: list[StripeSubscription]) -> dict[str, str]:
    """What the buyer calls each subscription: its title here, or, before its first event is
    mirrored, its listing's (from Stripe's metadata); two queries at most."""
    titles = dict(
        Subscription.objects.filter(stripe_subscription_id__in=[s.id for s in subs]).values_list(
            "stripe_subscription_id", "title"
        )
    )
    listing_ids = {s.id: _listing_pk(s.metadata.get("listing_id", "")) for s in subs if s.id not in titles}
    wanted = [pk for pk in listing_ids.values() if pk is not None]
    listings = dict(Listing.objects.filter(pk__in=wanted).values_list("pk", "title")) if wanted else {}
    for sub_id, pk in listing_ids.items():
        titles[sub_id] = listings.get(pk, "a subscription") if pk is not None else "a subscription"
    return titles


def _listing_pk(raw: str) -> int | None:
    """A listing id from Stripe's metadata, which anyone with the Dashboard can edit: only decimal
    digits within a primary key's range ("²" is a digit to `isdigit`, and 25 digits overflow bigint)."""
    if not raw.isdecimal() or len(raw) > 18:
        return None
    return int(raw)


def _and(titles: list[str] | tuple[str, ...]) -> str:
    """ "Beans", "Beans and Coffee box", "Beans, Coffee box and Tea"."""
    ordered = sorted(titles)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} and {ordered[-1]}"


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
    has none yet. Re-reads the session (never trusts the query string) and checks it is theirs.

    Returned as its row on the cards page: a card saved again (Stripe makes it another PaymentMethod)
    comes back with its earlier copies in `payment_methods`, so the page can say it was saved already
    and is listed once, and `is_default` is the row's."""
    customer = _customer_of(user)
    if customer is None:
        raise NotFound("No such card setup.")
    try:
        session = gateway_cards.setup_session_retrieve(session_id)
    except InvalidInput:
        raise NotFound("No such card setup.") from None
    if session.mode != "setup" or session.customer != customer:
        raise NotFound("No such card setup.")
    saved = _card_saved(customer, session)
    if saved is None:
        return None
    row = next((c for c in _cards_of(customer) if saved.id in c.payment_methods), None)
    return row or saved


def saved_card_setup_completed(*, session_id: str) -> None:
    """`checkout.session.completed` of a setup page of ours: what coming back to it does (a first
    card becomes the default), for the buyer who closed the tab instead."""
    session = gateway_cards.setup_session_retrieve(session_id)
    if session.mode == "setup" and session.metadata.get("user_id") and isinstance(session.customer, str):
        _card_saved(session.customer, session)


def _card_saved(customer: str, session: CheckoutSession) -> SavedCard | None:
    """The card a completed setup session saved on `customer`, made the default when there is none
    (the key is the same from the return page and the event, the count of card changes with it:
    one change)."""
    seti = session.setup_intent
    if isinstance(seti, str) or seti is None or seti.status != "succeeded" or not seti.payment_method:
        return None
    buyer_cards_changed(customer=customer)
    count = _card_changes(customer)
    current = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
    if current is None:
        gateway_cards.customer_default_payment_method_set(
            customer=customer, payment_method=seti.payment_method, replacing=None, change=f"no-default:{count}"
        )
        _card_changes_counted(customer)
        current = seti.payment_method
    return _card(gateway_cards.payment_method_retrieve(seti.payment_method), current)


CARD_GONE = "That card is no longer saved on your account."


def _own_card(user: Any, payment_method: str) -> tuple[str, PaymentMethod]:
    """The buyer's Customer and the card, which must be theirs now. A card removed meanwhile (Remove
    clicked twice, a page left open in another tab) and another buyer's card get the same sentence
    (`CARD_GONE`, a `NotFound`), so the answer tells nothing about anyone else's cards."""
    customer = _customer_of(user)
    if customer is None or not payment_method.startswith("pm_"):
        raise NotFound(CARD_GONE)
    try:
        pm = gateway_cards.payment_method_retrieve(payment_method)
    except InvalidInput:
        pm = None
    if pm is None or pm.customer != customer:
        # e.g. a "Buy now" offer of a card removed elsewhere: ask Stripe next time
        buyer_cards_changed(customer=customer)
        raise NotFound(CARD_GONE)
    return customer, pm


def _methods_of_card(customer: str, pm: PaymentMethod) -> tuple[list[PaymentMethod], set[str]]:
    """The customer's PaymentMethods (newest first) and the ids of those that are `pm`'s card."""
    methods = [m for m in gateway_cards.payment_methods_list(customer=customer) if m.card is not None]
    same = {m.id for m in methods if _same_card(m) == _same_card(pm)} | {pm.id}
    return methods, same


def saved_card_make_default(*, user: Any, payment_method: str, attempt: str) -> CardChange:
    """Make the card the default, and the card of the buyer's live subscriptions: each one charging
    another card is moved to it first (`subscriptions.update(default_payment_method=...)`, since a
    subscription's own card wins over the customer's default), then the customer's default changes.
    In that order, a move Stripe refuses or cannot take leaves the card not yet the default, so the
    same button is there to finish it; one already moved is not sent again.

    Each Stripe key holds `attempt` (the cards page's visit, its form's token) and the count of the
    buyer's card changes (`_card_changes`), counted once this change is through: the form sent twice
    is one change at Stripe, while Mastercard, Visa and Mastercard again from one visit are three.
    A change Stripe failed before making any of it is not counted, so its retry sends the same keys."""
    customer, pm = _own_card(user, payment_method)
    change = f"default-card:{attempt}:{_card_changes(customer)}"
    made = done = False
    try:
        current = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
        methods, same = _methods_of_card(customer, pm)
        moved = []
        paid = _live_subscriptions(customer)
        titles = _titles(paid) if paid else {}
        for sub in paid:
            if _charged_card(sub, current) in same:
                continue
            if sub.default_payment_method is not None:
                gateway_subscriptions.subscription_default_payment_method_set(
                    subscription_id=sub.id, payment_method=pm.id, replacing=sub.default_payment_method, change=change
                )
                made = True
            moved.append(titles[sub.id])  # one without its own card follows the customer's default, below
        if current != pm.id:
            gateway_cards.customer_default_payment_method_set(
                customer=customer, payment_method=pm.id, replacing=current, change=change
            )
        done = True
    finally:
        # Counted unless Stripe failed before making any of it (its retry sends the same keys); also
        # when nothing was left to do, as Stripe may have made it under these keys, its answer lost.
        if made or done:
            _card_changes_counted(customer)
    buyer_cards_changed(customer=customer)
    card = _card(pm, pm.id)
    assert card is not None
    card = replace(card, payment_methods=tuple(m.id for m in methods if m.id in same))
    if moved and current in same:  # the default's "Pay my subscriptions with ...": it was the default already
        message = f"{card.label} now pays for {_and(moved)} too."
    else:
        message = f"{card.label} is now your default card."
        if moved:
            message += f" It now pays for {_and(moved)} too."
    return CardChange(card=card, message=message)


def saved_card_remove(*, user: Any, payment_method: str) -> CardChange:
    """Remove the card: every PaymentMethod of it (Stripe may hold it several times, one per Checkout).

    A buyer expects their subscriptions to go on being charged on a card they still have. So the live
    subscriptions this card pays are moved first to the card that will be the default: the default,
    or when this card is the default, the newest card left, made the default (Stripe would clear the
    default on detach, and the page names the card "Buy now" offers and renewals charge). Only then is
    the card detached. With no other card to pay them, nothing is removed and the buyer is told why
    (`Conflict`); one ending at its period end never stops a removal (it charges nothing more), and
    is moved too when there is a card to move it to. Each step is keyed by the card removed, which
    goes once: a retry after a failure finds what was done and does the rest."""
    customer, pm = _own_card(user, payment_method)
    default = gateway_cards.customer_retrieve(customer).invoice_settings.default_payment_method
    methods, same = _methods_of_card(customer, pm)
    card = _card(pm, default)
    assert card is not None
    left = [m for m in methods if m.id not in same]
    paid = [s for s in _live_subscriptions(customer, ending=True) if _charged_card(s, default) in same]
    titles = _titles(paid) if paid else {}
    paying = [titles[s.id] for s in paid if _charges_again(s)]
    if paying and not left:
        them = "it" if len(paying) == 1 else "them"
        raise Conflict(
            f"{card.label} pays for your subscription{'s' if len(paying) > 1 else ''} to {_and(paying)}, and you "
            f"have no other card to pay {them} with: add another card first, or cancel {them} under Your "
            "subscriptions. Nothing was removed.",
            code="card_pays_subscriptions",
        )
    new_default = left[0] if default in same and left else None  # Stripe lists them newest first
    target = new_default or next((m for m in left if m.id == default), left[0] if left else None)
    for sub in paid:
        if target is not None and sub.default_payment_method in same:
            gateway_subscriptions.subscription_default_payment_method_set(
                subscription_id=sub.id,
                payment_method=target.id,
                replacing=sub.default_payment_method,
                change=f"card-removed:{pm.id}",
            )
    if new_default is not None:
        gateway_cards.customer_default_payment_method_set(
            customer=customer, payment_method=new_default.id, replacing=default, change=f"card-removed:{pm.id}"
        )
    for m in [m for m in methods if m.id in same] or [pm]:
        try:
            gateway_cards.payment_method_detach(payment_method=m.id)
        except InvalidInput:  # detached meanwhile (another tab, the Dashboard): gone is what was asked
            logger.info("payment method %s was already detached", m.id)
    buyer_cards_changed(customer=customer)
    message = f"Removed {card.label}."
    target_card = _card(target, None) if target is not None else None
    if paying and target_card is not None:
        message += f" {_and(paying)} {'is' if len(paying) == 1 else 'are'} now paid with {target_card.label}"
        message += ", now your default card." if new_default is not None else "."
    elif new_default is not None and target_card is not None:
        message += f" {target_card.label} is now your default card."
    return CardChange(card=card, message=message)


def default_card_for(*, user: Any) -> SavedCard | None:
    """The card "Buy now" pays with: the default, else the newest saved one.

    Every listing page a signed-in buyer with a Stripe Customer opens asks this, and asking Stripe
    is two calls, so the answer is remembered for `BUY_NOW_CARD_SECONDS`: forgotten at once when the
    buyer saves, removes or picks a default card here, when Stripe's event says the cards changed
    elsewhere (a card saved by a Checkout payment, removed or made default in the Dashboard), and
    refreshed by the cards page. "Buy now" with a card removed elsewhere before its event came is
    refused (`CARD_GONE`) and forgets the offer, and the buyer pays through the cart."""
    customer = _customer_of(user)
    if customer is None:
        return None
    remembered = cache.get(_offer_key(customer))
    if remembered is not None:
        return remembered[0]
    cards = _cards_of(customer)
    return cards[0] if cards else None


def _buy_now_order(
    *,
    buyer: Any,
    listing_id: int,
    quantity: int,
    attempt: str,
    payment_method: str,
    price_seen: tuple[int, str] | None,
) -> tuple[Order, bool]:
    """An order of `quantity` units with them reserved and its fee snapshotted as a cart
    checkout's is (on price times quantity), to be paid with `payment_method`. `attempt` (a token of
    the form) and the quantity make a double submit find the first order, and its card, instead of
    paying twice (True with it: found, not made); the same page sent with another quantity is
    another purchase, not the first one's payment. `price_seen` must be the listing's price now
    (see `buy_now`)."""
    fingerprint = f"{BUY_NOW_FINGERPRINT_PREFIX}{attempt[:40]}:{quantity}"[:64]
    with transaction.atomic():
        listing = lock_listings([listing_id]).get(listing_id)  # first: two submits queue here
        existing = Order.objects.filter(buyer=buyer, cart_fingerprint=fingerprint).first()
        if existing is not None:
            return existing, True
        if listing is None or not Listing.objects.visible().filter(pk=listing_id).exists():
            raise NotFound("This item is not available right now.")
        if Listing.objects.filter(pk=listing_id, subscription_plan__isnull=False).exists():
            raise InvalidInput(
                "This is sold by subscription: press Subscribe on its page.", code="sold_by_subscription"
            )
        if listing.stock < 1:
            raise InvalidInput(f"“{listing.title}” is sold out.", code="out_of_stock")
        check_quantity(quantity, listing)
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
        order, _ = order_create_reserving(
            buyer=buyer,
            seller=seller,
            currency=listing.currency,
            quantities={listing.pk: quantity},
            locked={listing.pk: listing},
            cart_fingerprint=fingerprint,
            payment_method_id=payment_method,
        )
        return order, False


def buy_now(
    *,
    buyer: Any,
    listing_id: int,
    payment_method: str,
    attempt: str,
    return_url: str,
    price_seen: tuple[int, str] | None,
    quantity: int = 1,
) -> BuyNow:
    """Pay `quantity` units of a listing (the page's quantity box; 1 to its stock, else refused
    with a sentence before anything is reserved or charged) with a saved card: price times quantity.
    `return_url` may contain `{ORDER_ID}`.

    `price_seen` is the price (minor units, currency) the page the buyer pressed Buy now on showed;
    None when it did not say. No Stripe page shows the amount before this charge, so the price the
    buyer saw is the one agreed to: a listing whose price is another now (the shop changed it, the
    page was old) is refused with its new price before anything is reserved or charged.

    The form sent again (a double click, a reload) with the same quantity finds its first order:
    settled, it is shown as it is; with the same card, the same PaymentIntent comes back (same
    idempotency key: it is the order's, and the order is the quantity's). With another card (a
    double click that changed the choice) nothing is sent to Stripe: the key has the card in it,
    so that request made a second PaymentIntent, charged while the first waited at the bank's
    check or was still on its way. The first attempt's PaymentIntent is read and applied instead (the
    bank's check again, paid, or closed); while it is still on its way (not at Stripe yet) the
    submit is refused with `OTHER_CARD` (`Conflict`).

    Raises `CardDeclined` (with the bank's reason; the order is closed and the units released) and
    the other domain errors with a sentence for the buyer."""
    customer, pm = _own_card(buyer, payment_method)
    order, again = _buy_now_order(
        buyer=buyer,
        listing_id=listing_id,
        quantity=quantity,
        attempt=attempt,
        payment_method=pm.id,
        price_seen=price_seen,
    )
    return replace(_buy_now_pay(order, customer, pm, return_url), again=again)


def _buy_now_pay(order: Order, customer: str, pm: PaymentMethod, return_url: str) -> BuyNow:
    """`buy_now` once its order is there: shown as it is when settled, else paid (see `buy_now`)."""
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
    except InvalidInput as exc:
        _close_failed(order.pk, NOT_PAID)
        raise_if_shop_refused(exc, order.seller)
        raise
    # Kept so that settling it later (the sweeper, the buyer's Cancel) is one retrieve; an order
    # without it is one whose create answer was lost, found by listing (`_intent_of`).
    Order.objects.filter(pk=order.pk, payment_intent_id="").update(payment_intent_id=intent.id)
    order.payment_intent_id = intent.id
    return _apply(order, intent)


def buy_now_settle(*, order: Order, payment_intent: str) -> Order:
    """Back from the 3-D Secure page, or a webhook about it: re-read the PaymentIntent, check it is
    this order's, and apply what Stripe says. One Stripe does not know is not found: Stripe's
    sentence repeats the id, which comes from the address, so a made-up link put its words on our page."""
    if not payment_intent.startswith("pi_"):
        raise NotFound("No such payment.")
    try:
        intent = gateway_checkout.payment_intent_retrieve(payment_intent)
    except InvalidInput:
        raise NotFound("No such payment.") from None
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
    order is closed and its units released. Returns how many orders changed."""
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
