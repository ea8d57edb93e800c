"""Saved cards and one-click payments: Checkout in `mode=setup`, PaymentMethods on the buyer's
Customer, the customer's default card, and PaymentIntents the server confirms with a saved card.

Why here: these are Stripe calls like any other, so they go through the one door and return the
typed objects of `gateway.types`. Every call that creates or changes something takes an
idempotency key derived from our own ids and the request's parameters.
"""

from __future__ import annotations

from typing import Any

from marketplace import gateway
from marketplace.gateway.types import CheckoutSession, Customer, PaymentIntent, PaymentMethod


def setup_session_create(
    *,
    user_id: int,
    attempt: str,
    customer: str,
    currency: str,
    success_url: str,
    cancel_url: str,
    expires_at: int,
) -> CheckoutSession:
    """Stripe's hosted page that saves a card on the buyer's Customer (`mode=setup`, usage
    off-session so renewals and one-click payments can use it). `attempt` (a token of the form the
    buyer submitted) is part of the key: a double click gets the same page, a new visit a new one.
    So are the parameters: the same form sent again once `expires_at` has moved on gets a page of
    its own, where the same key with other parameters is refused by Stripe. `currency` is required
    by Stripe in setup mode when `payment_method_types` is not given (this API version takes none)."""
    params: dict[str, Any] = {
        "mode": "setup",
        "customer": customer,
        "currency": currency,
        "client_reference_id": f"user-{user_id}",
        "metadata": {"user_id": str(user_id)},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": expires_at,
    }
    key = gateway.idempotency_key("setup-session-create", user_id, attempt, params=params)
    options = gateway.request_options(idempotency_key=key)
    return CheckoutSession.from_stripe(
        gateway.call(gateway.client().v1.checkout.sessions.create, params=params, options=options)
    )


def setup_session_retrieve(session_id: str) -> CheckoutSession:
    """A `mode=setup` session with its SetupIntent expanded (status, the saved card's id)."""
    params = {"expand": ["setup_intent"]}
    return CheckoutSession.from_stripe(
        gateway.call(gateway.client().v1.checkout.sessions.retrieve, session_id, params=params)
    )


def customer_retrieve(customer: str) -> Customer:
    """The Customer, for its default card (`invoice_settings.default_payment_method`)."""
    return Customer.from_stripe(gateway.call(gateway.client().v1.customers.retrieve, customer))


def payment_methods_list(*, customer: str) -> list[PaymentMethod]:
    """The cards saved on the Customer, newest first, every page of them. A person has a handful of
    cards, but Stripe saves the card again on every Checkout and every subscription started: one page
    of 100 left a buyer's oldest cards off the cards page."""
    with gateway.translate_errors():
        page = gateway.client().v1.customers.payment_methods.list(customer, {"type": "card", "limit": 100})
        return [PaymentMethod.from_stripe(pm) for pm in page.auto_paging_iter()]


def payment_method_retrieve(payment_method: str) -> PaymentMethod:
    return PaymentMethod.from_stripe(gateway.call(gateway.client().v1.payment_methods.retrieve, payment_method))


def customer_default_payment_method_set(
    *, customer: str, payment_method: str, replacing: str | None, change: str
) -> Customer:
    """Make a saved card the one used by default (Stripe refuses a card of another customer).

    `replacing` (the default it takes over from, or None) and `change` (what asked, with the count
    of the buyer's card changes made before it; or the removal of a card, which goes once) are in the
    key with the parameters: a double click reads the same default and count and is one change, while
    a change back to an earlier default (Visa, Mastercard, Visa) has a key of its own. Keyed by the
    cards and the page's visit alone, the third of Mastercard, Visa, Mastercard on one visit had the
    first's key within Stripe's 24 hours of keys: Stripe replayed the first answer and Visa stayed
    the default."""
    params: dict[str, Any] = {"invoice_settings": {"default_payment_method": payment_method}}
    key = gateway.idempotency_key("customer-default-card", customer, replacing or "none", change, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Customer.from_stripe(
        gateway.call(gateway.client().v1.customers.update, customer, params=params, options=options)
    )


def payment_method_detach(*, payment_method: str) -> PaymentMethod:
    """Remove a saved card from its customer (Stripe also clears it as the default)."""
    key = gateway.idempotency_key("payment-method-detach", payment_method)
    options = gateway.request_options(idempotency_key=key)
    return PaymentMethod.from_stripe(
        gateway.call(gateway.client().v1.payment_methods.detach, payment_method, options=options)
    )


def payment_intent_confirm_saved_card(
    *,
    order_id: int,
    customer: str,
    payment_method: str,
    amount: int,
    currency: str,
    application_fee_amount: int,
    destination: str,
    return_url: str,
) -> PaymentIntent:
    """Pay an order now with a saved card: a destination charge with our fee, created and confirmed
    by the server while the buyer is on the page (on-session, so a card that asks for 3-D Secure
    answers `requires_action` with the page to send the buyer to, and `return_url` brings them back).

    A decline raises `CardDeclined` with Stripe's sentence for the buyer. The key is the order: a
    retried request gets the first attempt's PaymentIntent, never a second charge."""
    metadata = {"order_id": str(order_id), "flow": "saved_card"}
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "payment_method": payment_method,
        "application_fee_amount": application_fee_amount,
        "transfer_data": {"destination": destination},
        "metadata": metadata,
        "confirm": True,
        "return_url": return_url,
    }
    key = gateway.idempotency_key("saved-card-payment", order_id, params=params)
    options = gateway.request_options(idempotency_key=key)
    return PaymentIntent.from_stripe(
        gateway.call(gateway.client().v1.payment_intents.create, params=params, options=options)
    )


def payment_intents_of_customer(customer: str, *, created_since: int | None = None) -> list[PaymentIntent]:
    """The customer's PaymentIntents, newest first: every page of them, back to `created_since`
    (Unix seconds) when given. One page of 100 missed the one looked for once the buyer had made
    100 newer ones."""
    params: dict[str, Any] = {"customer": customer, "limit": 100}
    if created_since is not None:
        params["created"] = {"gte": created_since}
    with gateway.translate_errors():
        page = gateway.client().v1.payment_intents.list(params)  # type: ignore[arg-type]
        return [PaymentIntent.from_stripe(pi) for pi in page.auto_paging_iter()]


def payment_intent_cancel(*, payment_intent_id: str, order_id: int, reason: str = "abandoned") -> PaymentIntent:
    """Cancel a saved-card payment left unfinished at the 3-D Secure page, so a late authentication can
    no longer charge the card: `abandoned` (the sweeper) or `requested_by_customer` (the buyer's
    Cancel). Keyed by the order: cancelled once."""
    params = {"cancellation_reason": reason}
    key = gateway.idempotency_key("saved-card-payment-cancel", order_id, payment_intent_id, params=params)
    return PaymentIntent.from_stripe(
        gateway.call(
            gateway.client().v1.payment_intents.cancel,
            payment_intent_id,
            params=params,
            options=gateway.request_options(idempotency_key=key),
        )
    )
