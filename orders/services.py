"""Writes of orders: checkout, stock reservation, the payment lifecycle, fulfilment.

The promises and where they are kept:

- *One session per order version*: `checkout_start` locks the buyer's cart, reuses the pending
  order whose contents match the cart, and creates its session with an idempotency key from the
  order id and version, so a double click gives one session; a changed cart gives a new order
  (the old one is canceled and its stock released) and so a new key.
- *No overselling*: stock is reserved when the session is created, with `select_for_update` on the
  listings in id order (so two checkouts never deadlock), and released when the session expires
  (webhook or the sweeper), the buyer cancels, or the payment fails.
- *Paid once*: `order_mark_paid` is the one path from "Stripe says paid" to "paid", used by the
  webhook, the success page and the sweeper. It locks the order row and checks the status, so
  the order and its emails happen once whoever comes first. A payment that arrives after its
  stock was released re-reserves it if it can, and otherwise refunds the buyer automatically; so
  does a payment for a shop that stopped selling meanwhile (paused, disconnected, disabled), whose
  open sessions are also expired at Stripe (`orders_close_checkouts_of_seller`).
- *True sentences*: after paying, the buyer reads "paid", or "we are confirming your payment" for
  as long as Stripe cannot tell us (`order_confirm_payment`); never "nothing was charged" unless
  Stripe said the session was not paid.
- *Nothing lost*: emails and the calls that close sessions at Stripe are outbox rows written with
  the change (`marketplace.outbox`), so a broker outage delays them and never loses them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Cart, CartItem, Listing
from catalog.selectors import CartGroup, cart_view
from fees.policy import FeeLine, fee_for
from marketplace import money
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentProviderError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import ApplicationFee, Charge, CheckoutSession, PaymentIntent, Transfer
from marketplace.outbox.services import outbox_add
from orders.models import PAID_STATUSES, Order, OrderLine, OrderStatus, StripeCustomer
from sellers.models import Seller
from sellers.selectors import seller_can_sell, seller_cannot_sell_message

logger = logging.getLogger(__name__)

# Stripe refuses `expires_at` under 30 minutes from creation; the margin absorbs the request's
# travel time and clock skew, so "30 minutes" is never refused as 29:59.
CHECKOUT_LIFETIME = timedelta(minutes=30)
EXPIRES_AT_MARGIN = timedelta(seconds=60)
# A pending order older than its session's expiry plus this is swept (webhook lost or late).
SWEEP_GRACE = timedelta(minutes=5)

SOLD_OUT_REFUNDED = (
    "Your payment arrived after your reservation ran out, and the item has sold out meanwhile. "
    "We refunded you in full; the refund shows on your statement within 5 to 10 days."
)
SHOP_STOPPED_REFUNDED = (
    "Your payment arrived after this shop stopped taking orders, so we refunded you in full; "
    "the refund shows on your statement within 5 to 10 days."
)
SHOP_STOPPED = "This shop stopped taking orders before you paid, so the order was canceled. Nothing was charged."
CONFIRMING = (
    "We are confirming your payment with our payment provider. This page shows the result as soon as "
    "we know, and we will email you."
)
CHECKOUT_UNREACHABLE = "Our payment provider could not be reached. Nothing was charged; please try again in a moment."
# A payment we are confirming is re-read by the sweeper once it is this old (the webhook may beat it).
CONFIRM_AFTER = timedelta(seconds=30)
PAYMENT_NOT_COMPLETED = "Payment not completed. Your cart is still there; you can pay again whenever you like."
EXPIRED_MESSAGE = "The payment window closed before payment, so the reserved items were released."


@dataclass(frozen=True)
class CheckoutStart:
    order: Order
    url: str


# --- Checkout ---------------------------------------------------------------------------------------


def buyer_customer_ensure(*, user: Any) -> str:
    """The buyer's Stripe Customer id, created on first checkout (the key is the user id, so two
    concurrent first checkouts get the same Customer and the unique row settles who stores it)."""
    existing = StripeCustomer.objects.filter(user=user).values_list("stripe_customer_id", flat=True).first()
    if existing:
        return existing
    customer = gateway_checkout.customer_create(user_id=user.pk, email=user.email)
    row, _ = StripeCustomer.objects.get_or_create(user=user, defaults={"stripe_customer_id": customer.id})
    return row.stripe_customer_id


def _group_of(cart: Cart | None, seller_id: int, currency: str) -> CartGroup:
    view = cart_view(cart=cart)
    for group in view.groups:
        if group.seller.pk == seller_id and group.currency == currency.lower():
            return group
    raise NotFound("Nothing from this shop is in your cart.", code="cart_group_not_found")


def _fingerprint(items: Iterable[tuple[int, int, int]]) -> str:
    raw = ";".join(f"{listing}:{qty}:{price}" for listing, qty, price in sorted(items))
    return hashlib.sha256(raw.encode()).hexdigest()


def _lock_listings(ids: Iterable[int]) -> dict[int, Listing]:
    """Row locks on listings, always in id order: two checkouts sharing listings queue, never deadlock."""
    wanted = sorted(set(ids))
    return {listing.pk: listing for listing in Listing.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}


def _release_stock(order: Order) -> None:
    """Give the order's units back to its listings (the caller holds the order's row lock)."""
    if not order.stock_reserved:
        return
    lines = list(order.lines.all())
    _lock_listings(line.listing_id for line in lines)
    for line in lines:
        Listing.objects.filter(pk=line.listing_id).update(stock=F("stock") + line.quantity)
    order.stock_reserved = False


def _try_reserve(order: Order) -> bool:
    """Take the order's units off stock, all or nothing (the caller holds the order's row lock)."""
    if order.stock_reserved:
        return True
    lines = list(order.lines.all())
    locked = _lock_listings(line.listing_id for line in lines)
    if any(locked[line.listing_id].stock < line.quantity for line in lines):
        return False
    for line in lines:
        Listing.objects.filter(pk=line.listing_id).update(stock=F("stock") - line.quantity)
    order.stock_reserved = True
    return True


def _close(order: Order, status: str, message: str) -> None:
    _release_stock(order)
    order.status = status
    order.status_message = message
    order.closed_at = timezone.now()
    order.save(update_fields=["status", "status_message", "closed_at", "stock_reserved", "updated_at"])


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


def _order_for_checkout(*, buyer: Any, cart: Cart, group: CartGroup) -> Order:
    """Reuse the pending order matching the cart group, or create one and reserve its stock."""
    with transaction.atomic():
        Cart.objects.select_for_update().filter(pk=cart.pk).first()  # one checkout per cart at a time
        pending = list(
            Order.objects.select_for_update()
            .filter(buyer=buyer, seller_id=group.seller.pk, currency=group.currency, status=OrderStatus.PENDING_PAYMENT)
            .prefetch_related("lines")
        )
        listing_ids = [line.listing.pk for line in group.lines]
        stale_ids = [line.listing_id for o in pending for line in o.lines.all()]
        locked = _lock_listings([*listing_ids, *stale_ids])
        quantities = {line.listing.pk: line.quantity for line in group.lines}
        fingerprint = _fingerprint((pk, qty, locked[pk].price) for pk, qty in quantities.items())
        now = timezone.now()
        for order in pending:
            fresh = order.checkout_expires_at is None or order.checkout_expires_at > now + timedelta(minutes=2)
            if order.cart_fingerprint == fingerprint and fresh:
                return order
            _expire_session_later(order)
            _close(order, OrderStatus.CANCELED, "Replaced by a newer checkout of your cart.")
        for pk in listing_ids:
            listing = locked[pk]
            if listing.stock < quantities[pk]:
                left = f"only {listing.stock} left" if listing.stock else "it is sold out"
                raise InvalidInput(
                    f"“{listing.title}”: {left}. Your cart is unchanged; adjust it and try again.", code="out_of_stock"
                )
        quote = fee_for(
            seller=group.seller,
            lines=[
                FeeLine(
                    amount=locked[pk].price * quantities[pk],
                    currency=group.currency,
                    category_id=locked[pk].category_id,
                )
                for pk in listing_ids
            ],
        )
        order = Order.objects.create(
            buyer=buyer,
            seller=group.seller,
            currency=group.currency,
            amount_total=quote.amount,
            application_fee_amount=quote.fee,
            cart_fingerprint=fingerprint,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                listing_id=pk,
                title=locked[pk].title,
                unit_amount=locked[pk].price,
                quantity=quantities[pk],
                fee_amount=fee_line.fee,
            )
            for pk, fee_line in zip(listing_ids, quote.lines, strict=True)
        )
        for pk in listing_ids:
            Listing.objects.filter(pk=pk).update(stock=F("stock") - quantities[pk])
        order.stock_reserved = True
        order.save(update_fields=["stock_reserved"])
        return order


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
    group = _group_of(cart, seller_id, currency)
    if not seller_can_sell(group.seller):
        raise Conflict(seller_cannot_sell_message(group.seller), code="seller_cannot_sell")
    problems = [f"“{line.listing.title}”: {line.problem}" for line in group.lines if not line.ok]
    if problems or not group.lines:
        raise InvalidInput(" ".join(problems) or "Nothing to pay.", code="cart_not_payable")
    if group.subtotal > money.MAXIMUM_CHARGE_AMOUNT:
        most = money.format_money(money.MAXIMUM_CHARGE_AMOUNT, group.currency)
        raise InvalidInput(
            f"{money.format_money(group.subtotal, group.currency)} is more than one card payment can be ({most}):"
            " lower the quantities and pay the rest in another order.",
            code="cart_not_payable",
        )
    order = _order_for_checkout(buyer=buyer, cart=cart, group=group)
    if order.checkout_session_id and order.checkout_url:
        return CheckoutStart(order=order, url=order.checkout_url)
    try:
        customer = buyer_customer_ensure(user=buyer)
        expires = timezone.now() + CHECKOUT_LIFETIME + EXPIRES_AT_MARGIN
        session = gateway_checkout.checkout_session_create(
            order_id=order.pk,
            order_version=order.version,
            customer=customer,
            currency=order.currency,
            lines=[
                gateway_checkout.LineItem(name=line.title, unit_amount=line.unit_amount, quantity=line.quantity)
                for line in order.lines.all()
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
                _close(locked, OrderStatus.CANCELED, "We could not start the payment. Nothing was charged.")
        if isinstance(exc, PaymentProviderError):
            raise PaymentProviderError(CHECKOUT_UNREACHABLE, code=exc.code) from exc
        raise
    expires_at = datetime.fromtimestamp(session.expires_at, tz=UTC)
    Order.objects.filter(pk=order.pk, checkout_session_id__isnull=True).update(
        checkout_session_id=session.id, checkout_url=session.url or "", checkout_expires_at=expires_at
    )
    order.refresh_from_db()
    return CheckoutStart(order=order, url=order.checkout_url or session.url or "")


# --- Payment lifecycle (webhooks, success page, sweeper) -------------------------------------------------


def _record_payment(order: Order, session: CheckoutSession) -> None:
    """Copy the payment's ids and amounts from a session whose payment intent may be expanded."""
    intent = session.payment_intent
    if isinstance(intent, str):
        intent = gateway_checkout.payment_intent_retrieve(intent)
    if intent is None:
        return
    order.payment_intent_id = order.payment_intent_id or intent.id
    order.amount_received = intent.amount_received or order.amount_received
    charge = intent.latest_charge
    if isinstance(charge, Charge) and charge.status == "succeeded":
        order.charge_id = charge.id
        order.transfer_id = order.transfer_id or charge.transfer or ""
        order.application_fee_id = order.application_fee_id or charge.application_fee or ""
    elif isinstance(charge, str) and not order.charge_id:
        order.charge_id = charge


