"""Checkout: a cart group becomes an order with reserved stock and one Checkout Session.

- *One session per order*: `checkout_start` locks the buyer's cart, reuses the pending order whose
  contents match the cart (`cart_fingerprint`), and creates its session with an idempotency key
  from the order id and the request's parameters, so a double click gives one session; a changed
  cart gives a new order (the old one is canceled and its stock released) and so a new key.
- *No overselling*: stock is reserved when the session is created, with `select_for_update` on the
  listings in id order (so two checkouts never deadlock), and released when the session expires
  (webhook or the sweeper), the buyer cancels, or the payment fails (`payment_state`).
- *Nothing lost*: the calls that close replaced sessions at Stripe are outbox rows written with the
  change (`marketplace.outbox`), so a broker outage delays them and never loses them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Cart
from catalog.selectors import CartGroup, cart_view
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentProviderError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.outbox.services import outbox_add
from marketplace.sessions import STRIPE_CUSTOMER_ID
from orders.models import BUY_NOW_FINGERPRINT_PREFIX, Order, OrderLine, OrderStatus, StripeCustomer
from orders.services._stock import close_order, lock_listings, order_create_reserving
from sellers.models import Seller
from sellers.selectors import seller_can_sell, seller_cannot_sell_message
from sellers.services import seller_refresh_from_stripe

logger = logging.getLogger(__name__)

# Stripe refuses `expires_at` under 30 minutes from creation; the margin absorbs the request's
# travel time and clock skew, so "30 minutes" is never refused as 29:59.
CHECKOUT_LIFETIME = timedelta(minutes=30)
EXPIRES_AT_MARGIN = timedelta(seconds=60)
# Stripe's code when a payment's destination account may not receive it (its `transfers` capability off).
DESTINATION_REFUSED = "insufficient_capabilities_for_transfer"
CHECKOUT_UNREACHABLE = "Our payment provider could not be reached. Nothing was charged; please try again in a moment."


def checkout_not_started(exc: PaymentProviderError) -> PaymentProviderError:
    """What the buyer reads when Stripe gave no payment page: that nothing was charged, and why (an
    outage, or Stripe's answer: a refused key or account, a repeated request), not always "could not
    be reached"."""
    if exc.code == PaymentProviderError.code:  # the gateway's "could not be reached"
        return PaymentProviderError(CHECKOUT_UNREACHABLE, code=exc.code)
    return PaymentProviderError(f"{exc.message} Nothing was charged.", code=exc.code)


@dataclass(frozen=True)
class CheckoutStart:
    order: Order
    url: str


_UNKNOWN = object()


def buyer_customer_of(*, user: Any) -> str | None:
    """The buyer's Stripe Customer id, None for a buyer who never paid. A user that came with the
    request's session carries it, read in the same statement (`marketplace.sessions`): no query then;
    `buyer_customer_ensure`, the only writer, updates it when it makes the row."""
    known = getattr(user, STRIPE_CUSTOMER_ID, _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    return StripeCustomer.objects.filter(user=user).values_list("stripe_customer_id", flat=True).first()


def buyer_customer_ensure(*, user: Any) -> str:
    """The buyer's Stripe Customer id, created on first checkout (the key is the user id, so two
    concurrent first checkouts get the same Customer and the unique row settles who stores it)."""
    existing = buyer_customer_of(user=user)
    if existing:
        return existing
    customer = gateway_checkout.customer_create(user_id=user.pk, email=user.email)
    row, _ = StripeCustomer.objects.get_or_create(user=user, defaults={"stripe_customer_id": customer.id})
    setattr(user, STRIPE_CUSTOMER_ID, row.stripe_customer_id)
    return row.stripe_customer_id


def _group_of(cart: Cart | None, seller_id: int, currency: str) -> CartGroup:
    """The cart's group of this seller and currency, read with the cart's row lock (the caller's
    transaction): one checkout per cart at a time, and the lines are the ones it pays."""
    view = cart_view(cart=cart, lock=True)
    for group in view.groups:
        if group.seller.pk == seller_id and group.currency == currency.lower():
            return group
    raise NotFound("Nothing from this shop is in your cart.", code="cart_group_not_found")


def _fingerprint(items: Iterable[tuple[int, int, int]]) -> str:
    raw = ";".join(f"{listing}:{qty}:{price}" for listing, qty, price in sorted(items))
    return hashlib.sha256(raw.encode()).hexdigest()


def _expire_session_later(order: Order) -> None:
    """Close the order's open session at Stripe once our change commits, so nobody pays a replaced
    order: an outbox row, so neither a Stripe nor a broker outage delays the buyer's page, and the
    call is retried until Stripe answers. If the buyer pays first, the payment reaches
    `order_mark_paid`, which re-reserves the stock or refunds."""
    if order.checkout_session_id:
        outbox_add(
            "orders.checkout_session_expire",
            order.pk,
            order.checkout_session_id,
            key=f"checkout-session-expire:{order.checkout_session_id}",
        )


def order_session_expire(*, order_id: int, session_id: str) -> None:
    """Expire one session at Stripe (the follow-up of `_expire_session_later`). Stripe refusing
    because the session is not open any more (paid or expired meanwhile) is the end of it; Stripe
    unreachable raises, and the outbox tries again later."""
    try:
        gateway_checkout.checkout_session_expire(session_id=session_id, order_id=order_id)
    except InvalidInput as exc:
        logger.info("session %s of order %s was not open any more: %s", session_id, order_id, exc.message)


def _order_for_checkout(*, buyer: Any, group: CartGroup) -> tuple[Order, list[OrderLine]]:
    """Reuse the pending order matching the cart group, or create one and reserve its stock; with the
    order's lines (read with a reused order, kept from the INSERT for a new one). The caller's
    transaction holds the cart's lock (`_group_of`). A "Buy now" waiting on the bank's check is a
    purchase of its own, not the cart's: neither reused nor replaced."""
    pending = list(
        Order.objects.select_for_update()
        .filter(buyer=buyer, seller_id=group.seller.pk, currency=group.currency, status=OrderStatus.PENDING_PAYMENT)
        .exclude(cart_fingerprint__startswith=BUY_NOW_FINGERPRINT_PREFIX)
        .prefetch_related("lines")
    )
    listing_ids = [line.listing.pk for line in group.lines]
    stale_ids = [line.listing_id for o in pending for line in o.lines.all()]
    locked = lock_listings([*listing_ids, *stale_ids])
    quantities = {line.listing.pk: line.quantity for line in group.lines}
    fingerprint = _fingerprint((pk, qty, locked[pk].price) for pk, qty in quantities.items())
    now = timezone.now()
    for order in pending:
        fresh = order.checkout_expires_at is None or order.checkout_expires_at > now + timedelta(minutes=2)
        if order.cart_fingerprint == fingerprint and fresh:
            return order, list(order.lines.all())
        _expire_session_later(order)
        close_order(order, OrderStatus.CANCELED, "Replaced by a newer checkout of your cart.", locked=locked)
    for pk in listing_ids:
        listing = locked[pk]
        if listing.stock < quantities[pk]:
            left = f"only {listing.stock} left" if listing.stock else "it is sold out"
            raise InvalidInput(
                f"“{listing.title}”: {left}. Your cart is unchanged; adjust it and try again.", code="out_of_stock"
            )
    return order_create_reserving(
        buyer=buyer,
        seller=group.seller,
        currency=group.currency,
        quantities=quantities,
        locked=locked,
        cart_fingerprint=fingerprint,
    )


def raise_if_shop_refused(exc: DomainError, seller: Seller) -> None:
    """Stripe refusing the payment's destination (`exc`) means the shop can no longer take payments
    although our row says it can (its `account.updated` late or lost): the row is read again from Stripe,
    which hides its listings now, and the buyer reads the shop's sentence (a `Conflict`), not Stripe's
    "Your destination account needs to have at least one of the following capabilities"."""
    if exc.code == DESTINATION_REFUSED:
        seller_refresh_from_stripe(seller=seller)
        raise Conflict(seller_cannot_sell_message(seller), code="seller_cannot_sell") from exc


def checkout_start(
    *, buyer: Any, cart: Cart | None, seller_id: int, currency: str, success_url: str, cancel_url: str
) -> CheckoutStart:
    """Turn one seller's group of the cart into an order with reserved stock and a Checkout Session.

    `success_url` must contain `{CHECKOUT_SESSION_ID}`; `cancel_url` may contain `{ORDER_ID}`.
    Refuses items of a seller who cannot take charges, unavailable items, short stock and a total
    over the largest amount Stripe charges at once (each price is capped, a quantity of them is
    not), with a sentence for the buyer; the cart itself is never changed here (only payment
    empties it).
    """
    if cart is None:
        raise NotFound("Your cart is empty.", code="cart_empty")
    with transaction.atomic():
        group = _group_of(cart, seller_id, currency)  # locks the cart: see there
        if not seller_can_sell(group.seller):
            raise Conflict(seller_cannot_sell_message(group.seller), code="seller_cannot_sell")
        problems = [f"“{line.listing.title}”: {line.problem}" for line in group.lines if not line.ok]
        if problems or not group.lines:
            raise InvalidInput(" ".join(problems) or "Nothing to pay.", code="cart_not_payable")
        if group.too_large:
            raise InvalidInput(group.too_large, code="cart_not_payable")
        order, lines = _order_for_checkout(buyer=buyer, group=group)
    if order.checkout_session_id and order.checkout_url:
        return CheckoutStart(order=order, url=order.checkout_url)
    try:
        customer = buyer_customer_ensure(user=buyer)
        expires = timezone.now() + CHECKOUT_LIFETIME + EXPIRES_AT_MARGIN
        session = gateway_checkout.checkout_session_create(
            order_id=order.pk,
            customer=customer,
            currency=order.currency,
            lines=[
                gateway_checkout.LineItem(name=line.title, unit_amount=line.unit_amount, quantity=line.quantity)
                for line in lines
            ],
            application_fee_amount=order.application_fee_amount,
            destination=str(group.seller.stripe_account_id),
            success_url=success_url,
            cancel_url=cancel_url.replace("{ORDER_ID}", str(order.pk)),
            expires_at=int(expires.timestamp()),
        )
    except DomainError as exc:
        # No payment page was given out, so nothing can have been charged, whatever Stripe did.
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if locked.status == OrderStatus.PENDING_PAYMENT and not locked.checkout_session_id:
                close_order(locked, OrderStatus.CANCELED, "We could not start the payment. Nothing was charged.")
        if isinstance(exc, PaymentProviderError):
            raise checkout_not_started(exc) from exc
        raise_if_shop_refused(exc, group.seller)
        raise
    expires_at = datetime.fromtimestamp(session.expires_at, tz=UTC)
    stored = Order.objects.filter(pk=order.pk, checkout_session_id__isnull=True).update(
        checkout_session_id=session.id, checkout_url=session.url or "", checkout_expires_at=expires_at
    )
    if stored:
        order.checkout_session_id, order.checkout_url = session.id, session.url or ""
        order.checkout_expires_at = expires_at
    else:
        order.refresh_from_db()  # a concurrent request stored its session first: give out that one
    return CheckoutStart(order=order, url=order.checkout_url or session.url or "")
