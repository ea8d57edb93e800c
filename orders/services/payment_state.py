"""The payment lifecycle of orders: webhooks, the success page and the sweepers settle them here.

- *Paid once*: `order_mark_paid` is the one path from "Stripe says paid" to "paid", used by the
  webhook, the success page and the sweeper. It locks the order row and checks the status, so
  the order and its emails happen once whoever comes first. A payment that arrives after its
  stock was released re-reserves it if it can, and otherwise refunds the buyer automatically; so
  does a payment for a shop that stopped selling meanwhile (paused, disconnected, disabled), whose
  open sessions are also expired at Stripe (`orders_close_checkouts_of_seller`).
- *Money recorded where it is learnt*: the paid charge becomes a `payments.Payment` (with its
  ledger postings: charge, Stripe fee, transfer, application fee) in the same database
  transaction as the order turning paid, whichever of the session and `charge.succeeded` comes first.
- *True sentences*: after paying, the buyer reads "paid", or "we are confirming your payment" for
  as long as Stripe cannot tell us (`order_confirm_payment`); never "nothing was charged" unless
  Stripe said the session was not paid.
- *Nothing lost*: emails and the calls that close sessions at Stripe are outbox rows written with
  the change (`marketplace.outbox`), so a broker outage delays them and never loses them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import CartItem
from marketplace import money
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import Charge, CheckoutSession, PaymentIntent
from marketplace.outbox.services import outbox_add
from orders.models import BUY_NOW_FINGERPRINT_PREFIX, PAID_STATUSES, Order, OrderStatus
from orders.selectors import TRANSFER_TO_SELLER
from orders.services._stock import close_order, release_stock, try_reserve
from orders.services.checkout import CHECKOUT_LIFETIME
from orders.services.refunds import order_refunds_refresh
from payments.models import Payment, RefundOrigin
from payments.services import (
    charge_with_balance_transaction,
    payment_record_charge,
    payment_refundable,
    refund_create,
    refund_submit,
)
from sellers.models import Seller
from sellers.selectors import seller_can_sell

logger = logging.getLogger(__name__)

# A pending order older than its session's expiry plus this is swept (webhook lost or late).
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
# A payment we are confirming is re-read by the sweeper once it is this old (the webhook may beat it).
CONFIRM_AFTER = timedelta(seconds=30)
# The flash over the order's page, which says the cart is kept and until when the items are held.
PAYMENT_NOT_COMPLETED = "You left Stripe's page: nothing was charged."
EXPIRED_MESSAGE = "The payment window closed before payment, so the reserved items were released."
# A payment for several shops of which one shop's part cannot be delivered: only that part is refunded.
GROUP_SOLD_OUT_REFUNDED = (
    "Your payment arrived after your reservation ran out, and an item of this shop has sold out meanwhile. "
    "We refunded this order ({amount}) in full; your orders from the other shops in the same payment go ahead. "
    "The refund shows on your statement within 5 to 10 days."
)
GROUP_SHOP_STOPPED_REFUNDED = (
    "Your payment arrived after this shop stopped taking orders, so we refunded this order ({amount}) in full; "
    "your orders from the other shops in the same payment go ahead. The refund shows on your statement within "
    "5 to 10 days."
)
GROUP_SHOP_STOPPED = (
    "A shop in this payment stopped taking orders before you paid, so the payment was canceled for every shop "
    "in it. Nothing was charged, and your cart is as it was: you can pay for the other shops again."
)
GROUP_CANCELED = "You canceled this payment, so its orders from every shop in it are canceled. Nothing was charged."


def _paid_charge(session: CheckoutSession) -> Charge | None:
    """The session's succeeded charge with its balance transaction expanded, read before any row
    is locked: the session read expands it (`gateway.checkout.PAYMENT_EXPAND`), other sessions
    (an expire's answer) are completed through the gateway. Stripe unreachable raises."""
    intent = session.payment_intent
    if isinstance(intent, str):
        intent = gateway_checkout.payment_intent_retrieve(intent)
    charge = intent.latest_charge if intent is not None else None
    if isinstance(charge, str):
        charge = gateway_checkout.charge_retrieve(charge)
    if charge is None or charge.status != "succeeded":
        return None
    return charge_with_balance_transaction(charge=charge)[0]


def _remove_from_cart(order: Order) -> None:
    """What was paid leaves the buyer's cart (and only then: a declined card leaves it intact): the
    units paid, not the whole line, so a "Buy now" of one unit, or a session paid after the cart's
    quantity was raised in another tab, leaves the units not paid for in the cart."""
    paid = {line.listing_id: line.quantity for line in order.lines.all()}
    # Only the items' rows: checkout locks the cart's row before the orders', this path holds an order's.
    items = CartItem.objects.select_for_update(of=("self",)).filter(cart__user_id=order.buyer_id, listing_id__in=paid)
    for item in items:
        if item.quantity > paid[item.listing_id]:
            item.quantity -= paid[item.listing_id]
            item.save(update_fields=["quantity"])
        else:
            item.delete()


def order_id_of(obj: CheckoutSession | PaymentIntent | Charge) -> int | None:
    """Our order id on a Stripe object (session, payment intent, charge): `metadata.order_id`, or a
    session's `client_reference_id`; None when the object is not one of our orders."""
    raw = obj.metadata.get("order_id") or (obj.client_reference_id if isinstance(obj, CheckoutSession) else None)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def checkout_group_id_of(obj: CheckoutSession | PaymentIntent | Charge) -> int | None:
    """Our checkout group id on a Stripe object of a payment for several shops (`metadata.checkout_group`)."""
    raw = obj.metadata.get("checkout_group")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def order_ids_of(obj: CheckoutSession | PaymentIntent | Charge) -> list[int]:
    """The orders a Stripe object pays: its one order, or every order of its checkout group (id order)."""
    order_id = order_id_of(obj)
    if order_id is not None:
        return [order_id]
    group_id = checkout_group_id_of(obj)
    if group_id is None:
        return []
    return list(Order.objects.filter(checkout_group_id=group_id).order_by("pk").values_list("pk", flat=True))


def order_mark_paid(*, session: CheckoutSession) -> Order | None:
    """Stripe says the session is paid: make the order paid, once, whoever calls first.

    Row lock + status check: the webhook and the success page may run this at the same moment;
    the second finds the order paid and only links its payment. The payment and its ledger postings
    are recorded in the same transaction (`payments.services.payment_record_charge`); the charge
    is read before the row lock is taken. Returns None when the session is not one of our orders.
    A session of several shops' orders settles each of them (`_group_mark_paid`) and returns the first.
    """
    order_id = order_id_of(session)
    if order_id is None:
        group_id = checkout_group_id_of(session)
        return _group_mark_paid(session=session, group_id=group_id) if group_id is not None else None
    if session.payment_status != "paid":
        return Order.objects.filter(pk=order_id).first()
    return _settle_paid(order_id, _paid_charge(session), session_id=session.id)


def order_mark_paid_by_intent(*, intent: PaymentIntent) -> Order | None:
    """Stripe says a PaymentIntent of ours succeeded (a saved card paid without Checkout): the same
    paid path as a Checkout Session's, with its payment, postings and emails, once."""
    order_id = order_id_of(intent)
    if order_id is None or intent.status != "succeeded":
        return None
    charge = intent.latest_charge
    if isinstance(charge, str) or charge is None:
        intent = gateway_checkout.payment_intent_retrieve(intent.id)
        charge = intent.latest_charge
    paid = charge_with_balance_transaction(charge=charge)[0] if isinstance(charge, Charge) else None
    return _settle_paid(order_id, paid, session_id=None)


def _settle_paid(order_id: int, charge: Charge | None, *, session_id: str | None) -> Order | None:
    """The one paid path, under the order's row lock (the charge is read before it is taken)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            return None
        if charge is not None:
            order.payment = payment_record_charge(charge=charge) or order.payment
        if order.status in PAID_STATUSES or order.status == OrderStatus.REFUNDED:
            order.save(update_fields=["payment", "updated_at"])
            return order
        if not seller_can_sell(Seller.objects.get(pk=order.seller_id)):
            _refund_late(order, why="seller_stopped_selling", message=SHOP_STOPPED_REFUNDED)
            return order
        if not try_reserve(order):
            _refund_late(order, why="sold_out_after_reservation_expired", message=SOLD_OUT_REFUNDED)
            return order
        _make_paid(order, session_id)
        return order


def _group_mark_paid(*, session: CheckoutSession, group_id: int) -> Order | None:
    """The paid session of a checkout group: each shop's order as `order_mark_paid` does for one,
    under the row locks of all of them (id order, as every path takes them).

    The payment is recorded once for the group; each order that can be delivered turns paid and
    gets its seller's transfer as an outbox row (`groups.order_transfer_to_seller`, after the
    commit); one that cannot (its shop stopped selling, its stock is gone after a late payment) is
    refunded alone, that order's amount from the platform's charge, with a sentence: the other
    shops' orders are not lost.
    """
    charge = _paid_charge(session) if session.payment_status == "paid" else None
    with transaction.atomic():
        orders = list(Order.objects.select_for_update().filter(checkout_group_id=group_id).order_by("pk"))
        if not orders or session.payment_status != "paid":
            return orders[0] if orders else None
        payment = payment_record_charge(charge=charge) if charge is not None else None
        if payment is not None:  # linked first: a refund of one of them finds it among the payment's orders
            Order.objects.filter(pk__in=[o.pk for o in orders], payment__isnull=True).update(payment=payment)
        for order in orders:
            order.payment = payment or order.payment
            if order.status in PAID_STATUSES or order.status == OrderStatus.REFUNDED:
                order.save(update_fields=["payment", "updated_at"])
                continue
            if not seller_can_sell(Seller.objects.get(pk=order.seller_id)):
                _refund_group_order(order, why="seller_stopped_selling", message=GROUP_SHOP_STOPPED_REFUNDED)
                continue
            if not try_reserve(order):
                _refund_group_order(order, why="sold_out_after_reservation_expired", message=GROUP_SOLD_OUT_REFUNDED)
                continue
            _make_paid(order, session.id)
            outbox_add(TRANSFER_TO_SELLER, order.pk, key=f"order-transfer:{order.pk}")
        return orders[0]


def _make_paid(order: Order, session_id: str | None) -> None:
    """Turn a locked order paid (its payment already set on it): stock kept, cart emptied, emails queued."""
    order.status = OrderStatus.PAID
    order.paid_at = timezone.now()
    order.closed_at = None
    order.status_message = ""
    order.payment_error = ""
    order.payment_confirming_since = None
    order.checkout_session_id = order.checkout_session_id or session_id
    order.save(
        update_fields=[
            "payment",
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


def _refund_group_order(order: Order, *, why: str, message: str) -> None:
    """Refund one shop's order of a payment for several shops: its amount from the platform's charge.
    Nothing was transferred for it, so nothing is reversed and no fee is involved."""
    payment = _payment_to_refund(order)
    amount = min(order.amount_total, payment_refundable(payment=payment))
    formatted = message.format(amount=money.format_money(order.amount_total, order.currency))
    _refund_and_close(order, payment, amount=amount, why=why, message=formatted, with_seller_share=False)


def _refund_late(order: Order, *, why: str, message: str) -> None:
    """A payment we will not keep (the stock is gone, or the shop stopped selling): refund it all,
    the seller's share and our fee included, release what the order still holds, tell the buyer."""
    payment = _payment_to_refund(order)
    left = payment_refundable(payment=payment)
    _refund_and_close(order, payment, amount=left, why=why, message=message, with_seller_share=True)