def _remove_from_cart(order: Order) -> None:
    """What was paid leaves the buyer's cart (and only then: a declined card leaves it intact)."""
    listing_ids = [line.listing_id for line in order.lines.all()]
    CartItem.objects.filter(cart__user_id=order.buyer_id, listing_id__in=listing_ids).delete()


def order_id_of(obj: CheckoutSession | PaymentIntent | Charge) -> int | None:
    """Our order id on a Stripe object (session, payment intent, charge): `metadata.order_id`, or a
    session's `client_reference_id`; None when the object is not one of our orders."""
    raw = obj.metadata.get("order_id") or (obj.client_reference_id if isinstance(obj, CheckoutSession) else None)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def order_mark_paid(*, session: CheckoutSession) -> Order | None:
    """Stripe says the session is paid: make the order paid, once, whoever calls first.

    Row lock + status check: the webhook and the success page may run this at the same moment;
    the second finds the order paid and only fills in ids it did not know. Returns None when the
    session is not one of our orders.
    """
    order_id = order_id_of(session)
    if order_id is None:
        return None
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            return None
        if session.payment_status != "paid":
            return order
        fields = ["payment_intent_id", "charge_id", "transfer_id", "application_fee_id", "amount_received"]
        if order.status in PAID_STATUSES or order.status == OrderStatus.REFUNDED:
            _record_payment(order, session)
            order.save(update_fields=[*fields, "updated_at"])
            return order
        _record_payment(order, session)
        if not seller_can_sell(Seller.objects.get(pk=order.seller_id)):
            _refund_late(order, why="seller_stopped_selling", message=SHOP_STOPPED_REFUNDED)
            order.save(update_fields=[*fields, "updated_at"])
            return order
        if not _try_reserve(order):
            _refund_late(order, why="sold_out_after_reservation_expired", message=SOLD_OUT_REFUNDED)
            order.save(update_fields=[*fields, "updated_at"])
            return order
        order.status = OrderStatus.PAID
        order.paid_at = timezone.now()
        order.closed_at = None
        order.status_message = ""
        order.payment_error = ""
        order.payment_confirming_since = None
        order.checkout_session_id = order.checkout_session_id or session.id
        order.save(
            update_fields=[
                *fields,
                "status",
                "paid_at",
                "closed_at",
                "status_message",
                "payment_error",
                "stock_reserved",
                "checkout_session_id",
                "payment_confirming_since",
                "updated_at",
            ]
        )
        _remove_from_cart(order)
        outbox_add("orders.email.order_confirmation", order.pk, key=f"order-confirmation:{order.pk}")
        outbox_add("orders.email.new_order_for_seller", order.pk, key=f"order-new-for-seller:{order.pk}")
        return order


