"""A cart with several shops paid once: one Checkout Session for a `CheckoutGroup` of orders, then one
transfer per seller order (separate charges and transfers, `../shared/stripe-reference/connect-behaviour.md` §f).

- *One payment per currency*: the cart's items in one currency from several shops become one order
  per shop, grouped, and one session on the platform with `transfer_group` = the group's. A
  currency with one shop stays a destination charge (`checkout.checkout_start`); two currencies are
  two payments, and the pages say so.
- *Same rules as one shop*: the buyer's cart is locked, a pending group whose contents match is
  reused (a double click gives one session), a changed cart cancels the stale orders (their
  sessions closed through the outbox) and reserves stock anew under row locks in id order.
- *Each seller's share once*: when the payment is recorded (`payment_state`), every paid order of
  the group gets an outbox row that sends its transfer (`order_transfer_to_seller`): the order's
  total less its fee, from the charge (`source_transaction`), with an idempotency key from the
  order, recorded and posted by `payouts.services.transfer_record`. What is not transferred is the
  platform's fee; a shop whose part cannot be delivered gets no transfer and the buyer gets that
  part back (`payment_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Cart, Listing
from catalog.selectors import CartGroup, CartPayment, cart_view
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentProviderError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import transfers as gateway_transfers
from marketplace.outbox.services import outbox_add, outbox_retry
from orders.models import BUY_NOW_FINGERPRINT_PREFIX, PAID_STATUSES, CheckoutGroup, Order, OrderStatus
from orders.services._stock import close_order, lock_listings, order_create_reserving
from orders.services.checkout import (
    CHECKOUT_LIFETIME,
    EXPIRES_AT_MARGIN,
    _expire_session_later,
    _fingerprint,
    buyer_customer_ensure,
    checkout_not_started,
    checkout_start,
)
from payouts.services import transfer_record
from sellers.selectors import seller_can_sell, seller_cannot_sell_message

REPLACED = "Replaced by a newer checkout of your cart."
NOT_STARTED = "We could not start the payment. Nothing was charged."


@dataclass(frozen=True)
class CartCheckoutStart:
    """Where to send the buyer, and the orders that one payment pays (one, or one per shop)."""

    orders: list[Order]
    url: str
    group: CheckoutGroup | None = None


def checkout_start_cart(
    *, buyer: Any, cart: Cart | None, currency: str, success_url: str, cancel_url: str
) -> CartCheckoutStart:
    """Pay everything in the cart priced in `currency` at once: one shop, a destination charge as
    `checkout_start`; several, one order per shop and one Checkout Session for them all.

    The same refusals as one shop's checkout, for every shop: a shop that cannot take orders, an
    unavailable item, short stock, a total over what one card payment can be; each with a sentence,
    and the cart is never changed here.
    """
    if cart is None:
        raise NotFound("Your cart is empty.", code="cart_empty")
    currency = currency.lower()
    groups = [group for group in cart_view(cart=cart).groups if group.currency == currency]
    if not groups:
        raise NotFound("Nothing in your cart is priced in this currency.", code="cart_group_not_found")
    if len(groups) == 1:
        started = checkout_start(
            buyer=buyer,
            cart=cart,
            seller_id=groups[0].seller.pk,
            currency=currency,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        return CartCheckoutStart(orders=[started.order], url=started.url)
    for group in groups:
        if not seller_can_sell(group.seller):
            raise Conflict(seller_cannot_sell_message(group.seller), code="seller_cannot_sell")
    problems = [f"“{line.listing.title}”: {line.problem}" for group in groups for line in group.lines if not line.ok]
    if problems:
        raise InvalidInput(" ".join(problems), code="cart_not_payable")
    too_large = CartPayment(currency=currency, groups=groups).too_large
    if too_large:
        raise InvalidInput(too_large, code="cart_not_payable")
    checkout_group = _group_for_checkout(buyer=buyer, cart=cart, groups=groups, currency=currency)
    orders = list(checkout_group.orders.order_by("pk").select_related("seller").prefetch_related("lines"))
    if checkout_group.checkout_session_id and checkout_group.checkout_url:
        return CartCheckoutStart(orders=orders, url=checkout_group.checkout_url, group=checkout_group)
    try:
        customer = buyer_customer_ensure(user=buyer)
        expires = timezone.now() + CHECKOUT_LIFETIME + EXPIRES_AT_MARGIN
        session = gateway_checkout.checkout_session_create_for_group(
            group_id=checkout_group.pk,
            customer=customer,
            currency=currency,
            lines=[
                gateway_checkout.LineItem(
                    name=f"{line.title} ({order.seller.shop_name})",
                    unit_amount=line.unit_amount,
                    quantity=line.quantity,
                )
                for order in orders
                for line in order.lines.all()
            ],
            transfer_group=checkout_group.transfer_group,
            success_url=success_url,
            cancel_url=cancel_url.replace("{ORDER_ID}", str(orders[0].pk)),
            expires_at=int(expires.timestamp()),
        )
    except DomainError as exc:
        # No payment page was given out, so nothing can have been charged, whatever Stripe did.
        with transaction.atomic():
            for locked in Order.objects.select_for_update().filter(checkout_group=checkout_group).order_by("pk"):
                if locked.status == OrderStatus.PENDING_PAYMENT and not locked.checkout_session_id:
                    close_order(locked, OrderStatus.CANCELED, NOT_STARTED)
        if isinstance(exc, PaymentProviderError):
            raise checkout_not_started(exc) from exc
        raise
    expires_at = datetime.fromtimestamp(session.expires_at, tz=UTC)
    fields = {"checkout_session_id": session.id, "checkout_url": session.url or "", "checkout_expires_at": expires_at}
    with transaction.atomic():
        CheckoutGroup.objects.filter(pk=checkout_group.pk, checkout_session_id__isnull=True).update(**fields)
        Order.objects.filter(checkout_group=checkout_group, checkout_session_id__isnull=True).update(**fields)
    checkout_group.refresh_from_db()
    orders = list(checkout_group.orders.order_by("pk").select_related("seller").prefetch_related("lines"))
    return CartCheckoutStart(orders=orders, url=checkout_group.checkout_url or session.url or "", group=checkout_group)


def _group_for_checkout(*, buyer: Any, cart: Cart, groups: list[CartGroup], currency: str) -> CheckoutGroup:
    """Reuse the pending group matching the cart, or replace what is pending for these shops (stale
    groups, single-shop orders) with a new group whose orders hold their stock.

    The cart is read again with its row lock (one checkout per cart at a time): if it changed since
    `groups` were read and checked (another tab), nothing is made and the buyer is asked to look
    again, rather than paying lines the cart no longer holds."""
    seller_ids = {group.seller.pk for group in groups}
    with transaction.atomic():
        now_held = [group for group in cart_view(cart=cart, lock=True).groups if group.currency == currency]
        if _contents(now_held) != _contents(groups):
            raise Conflict("Your cart changed meanwhile: check it, then pay again.", code="cart_changed")
        pending = list(
            Order.objects.select_for_update(of=("self",))
            .filter(buyer=buyer, currency=currency, status=OrderStatus.PENDING_PAYMENT)
            .exclude(cart_fingerprint__startswith=BUY_NOW_FINGERPRINT_PREFIX)  # a purchase of its own
            .select_related("checkout_group")
            .prefetch_related("lines")
            .order_by("pk")
        )
        stale = [order for order in pending if order.checkout_group_id is not None or order.seller_id in seller_ids]
        quantities = {line.listing.pk: line.quantity for group in groups for line in group.lines}
        locked = lock_listings([*quantities, *(line.listing_id for o in stale for line in o.lines.all())])
        fingerprint = _fingerprint((pk, qty, locked[pk].price) for pk, qty in quantities.items())
        soon = timezone.now() + timedelta(minutes=2)
        for order in stale:
            earlier = order.checkout_group
            if earlier is not None and earlier.cart_fingerprint == fingerprint:
                fresh = earlier.checkout_expires_at is None or earlier.checkout_expires_at > soon
                if fresh and all(o.status == OrderStatus.PENDING_PAYMENT for o in earlier.orders.all()):
                    return earlier
        for order in stale:
            _expire_session_later(order)
            close_order(order, OrderStatus.CANCELED, REPLACED, locked=locked)
        for pk, quantity in quantities.items():
            listing = locked[pk]
            if listing.stock < quantity:
                left = f"only {listing.stock} left" if listing.stock else "it is sold out"
                raise InvalidInput(
                    f"“{listing.title}”: {left}. Your cart is unchanged; adjust it and try again.", code="out_of_stock"
                )
        checkout_group = CheckoutGroup.objects.create(
            buyer=buyer,
            currency=currency,
            amount_total=sum(group.subtotal for group in groups),
            cart_fingerprint=fingerprint,
        )
        for group in groups:
            _order_of_group(buyer=buyer, checkout_group=checkout_group, group=group, locked=locked)
        return checkout_group


def _contents(groups: list[CartGroup]) -> list[tuple[int, int, int]]:
    return sorted((group.seller.pk, line.listing.pk, line.quantity) for group in groups for line in group.lines)


def _order_of_group(
    *, buyer: Any, checkout_group: CheckoutGroup, group: CartGroup, locked: dict[int, Listing]
) -> Order:
    """One shop's order in the group: its lines, its fee (the fee policy of that seller, as for a
    single-shop checkout) and its stock, reserved (the caller holds the listings' row locks)."""
    order, _ = order_create_reserving(
        buyer=buyer,
        seller=group.seller,
        currency=group.currency,
        quantities={line.listing.pk: line.quantity for line in group.lines},
        locked=locked,
        cart_fingerprint=checkout_group.cart_fingerprint,
        checkout_group=checkout_group,
    )
    return order


def order_transfer_to_seller(*, order_id: int) -> str | None:
    """Send a paid group order's seller its share: the order's total less its fee, from the group's
    charge (`source_transaction`), in the group's `transfer_group`; record and post it. Returns the
    transfer's id, or None when there is nothing to send (not a group order, not paid, a zero share).

    Once per order: the order's `stripe_transfer_id` is checked first and the gateway's key is the
    order and the parameters, so a retried follow-up gets the transfer made the first time. Stripe
    unreachable raises, and the outbox tries again.
    """
    order = Order.objects.select_related("seller", "payment", "checkout_group").get(pk=order_id)
    if order.stripe_transfer_id:
        return order.stripe_transfer_id
    if order.checkout_group is None or order.payment is None or order.status not in PAID_STATUSES:
        return None
    if order.seller_net <= 0 or not order.seller.stripe_account_id:
        return None
    transfer = gateway_transfers.transfer_create(
        order_id=order.pk,
        amount=order.seller_net,
        currency=order.currency,
        destination=order.seller.stripe_account_id,
        source_transaction=order.payment.stripe_charge_id,
        transfer_group=order.checkout_group.transfer_group,
        metadata={"order_id": str(order.pk), "platform_fee": str(order.application_fee_amount)},
    )
    with transaction.atomic():
        transfer_record(
            transfer_id=transfer.id,
            destination=order.seller.stripe_account_id,
            amount=transfer.amount,
            currency=transfer.currency,
            created=transfer.created,
            payment=order.payment,
            platform_fee=order.application_fee_amount,
        )
        Order.objects.filter(pk=order.pk, stripe_transfer_id="").update(stripe_transfer_id=transfer.id)
    return transfer.id


def order_transfer_failed(*, order_id: int) -> None:
    """Stripe refused a group order's transfer every time the outbox tried (about 4 hours): the
    seller is owed its share and only a person can unblock it (the seller's account, the charge).
    Tell the platform admins once, by email; the console's home lists such orders until sent."""
    outbox_add("orders.email.group_transfer_failed", order_id, key=f"group-transfer-failed:{order_id}")


def order_transfer_retry(*, order_id: int) -> None:
    """An admin fixed what made Stripe refuse a group order's transfer: try it again, with the outbox's
    full attempts and the same idempotency key. Refused with a sentence when there is nothing to retry."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    if order.stripe_transfer_id:
        raise Conflict(f"Order {order.pk}'s transfer was made already.", code="transfer_made")
    if not outbox_retry(key=f"order-transfer:{order.pk}"):
        raise Conflict(f"Order {order.pk} has no failed transfer to retry.", code="transfer_not_failed")
