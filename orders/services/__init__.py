"""Writes of orders, one module per concern:

- `checkout`: a cart group becomes an order with reserved stock and a Checkout Session;
- `groups`: a cart with several shops paid once (a checkout group), and each seller's transfer;
- `payment_state`: Stripe's answers (webhooks, success page, sweepers) settle it: paid once (with
  its `payments.Payment` and ledger postings), expired, failed, canceled, refunded late;
- `fulfilment`: shipped, then received;
- `refunds`: the buyer's refund requests, the seller's or an admin's decisions, and the refunds;
- `saved_cards`: cards saved on the buyer's Customer, and "Buy now" with one (settled by the same
  paid path as Checkout).

Callers import the names below from `orders.services`; they are what other apps, pages, tasks and
tests use, and nothing more. `refunds` and `saved_cards` are not re-exported: callers import them
as modules of their own (`orders.services.refunds`, `orders.services.saved_cards`), as they do
`checkout.buyer_customer_ensure`, which subscriptions share.
"""

from orders.services.checkout import CHECKOUT_LIFETIME, CheckoutStart, checkout_start, order_session_expire
from orders.services.fulfilment import order_complete, order_mark_fulfilled
from orders.services.groups import (
    CartCheckoutStart,
    checkout_start_cart,
    order_transfer_failed,
    order_transfer_retry,
    order_transfer_to_seller,
)
from orders.services.payment_state import (
    PAYMENT_NOT_COMPLETED,
    SWEEP_GRACE,
    order_cancel,
    order_confirm_payment,
    order_expire,
    order_id_of,
    order_ids_of,
    order_mark_paid,
    order_mark_payment_failed,
    order_record_charge,
    order_record_payment_error,
    order_sync_from_stripe,
    orders_close_checkouts_of_seller,
    orders_confirm_payments,
    orders_sweep_expired,
)

__all__ = [
    "CHECKOUT_LIFETIME",
    "PAYMENT_NOT_COMPLETED",
    "SWEEP_GRACE",
    "CartCheckoutStart",
    "CheckoutStart",
    "checkout_start",
    "checkout_start_cart",
    "order_cancel",
    "order_complete",
    "order_confirm_payment",
    "order_expire",
    "order_id_of",
    "order_ids_of",
    "order_mark_fulfilled",
    "order_mark_paid",
    "order_mark_payment_failed",
    "order_record_charge",
    "order_record_payment_error",
    "order_session_expire",
    "order_sync_from_stripe",
    "order_transfer_failed",
    "order_transfer_retry",
    "order_transfer_to_seller",
    "orders_close_checkouts_of_seller",
    "orders_confirm_payments",
    "orders_sweep_expired",
]