def _refund_late(order: Order, *, why: str, message: str) -> None:
    """A payment we will not keep (the stock is gone, or the shop stopped selling): refund it all,
    the seller's share and our fee included, release what the order still holds, tell the buyer.

    The refund's key is the order and its parameters, so the webhook and the success page racing,
    or a retried webhook, refund once."""
    if not order.payment_intent_id:
        raise Conflict(f"order {order.pk} is paid but has no payment intent to refund")
    refund = gateway_checkout.refund_create(
        payment_intent=order.payment_intent_id,
        idempotency_ids=("order-late-payment", order.pk),
        reason="requested_by_customer",
        metadata={"order_id": str(order.pk), "why": why},
    )
    _release_stock(order)
    order.refund_id = refund.id
    order.amount_refunded = refund.amount
    order.status = OrderStatus.REFUNDED
    order.status_message = message
    order.closed_at = timezone.now()
    order.payment_confirming_since = None
    order.save(
        update_fields=[
            "refund_id",
            "amount_refunded",
            "status",
            "status_message",
            "closed_at",
            "stock_reserved",
            "payment_confirming_since",
        ]
    )
    outbox_add("orders.email.order_refunded", order.pk, key=f"order-refunded:{order.pk}:{refund.id}")


def order_expire(*, session: CheckoutSession) -> Order | None:
    """`checkout.session.expired`: release the stock of a still-unpaid order (a paid or replaced one
    is left alone; an old session of an order never moves it backwards)."""
    return _close_unpaid(session, OrderStatus.EXPIRED, EXPIRED_MESSAGE, only_current_session=True)


