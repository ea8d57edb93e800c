"""Checkout Sessions, Customers, and the payment reads and refunds that orders and the ledger need.

Why here: these are Stripe calls like any other, so they go through the one door. Everything
returns the typed objects of `gateway.types`, so the orders app never touches the SDK's types nor
picks dicts apart. Every call that creates or changes something takes an idempotency key derived
from our own ids; callers pass the ids, this module builds the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marketplace import gateway
from marketplace.gateway.types import (
    ApplicationFeeRefund,
    Charge,
    CheckoutSession,
    Customer,
    PaymentIntent,
    Refund,
    TransferReversal,
)

# What the success page and the webhook handlers need to record an order's money in one read.
PAYMENT_EXPAND = ["payment_intent", "payment_intent.latest_charge", "payment_intent.latest_charge.balance_transaction"]


@dataclass(frozen=True)
class LineItem:
    """One line of the hosted page: a name, a unit amount in minor units and a quantity."""

    name: str
    unit_amount: int
    quantity: int


def customer_create(*, user_id: int, email: str) -> Customer:
    """The buyer's Stripe Customer (one per user: the key is the user's id, so a retry or a double
    click finds the one created first). The user id goes into metadata to trace it back."""
    params: dict[str, Any] = {"email": email, "metadata": {"user_id": str(user_id)}}
    options = gateway.request_options(
        idempotency_key=gateway.idempotency_key("customer-create", user_id, params=params)
    )
    return Customer.from_stripe(gateway.call(gateway.client().v1.customers.create, params=params, options=options))


def checkout_session_create(
    *,
    order_id: int,
    customer: str,
    currency: str,
    lines: Sequence[LineItem],
    application_fee_amount: int,
    destination: str,
    success_url: str,
    cancel_url: str,
    expires_at: int,
) -> CheckoutSession:
    """A `mode=payment` session paying one seller's order as a destination charge.

    Stripe moves the whole amount to `destination` and takes `application_fee_amount` back for the
    platform. The order id travels in `client_reference_id`, the session's metadata and the
    payment intent's metadata, so every later event (session, payment intent, charge) leads back to
    the order. The key is the order and the parameters: the SDK's retry of a timed-out request gets
    the session the first attempt made, and an attempt with other parameters (a later `expires_at`)
    gets a new session instead of Stripe's refusal. An order's contents never change (a changed cart
    is a new order), so the order id and the parameters say all the request is.
    """
    metadata = {"order_id": str(order_id)}
    params: dict[str, Any] = {
        "mode": "payment",
        "customer": customer,
        "client_reference_id": str(order_id),
        "metadata": metadata,
        "line_items": _line_items(lines, currency),
        "payment_intent_data": {
            "application_fee_amount": application_fee_amount,
            "transfer_data": {"destination": destination},
            "metadata": metadata,
        },
        "expires_at": expires_at,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    options = gateway.request_options(
        idempotency_key=gateway.idempotency_key("checkout-session-create", order_id, params=params)
    )
    session = gateway.call(gateway.client().v1.checkout.sessions.create, params=params, options=options)
    return CheckoutSession.from_stripe(session)


def _line_items(lines: Sequence[LineItem], currency: str) -> list[dict[str, Any]]:
    """Checkout's `line_items` for our lines: each priced inline (`price_data`), no Price object."""
    return [
        {
            "quantity": line.quantity,
            "price_data": {"currency": currency, "unit_amount": line.unit_amount, "product_data": {"name": line.name}},
        }
        for line in lines
    ]