def _payment_to_refund(order: Order) -> Payment:
    if order.payment is None:
        raise Conflict(f"order {order.pk} is paid but has no payment to refund")
    return order.payment


def _refund_and_close(
    order: Order, payment: Payment, *, amount: int, why: str, message: str, with_seller_share: bool
) -> None:
    """Refund `amount` of a late payment and close the order as refunded, telling the buyer.

    The refund is a `payments.Refund` like any other, written here in the order's transaction and
    sent to Stripe once it commits (keyed by its row, retried by the outbox), then recorded and
    posted with what Stripe answers: with `with_seller_share`, its transfer reversal and fee refund.
    The order is locked and turns refunded here, so the webhook and the success page racing, or a
    retried webhook, refund once."""
    if amount > 0:
        refund = refund_create(
            payment=payment,
            amount=amount,
            origin=RefundOrigin.LATE_PAYMENT,
            reason=why.replace("_", " ").capitalize() + ".",
            order_id=order.pk,
            reverse_transfer=with_seller_share,
            refund_application_fee=with_seller_share,
        )
        transaction.on_commit(lambda: _submit_quietly(refund.pk))
    release_stock(order)
    order.status = OrderStatus.REFUNDED
    order.status_message = message
    order.closed_at = timezone.now()
    order.payment_confirming_since = None
    order.save(
        update_fields=[
            "payment",
            "status",
            "status_message",
            "closed_at",
            "stock_reserved",
            "payment_confirming_since",
            "updated_at",
        ]
    )
    order_refunds_refresh(order_id=order.pk)  # its refunded amount (the email's) is this order's part
    outbox_add("orders.email.order_refunded", order.pk, key=f"order-refunded:{order.pk}")