def order_mark_payment_failed(*, session: CheckoutSession) -> Order | None:
    """`checkout.session.async_payment_failed`: the bank refused a delayed payment; stock goes back."""
    return _close_unpaid(
        session,
        OrderStatus.PAYMENT_FAILED,
        "Your bank did not complete the payment. Nothing was charged.",
        only_current_session=False,
    )


def _close_unpaid(session: CheckoutSession, status: str, message: str, *, only_current_session: bool) -> Order | None:
    """Close the order of `session` with `status` if it is still awaiting payment, under its row lock.

    `only_current_session`: leave the order alone when `session` is not its current Checkout Session.
    """
    order_id = order_id_of(session)
    if order_id is None:
        return None
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None or order.status != OrderStatus.PENDING_PAYMENT:
            return order
        if only_current_session and order.checkout_session_id and order.checkout_session_id != session.id:
            return order
        _close(order, status, message)
        return order


def order_record_payment_error(*, order_id: int, message: str) -> None:
    """A declined attempt (`payment_intent.payment_failed`): the order stays payable and says why."""
    Order.objects.filter(pk=order_id, status=OrderStatus.PENDING_PAYMENT).update(
        payment_error=message[:300], updated_at=timezone.now()
    )


def order_record_charge(*, order_id: int | None, charge: Charge) -> None:
    """`charge.succeeded`: fill in the payment's ids if the order does not have them yet."""
    if order_id is None or charge.status != "succeeded":
        return
    Order.objects.filter(pk=order_id, charge_id="").update(charge_id=charge.id)
    if charge.payment_intent:
        Order.objects.filter(pk=order_id, payment_intent_id="").update(payment_intent_id=charge.payment_intent)
    if charge.transfer:
        Order.objects.filter(pk=order_id, transfer_id="").update(transfer_id=charge.transfer)


