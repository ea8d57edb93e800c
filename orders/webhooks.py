"""Stripe events that move orders. Registered with the webhook pipeline's registry.

Stripe delivers late, twice and out of order, so every handler is idempotent and re-reads or
checks state before acting: the "paid" path re-reads the session from Stripe (with its payment
expanded) and goes through `order_mark_paid`, which the success page uses too; the others only
move an order forward from `pending_payment` or link its payment. The seller's side of the money
(`transfer.created`, `application_fee.created`) is `payouts.webhooks`. Each reads `data.object`
as the gateway's typed object (`event.stripe_object`). One more keeps "Buy now" current: a buyer's
cards changed at Stripe (`buyer_cards_changed`).
"""

from __future__ import annotations

from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import Charge, CheckoutSession, Customer, PaymentError, PaymentIntent, PaymentMethod
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from orders import services
from orders.services import saved_cards


@webhook_handler("checkout.session.completed", "checkout.session.async_payment_succeeded")
def session_paid(event: WebhookEvent) -> None:
    """Paid now (card) or later (a delayed method succeeded): re-read, then the one paid path. A
    completed setup page (a card saved) does what the buyer's coming back to it does."""
    obj = event.stripe_object(CheckoutSession)
    if obj.mode == "setup":
        saved_cards.saved_card_setup_completed(session_id=obj.id)
        return
    if not services.order_ids_of(obj) or obj.payment_status != "paid":
        return  # not ours, or an async payment still processing: its own event will follow
    services.order_mark_paid(session=gateway_checkout.checkout_session_retrieve(obj.id))


@webhook_handler("checkout.session.expired")
def session_expired(event: WebhookEvent) -> None:
    services.order_expire(session=event.stripe_object(CheckoutSession))


@webhook_handler("checkout.session.async_payment_failed")
def session_payment_failed(event: WebhookEvent) -> None:
    services.order_mark_payment_failed(session=event.stripe_object(CheckoutSession))


@webhook_handler("payment_intent.succeeded")
def payment_intent_succeeded(event: WebhookEvent) -> None:
    """A saved-card payment ("Buy now") succeeded, perhaps after a 3-D Secure page the buyer never
    came back from: re-read it and settle the order through the one paid path. Checkout's own
    payment intents are settled by their session's events."""
    intent = event.stripe_object(PaymentIntent)
    if intent.metadata.get("flow") == "saved_card":
        saved_cards.buy_now_event(intent=intent)


@webhook_handler("payment_intent.payment_failed")
def payment_attempt_failed(event: WebhookEvent) -> None:
    """A failed attempt (declined card, failed 3-D Secure): a Checkout order stays payable and says
    why; a saved-card order is closed with the reason."""
    intent = event.stripe_object(PaymentIntent)
    if intent.metadata.get("flow") == "saved_card":
        saved_cards.buy_now_event(intent=intent)
        return
    for order_id in services.order_ids_of(intent):
        services.order_record_payment_error(order_id=order_id, message=buyer_sentence(intent.last_payment_error))


def buyer_sentence(error: PaymentError | None) -> str:
    """Why an attempt failed, in words for the buyer. Stripe means only a `card_error`'s message for
    the customer; other errors (a failed authentication is an `invalid_request_error`) carry text
    written for developers, so those get our own sentence."""
    if error is not None and error.code == "payment_intent_authentication_failure":
        return "Your bank could not confirm it was you (3-D Secure). Try again, or use another card."
    if error is not None and error.type == "card_error" and error.message:
        return error.message
    return "The payment did not go through. Try again, or use another card."


@webhook_handler("payment_method.attached", "payment_method.detached", "customer.updated")
def buyer_cards_changed(event: WebhookEvent) -> None:
    """A buyer's saved cards changed at Stripe, whoever changed them: a card attached (a Checkout
    payment that saved it), detached, or a new default (`invoice_settings`). The "Buy now" offer
    remembered for the buyer is forgotten. Other changes of a customer (its email) are not about cards;
    a connected account's own customers are not our buyers."""
    if event.account:
        return
    if event.type == "customer.updated":
        if "invoice_settings" in event.previous_attributes:
            saved_cards.buyer_cards_changed(customer=event.stripe_object(Customer).id)
        return
    card = event.stripe_object(PaymentMethod)
    customer = card.customer or event.previous_attributes.get("customer")  # detached: the one it left
    if isinstance(customer, str) and customer:
        saved_cards.buyer_cards_changed(customer=customer)


@webhook_handler("charge.succeeded")
def charge_succeeded(event: WebhookEvent) -> None:
    """The payment and its ledger postings; an outage reading the balance transaction raises, so
    the event is retried with nothing half-posted (the handler commits with the event)."""
    charge = event.stripe_object(Charge)
    services.order_record_charge(order_id=services.order_id_of(charge), charge=charge)