def _submit_quietly(refund_id: int) -> None:
    """Send the refund now, after the commit; when Stripe cannot be reached, the outbox sends it."""
    try:
        refund_submit(refund_id=refund_id)
    except DomainError as exc:
        logger.warning("refund %s not sent yet (the outbox will retry): %s", refund_id, exc.message)


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
    order_ids = order_ids_of(session)
    if not order_ids:
        return None
    with transaction.atomic():
        orders = list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk"))
        for order in orders:
            if order.status != OrderStatus.PENDING_PAYMENT:
                continue
            if only_current_session and order.checkout_session_id and order.checkout_session_id != session.id:
                continue
            close_order(order, status, message)
        return orders[0] if orders else None


def order_record_payment_error(*, order_id: int, message: str) -> None:
    """A declined attempt (`payment_intent.payment_failed`): the order stays payable and says why."""
    Order.objects.filter(pk=order_id, status=OrderStatus.PENDING_PAYMENT).update(
        payment_error=message[:300], updated_at=timezone.now()
    )


def order_record_charge(*, order_id: int | None, charge: Charge) -> None:
    """`charge.succeeded`: record the payment (and its postings) and link it to its order, which may
    still be pending: the session's own event makes the order paid.

    The charge is completed through Stripe first, then the order's row is locked before the payment
    is written, in the same order as `order_mark_paid` takes them: the two racing (the success page
    and this webhook) queue on the order instead of deadlocking on each other's rows."""
    if charge.status != "succeeded":
        return
    charge, _ = charge_with_balance_transaction(charge=charge)
    order_ids = [order_id] if order_id is not None else order_ids_of(charge)
    with transaction.atomic():
        order_ids = list(
            Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk").values_list("pk", flat=True)
        )
        payment = payment_record_charge(charge=charge)
        if payment is not None and order_ids:
            Order.objects.filter(pk__in=order_ids, payment__isnull=True).update(payment=payment)


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
    """The order, and the other shops' orders of its payment when it is a group's, say "we are
    confirming your payment"."""
    same_payment = Q(pk=order.pk)
    if order.checkout_group_id is not None:
        same_payment |= Q(checkout_group_id=order.checkout_group_id)
    Order.objects.filter(
        same_payment, status=OrderStatus.PENDING_PAYMENT, payment_confirming_since__isnull=True
    ).update(payment_confirming_since=timezone.now(), status_message=CONFIRMING, updated_at=timezone.now())
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
            message = SHOP_STOPPED if checkout_group_id_of(session) is None else GROUP_SHOP_STOPPED
            order = _close_unpaid(session, OrderStatus.CANCELED, message, only_current_session=True)
            closed += order is not None and order.status == OrderStatus.CANCELED
    return closed