def order_record_transfer(*, transfer: Transfer) -> None:
    """`transfer.created` of a destination charge: its `source_transaction` is the order's charge."""
    if transfer.source_transaction:
        Order.objects.filter(charge_id=transfer.source_transaction, transfer_id="").update(transfer_id=transfer.id)


def order_record_application_fee(*, fee: ApplicationFee) -> None:
    """`application_fee.created`: the platform's fee on the order's charge. On a destination charge
    the fee's `charge` is the seller's `py_` payment; the platform's charge, which the order knows,
    is its `originating_transaction`."""
    charge_id = fee.originating_transaction or fee.charge
    Order.objects.filter(charge_id=charge_id, application_fee_id="").update(application_fee_id=fee.id)


def order_sync_from_stripe(*, order: Order) -> Order:
    """Re-read the order's session and apply it: paid, expired, complete with the payment still
    processing (we are confirming), or open (not paid: the buyer has not finished). The success
    page, the sweepers and the cancel return use this, so they never depend on a webhook."""
    if not order.checkout_session_id:
        return order
    session = gateway_checkout.checkout_session_retrieve(order.checkout_session_id)
    if session.payment_status == "paid":
        return order_mark_paid(session=session) or order
    if session.status == "expired":
        return order_expire(session=session) or order
    if session.status == "complete":
        return _mark_confirming(order)
    if order.payment_confirming_since is not None:  # Stripe says open and unpaid: nothing to confirm
        Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING_PAYMENT).update(
            payment_confirming_since=None, status_message="", updated_at=timezone.now()
        )
        order.refresh_from_db()
    return order


def _mark_confirming(order: Order) -> Order:
    Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING_PAYMENT, payment_confirming_since__isnull=True).update(
        payment_confirming_since=timezone.now(), status_message=CONFIRMING, updated_at=timezone.now()
    )
    order.refresh_from_db()
    return order


def order_confirm_payment(*, order: Order) -> Order:
    """The buyer is back from Stripe's payment page: settle the order if Stripe can tell us now.

    When it cannot (unreachable, slow, or any error of ours on the way), the buyer may well have
    been charged, so the order says "we are confirming your payment" (`CONFIRMING`) until the
    webhook or `orders_confirm_payments` settles it. Never raises a payment-provider error: the
    page after paying must say something true, not "nothing was charged".
    """
    try:
        return order_sync_from_stripe(order=order)
    except DomainError as exc:
        logger.warning("could not confirm the payment of order %s yet: %s", order.pk, exc.message)
        return _mark_confirming(order)


