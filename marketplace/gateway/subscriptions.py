"""Subscriptions sold by sellers: Checkout `mode=subscription`, the subscription and invoice reads
the webhooks need, pausing a subscription's collection, ending one at its period end for the shop,
the card a subscription charges (moved with the buyer's saved cards), and Stripe's customer portal.

Why here: the one door to Stripe. Each paid invoice of a subscription made here is a destination
charge: `subscription_data.transfer_data.destination` is the seller's account and
`application_fee_percent` the platform's share (connect-behaviour.md section g). Every call that
creates something carries an idempotency key derived from our ids and the request's parameters.
"""

from __future__ import annotations

from typing import Any

from marketplace import gateway
from marketplace.gateway.types import BillingPortalSession, CheckoutSession, Invoice, Subscription


def subscription_checkout_create(
    *,
    user_id: int,
    listing_id: int,
    attempt: str,
    customer: str,
    seller_account: str,
    product_name: str,
    unit_amount: int,
    currency: str,
    interval: str,
    application_fee_percent: str,
    success_url: str,
    cancel_url: str,
    expires_at: int,
) -> CheckoutSession:
    """Stripe's hosted page that starts a subscription to one listing for the buyer's Customer.

    `application_fee_percent` is a decimal string with at most two decimals ("12.5"), as Stripe
    takes it. `attempt` (the form's token) is in the key: a double submit gets the same page."""
    metadata = {"listing_id": str(listing_id), "user_id": str(user_id)}
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer,
        "client_reference_id": f"user-{user_id}",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": unit_amount,
                    "product_data": {"name": product_name, "metadata": {"listing_id": str(listing_id)}},
                    "recurring": {"interval": interval},
                },
                "quantity": 1,
            }
        ],
        "subscription_data": {
            "application_fee_percent": application_fee_percent,
            "transfer_data": {"destination": seller_account},
            "metadata": metadata,
        },
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": expires_at,
    }
    key = gateway.idempotency_key("subscription-checkout", user_id, listing_id, attempt, params=params)
    options = gateway.request_options(idempotency_key=key)
    return CheckoutSession.from_stripe(
        gateway.call(gateway.client().v1.checkout.sessions.create, params=params, options=options)
    )


def open_checkouts_of_customer(customer: str) -> list[CheckoutSession]:
    """The customer's Checkout Sessions still open (any mode), newest first: the pages on which the
    buyer could still pay."""
    params: dict[str, Any] = {"customer": customer, "status": "open", "limit": 100}
    with gateway.translate_errors():
        page = gateway.client().v1.checkout.sessions.list(params)  # type: ignore[arg-type]
        return [CheckoutSession.from_stripe(session) for session in page.auto_paging_iter()]


def checkout_expire(session_id: str) -> CheckoutSession:
    """Close a subscription's Checkout page so nobody can pay it any more (a newer page for the same
    buyer and listing replaced it). Stripe refuses a session that is not open (`InvalidInput`): it
    was paid or expired meanwhile."""
    options = gateway.request_options(
        idempotency_key=gateway.idempotency_key("subscription-checkout-expire", session_id)
    )
    return CheckoutSession.from_stripe(
        gateway.call(gateway.client().v1.checkout.sessions.expire, session_id, options=options)
    )


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    return CheckoutSession.from_stripe(gateway.call(gateway.client().v1.checkout.sessions.retrieve, session_id))


def subscription_retrieve(subscription_id: str) -> Subscription:
    """The subscription as it is now: webhooks arrive late and out of order, so handlers read this."""
    return Subscription.from_stripe(gateway.call(gateway.client().v1.subscriptions.retrieve, subscription_id))