def checkout_session_create_for_group(
    *,
    group_id: int,
    customer: str,
    currency: str,
    lines: Sequence[LineItem],
    transfer_group: str,
    success_url: str,
    cancel_url: str,
    expires_at: int,
) -> CheckoutSession:
    """A `mode=payment` session paying the orders of several shops at once (separate charges and
    transfers): the charge stays on the platform, in `transfer_group`, and each seller's share is
    sent afterwards by its own transfer (`gateway.transfers.transfer_create`). No `transfer_data`,
    no application fee: what the platform does not transfer is its fee.

    The group id travels in the session's and the payment intent's metadata (`checkout_group`), so
    every later event leads back to its orders. The key is the group and the parameters, as for
    `checkout_session_create`.
    """
    metadata = {"checkout_group": str(group_id)}
    params: dict[str, Any] = {
        "mode": "payment",
        "customer": customer,
        "client_reference_id": f"checkout_group_{group_id}",
        "metadata": metadata,
        "line_items": _line_items(lines, currency),
        "payment_intent_data": {"transfer_group": transfer_group, "metadata": metadata},
        "expires_at": expires_at,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    options = gateway.request_options(
        idempotency_key=gateway.idempotency_key("checkout-group-session-create", group_id, params=params)
    )
    session = gateway.call(gateway.client().v1.checkout.sessions.create, params=params, options=options)
    return CheckoutSession.from_stripe(session)


def checkout_session_retrieve(session_id: str, *, expand_payment: bool = True) -> CheckoutSession:
    """The session as Stripe sees it now; with its payment intent, charge and the charge's balance
    transaction expanded, so the ids and amounts of the charge, the transfer, the application fee
    and Stripe's processing fee come in the same read."""
    params: dict[str, Any] = {"expand": PAYMENT_EXPAND} if expand_payment else {}
    session = gateway.call(gateway.client().v1.checkout.sessions.retrieve, session_id, params=params)
    return CheckoutSession.from_stripe(session)


def checkout_session_expire(*, session_id: str, order_id: int) -> CheckoutSession:
    """Close an open session so nobody can pay it any more (the buyer changed their cart, or the
    sweeper found it overdue). Stripe refuses to expire a session that is not open; the caller
    re-reads the session then, because it may have been paid meanwhile."""
    key = gateway.idempotency_key("checkout-session-expire", order_id, session_id)
    options = gateway.request_options(idempotency_key=key)
    session = gateway.call(gateway.client().v1.checkout.sessions.expire, session_id, options=options)
    return CheckoutSession.from_stripe(session)


def payment_intent_retrieve(payment_intent_id: str) -> PaymentIntent:
    """The payment intent with its latest charge and its balance transaction expanded (charge,
    transfer, fee ids and amounts, Stripe's processing fee)."""
    params = {"expand": ["latest_charge", "latest_charge.balance_transaction"]}
    intent = gateway.call(gateway.client().v1.payment_intents.retrieve, payment_intent_id, params=params)
    return PaymentIntent.from_stripe(intent)


def charge_retrieve(charge_id: str, *, account: str | None = None) -> Charge:
    """The charge with its balance transaction expanded: `charge.balance_transaction.fee` is what
    Stripe took for processing it, which only the balance transaction says. For a charge on a
    connected account (a destination charge's `py_` payment) pass the account."""
    params = {"expand": ["balance_transaction"]}
    options = gateway.request_options(account=account)
    charge = gateway.call(gateway.client().v1.charges.retrieve, charge_id, params=params, options=options)
    return Charge.from_stripe(charge)


def refund_create(
    *,
    charge: str,
    idempotency_ids: Sequence[object],
    amount: int,
    reverse_transfer: bool,
    refund_application_fee: bool,
    reason: str | None = "requested_by_customer",
    metadata: dict[str, str] | None = None,
) -> Refund:
    """Refund `amount` of a charge, with its transfer reversal expanded.

    On a destination charge, `reverse_transfer` takes the seller's share back from the connected
    account, in proportion to the refund; `refund_application_fee` gives the same proportion of the
    platform's fee back *to the seller* (Stripe allows it only together with `reverse_transfer`).
    A refund that leaves nothing of the charge reverses all that is left of the transfer and refunds
    all that is left of the fee instead, the shares of earlier refunds the platform paid included.
    Without either the platform pays the whole refund. `idempotency_ids` are our own ids of the
    refund (its row), so a double click or a retry makes one Stripe refund. Stripe refuses a
    reversal the seller's balance cannot cover: `InvalidInput` with code `balance_insufficient`."""
    params: dict[str, Any] = {
        "charge": charge,
        "amount": amount,
        "metadata": metadata or {},
        "expand": ["transfer_reversal"],
    }
    if reason:
        params["reason"] = reason
    if reverse_transfer:
        params["reverse_transfer"] = True
    if refund_application_fee:
        params["refund_application_fee"] = True
    key = gateway.idempotency_key("refund-create", *idempotency_ids, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Refund.from_stripe(gateway.call(gateway.client().v1.refunds.create, params=params, options=options))


def refund_retrieve(refund_id: str) -> Refund:
    """The refund as Stripe sees it now, with its transfer reversal expanded (webhook handlers
    re-read, because refund events arrive late and out of order)."""
    params = {"expand": ["transfer_reversal"]}
    return Refund.from_stripe(gateway.call(gateway.client().v1.refunds.retrieve, refund_id, params=params))


def refunds_of_charge(charge_id: str) -> list[Refund]:
    """Every refund of a charge (newest first), transfer reversals expanded: how a refund made in
    the Stripe Dashboard, which we never started, is found and recorded."""
    params: dict[str, Any] = {"charge": charge_id, "limit": 100, "expand": ["data.transfer_reversal"]}
    with gateway.translate_errors():
        page = gateway.client().v1.refunds.list(params)  # type: ignore[arg-type]
        return [Refund.from_stripe(refund) for refund in page.auto_paging_iter()]


def transfer_reversals_list(transfer_id: str) -> list[TransferReversal]:
    """Every reversal of a transfer (a refund's share, a dispute's recovery)."""
    with gateway.translate_errors():
        page = gateway.client().v1.transfers.reversals.list(transfer_id, {"limit": 100})
        return [TransferReversal.from_stripe(reversal) for reversal in page.auto_paging_iter()]


def application_fee_refunds_list(application_fee_id: str) -> list[ApplicationFeeRefund]:
    """Every refund of an application fee. Stripe links a fee refund to neither the refund nor the
    reversal that caused it, so the ledger records each fee refund on its own id."""
    with gateway.translate_errors():
        page = gateway.client().v1.application_fees.refunds.list(application_fee_id, {"limit": 100})
        return [ApplicationFeeRefund.from_stripe(fee_refund) for fee_refund in page.auto_paging_iter()]