def orders_confirm_payments(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat: re-read the orders whose payment we are confirming; returns how many were settled."""
    now = now or timezone.now()
    ids = list(
        Order.objects.filter(
            status=OrderStatus.PENDING_PAYMENT, payment_confirming_since__lt=now - CONFIRM_AFTER
        ).values_list("pk", flat=True)[:limit]
    )
    settled = 0
    for order_id in ids:
        try:
            synced = order_sync_from_stripe(order=Order.objects.get(pk=order_id))
        except DomainError as exc:
            logger.warning("still confirming the payment of order %s: %s", order_id, exc.message)
            continue
        settled += synced.status != OrderStatus.PENDING_PAYMENT
    return settled


def orders_close_checkouts_of_seller(*, seller_id: int) -> int:
    """The shop stopped selling (paused, disconnected, or Stripe disabled its charges): expire its open
    Checkout Sessions at Stripe so nobody can pay them, and cancel their orders (stock released).

    Idempotent (the outbox may run it twice): a session expired already is read back and applied,
    and one paid meanwhile goes through `order_mark_paid`, which refunds it because the shop cannot
    sell. Stripe unreachable raises, so the outbox tries again. Returns how many orders it closed.
    """
    closed = 0
    pending = Order.objects.filter(
        seller_id=seller_id, status=OrderStatus.PENDING_PAYMENT, checkout_session_id__isnull=False
    ).values_list("pk", "checkout_session_id")
    for order_id, session_id in list(pending):
        assert session_id is not None
        try:
            session = gateway_checkout.checkout_session_expire(session_id=session_id, order_id=order_id)
        except InvalidInput:  # not open any more: paid or expired meanwhile
            session = gateway_checkout.checkout_session_retrieve(session_id)
        if session.payment_status == "paid":
            order_mark_paid(session=session)
        elif session.status == "expired":
            order = _close_unpaid(session, OrderStatus.CANCELED, SHOP_STOPPED, only_current_session=True)
            closed += order is not None and order.status == OrderStatus.CANCELED
    return closed


def order_cancel(*, order: Order, buyer: Any) -> Order:
    """The buyer gives up a pending order: the session is closed at Stripe first (so it cannot be
    paid afterwards), then the stock is released. A session paid meanwhile makes the order paid."""
    if order.buyer_id != buyer.pk:
        raise NotFound("No such order.")
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict("Only an order waiting for payment can be canceled.", code="order_not_cancelable")
    if order.checkout_session_id:
        try:
            gateway_checkout.checkout_session_expire(session_id=order.checkout_session_id, order_id=order.pk)
        except DomainError:
            synced = order_sync_from_stripe(order=order)
            if synced.status != OrderStatus.PENDING_PAYMENT:
                return synced
            raise
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.PENDING_PAYMENT:
            _close(locked, OrderStatus.CANCELED, "You canceled this order. Nothing was charged.")
        return locked


def orders_sweep_expired(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat: pending orders whose session should have expired, in case the webhook never came.

    Each is re-read from Stripe: paid ones become paid, expired ones release their stock, and a
    session still open past its time is expired now. Returns how many orders changed.
    """
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, checkout_expires_at__lt=now - SWEEP_GRACE)
        .order_by("checkout_expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    stuck_before_session = list(
        Order.objects.filter(
            status=OrderStatus.PENDING_PAYMENT,
            checkout_session_id__isnull=True,
            created_at__lt=now - CHECKOUT_LIFETIME - SWEEP_GRACE,
        ).values_list("pk", flat=True)[:limit]
    )
    changed = 0
    for order_id in due:
        order = Order.objects.get(pk=order_id)
        try:
            synced = order_sync_from_stripe(order=order)
            if synced.status == OrderStatus.PENDING_PAYMENT and order.checkout_session_id:
                session = gateway_checkout.checkout_session_expire(
                    session_id=order.checkout_session_id, order_id=order.pk
                )
                synced = order_expire(session=session) or synced
        except DomainError as exc:
            logger.warning("sweeper could not settle order %s: %s", order_id, exc.message)
            continue
        changed += synced.status != OrderStatus.PENDING_PAYMENT
    for order_id in stuck_before_session:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            if order.status == OrderStatus.PENDING_PAYMENT and not order.checkout_session_id:
                _close(order, OrderStatus.CANCELED, "We could not start the payment. Nothing was charged.")
                changed += 1
    return changed


# --- Fulfilment -------------------------------------------------------------------------------------------


def order_mark_fulfilled(*, order: Order, seller: Seller, tracking_number: str, carrier: str = "") -> Order:
    """The seller shipped the order: a tracking number is required, and only a paid order ships."""
    tracking = (tracking_number or "").strip()
    if not tracking:
        raise InvalidInput("Enter the tracking number of the parcel.", code="tracking_number_required")
    if len(tracking) > 100:
        raise InvalidInput("That tracking number is too long.", code="invalid_tracking_number")
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk, seller=seller).first()
        if locked is None:
            raise NotFound("No such order.")
        if locked.status == OrderStatus.FULFILLED and locked.tracking_number == tracking:
            return locked
        if locked.status != OrderStatus.PAID:
            raise Conflict(
                f"This order is {locked.get_status_display().lower()}; only a paid order can be shipped.",
                code="order_not_shippable",
            )
        locked.status = OrderStatus.FULFILLED
        locked.tracking_number = tracking
        locked.carrier = (carrier or "").strip()[:60]
        locked.fulfilled_at = timezone.now()
        locked.save(update_fields=["status", "tracking_number", "carrier", "fulfilled_at", "updated_at"])
        outbox_add("orders.email.order_shipped", locked.pk, key=f"order-shipped:{locked.pk}")
        return locked


def order_complete(*, order: Order, buyer: Any) -> Order:
    """The buyer confirms the parcel arrived: the order is completed."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk, buyer_id=buyer.pk).first()
        if locked is None:
            raise NotFound("No such order.")
        if locked.status == OrderStatus.COMPLETED:
            return locked
        if locked.status != OrderStatus.FULFILLED:
            raise Conflict("Only a shipped order can be marked as received.", code="order_not_shipped")
        locked.status = OrderStatus.COMPLETED
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "completed_at", "updated_at"])
        return locked