def subscription_collection_pause(*, subscription_id: str, paused: bool, change: str) -> Subscription:
    """Stop charging the buyer while the seller's shop cannot take payments (paused here, or disabled
    by Stripe), or start again. Stripe's "unable to provide services" case:
    `pause_collection[behavior]=void`, each renewal's invoice is voided and nothing is charged; the
    subscription stays active. `""` resumes collection. The key holds the change that asked (the
    moderation entry of a pause or unpause, or the read of the account that saw Stripe disable or
    enable the shop: each is its own), so a retry of one is one change and a later pause is not
    answered with an earlier unpause's replay."""
    params: dict[str, Any] = {"pause_collection": {"behavior": "void"} if paused else ""}
    key = gateway.idempotency_key("subscription-collection", subscription_id, change, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Subscription.from_stripe(
        gateway.call(gateway.client().v1.subscriptions.update, subscription_id, params=params, options=options)
    )


def subscription_fee_percent_set(*, subscription_id: str, percent: str, change: str) -> Subscription:
    """The platform's percent of the subscription's invoices from the next one on (the paid ones keep
    their fee). `change` names the fee policy's change that asked: a retry of one change is one update,
    and a later change back to an earlier percent is not answered with that earlier update's replay."""
    params: dict[str, Any] = {"application_fee_percent": percent}
    key = gateway.idempotency_key("subscription-fee-percent", subscription_id, change, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Subscription.from_stripe(
        gateway.call(gateway.client().v1.subscriptions.update, subscription_id, params=params, options=options)
    )


def subscription_cancel_at_period_end_set(*, subscription_id: str, end: bool, change: str) -> Subscription:
    """The shop ends the subscription at its period end (`end`), or undoes that: Stripe charges nothing
    more, the buyer keeps the period paid for (no refund, no proration), and Stripe cancels it when the
    period ends (`customer.subscription.deleted`). `change` names the shop's change (the subscription
    and how many it made before): a retry or double click of one change is one update, while an end,
    its undo and a second end are three real calls, not replays of the first."""
    params: dict[str, Any] = {"cancel_at_period_end": end}
    key = gateway.idempotency_key("subscription-cancel-at-period-end", subscription_id, change, params=params)
    options = gateway.request_options(idempotency_key=key)
    return Subscription.from_stripe(
        gateway.call(gateway.client().v1.subscriptions.update, subscription_id, params=params, options=options)
    )


def subscriptions_of_customer(customer: str) -> list[Subscription]:
    """The customer's subscriptions not canceled (Stripe's default filter, which keeps `incomplete`
    and `incomplete_expired` ones: callers pick the statuses they mean), newest first, every page:
    which card each one charges is its own `default_payment_method`, else the customer's default."""
    params: dict[str, Any] = {"customer": customer, "limit": 100}
    with gateway.translate_errors():
        page = gateway.client().v1.subscriptions.list(params)  # type: ignore[arg-type]
        return [Subscription.from_stripe(sub) for sub in page.auto_paging_iter()]


def subscription_default_payment_method_set(
    *, subscription_id: str, payment_method: str, replacing: str | None, change: str
) -> Subscription:
    """The card the subscription's next invoices charge. Checkout sets the subscription's own
    `default_payment_method`, which wins over the customer's `invoice_settings.default_payment_method`,
    so a new default card reaches a subscription only through this.

    `replacing` (the card it takes over from) and `change` (what asked: the cards page's visit with
    the count of the buyer's card changes made before it, or the removal of the card replaced) are in
    the key with the parameters: a double click is one update, while moving the subscription to Visa,
    to Mastercard and back to Visa, on one visit or several, are three, not a replay of the first."""
    params: dict[str, Any] = {"default_payment_method": payment_method}
    key = gateway.idempotency_key(
        "subscription-default-card", subscription_id, replacing or "none", change, params=params
    )
    options = gateway.request_options(idempotency_key=key)
    return Subscription.from_stripe(
        gateway.call(gateway.client().v1.subscriptions.update, subscription_id, params=params, options=options)
    )


def subscription_cancel(subscription_id: str) -> Subscription:
    """End a subscription now (a second one of the same buyer to the same listing). Stripe charges
    nothing more; what it already took is refunded by the caller."""
    options = gateway.request_options(idempotency_key=gateway.idempotency_key("subscription-cancel", subscription_id))
    return Subscription.from_stripe(
        gateway.call(gateway.client().v1.subscriptions.cancel, subscription_id, options=options)
    )


def invoice_ids_of_subscription(subscription_id: str) -> list[str]:
    """Every invoice of a subscription, newest first; read each with `invoice_retrieve` for its payments."""
    params: dict[str, Any] = {"subscription": subscription_id, "limit": 100}
    with gateway.translate_errors():
        page = gateway.client().v1.invoices.list(params)  # type: ignore[arg-type]
        return [str(invoice.id) for invoice in page.auto_paging_iter()]


def invoice_retrieve(invoice_id: str) -> Invoice:
    """The invoice with its payments' PaymentIntents and their charges expanded (the charge is what
    the ledger posts)."""
    params = {"expand": ["payments.data.payment.payment_intent.latest_charge"]}
    return Invoice.from_stripe(gateway.call(gateway.client().v1.invoices.retrieve, invoice_id, params=params))


def invoice_void(invoice_id: str) -> None:
    """Make an unpaid invoice unpayable: Stripe leaves a canceled subscription's last invoice open, and
    its hosted page (linked from our emails) would still take the buyer's money. Stripe refuses an
    invoice paid or voided meanwhile (`InvalidInput`); re-read it then."""
    options = gateway.request_options(idempotency_key=gateway.idempotency_key("invoice-void", invoice_id))
    gateway.call(gateway.client().v1.invoices.void_invoice, invoice_id, options=options)


def billing_portal_session_create(*, customer: str, return_url: str, visit: str) -> BillingPortalSession:
    """A one-visit link to Stripe's customer portal (cancel, change card, invoices); `visit` (the
    form's token) is in the key, so a double click opens one session and each visit a fresh one."""
    params = {"customer": customer, "return_url": return_url}
    key = gateway.idempotency_key("billing-portal-session", customer, visit, params=params)
    options = gateway.request_options(idempotency_key=key)
    return BillingPortalSession.from_stripe(
        gateway.call(gateway.client().v1.billing_portal.sessions.create, params=params, options=options)
    )