def order_cancel(*, order: Order, buyer: Any) -> Order:
    """The buyer gives up a pending order: the session (a Buy now's PaymentIntent) is closed at Stripe
    first, so it cannot be paid afterwards, then the stock is released. One paid meanwhile makes the
    order paid. One canceled already is returned as it is (the stock was released once)."""
    if order.buyer_id != buyer.pk:
        raise NotFound("No such order.", code="order_not_found")
    if order.status == OrderStatus.CANCELED:  # a double click's second post: done already
        return order
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict("Only an order waiting for payment can be canceled.", code="order_not_cancelable")
    if order.is_buy_now:  # no session: its PaymentIntent is what must not be paid afterwards
        from orders.services.saved_cards import buy_now_cancel  # saved_cards builds on this module

        return buy_now_cancel(order=order)
    if order.checkout_session_id:
        try:
            gateway_checkout.checkout_session_expire(session_id=order.checkout_session_id, order_id=order.pk)
        except DomainError:
            synced = order_sync_from_stripe(order=order)
            if synced.status != OrderStatus.PENDING_PAYMENT:
                return synced
            raise
    together = [order.pk]
    if order.checkout_group_id is not None:
        together = list(
            Order.objects.filter(checkout_group_id=order.checkout_group_id).order_by("pk").values_list("pk", flat=True)
        )
    with transaction.atomic():
        for locked in Order.objects.select_for_update().filter(pk__in=together).order_by("pk"):
            if locked.status == OrderStatus.PENDING_PAYMENT:
                text = GROUP_CANCELED if len(together) > 1 else "You canceled this order. Nothing was charged."
                close_order(locked, OrderStatus.CANCELED, text)
        return Order.objects.get(pk=order.pk)


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
        )
        # A Buy now has no session but a PaymentIntent: `saved_cards.buy_now_sweep_abandoned`.
        .exclude(cart_fingerprint__startswith=BUY_NOW_FINGERPRINT_PREFIX)
        .values_list("pk", flat=True)[:limit]
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
                close_order(order, OrderStatus.CANCELED, "We could not start the payment. Nothing was charged.")
                changed += 1
    return changed
