"""Checkout Sessions: creation rules, paying with each test card, expiry, listing and line items."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import RETURN_URL, control, destination_session, fetch_no_redirect, get_json, onboarded_account


def test_session_shape_and_line_items(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    product = client.v1.products.create(params={"name": "Teapot"})
    price = client.v1.prices.create(params={"currency": "jpy", "unit_amount": 2500, "product": product.id})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {"price": price.id, "quantity": 2},
                {
                    "price_data": {"currency": "jpy", "unit_amount": 1000, "product_data": {"name": "Cup"}},
                    "quantity": 1,
                },
            ],
            "payment_intent_data": {"application_fee_amount": 600, "transfer_data": {"destination": seller}},
            "customer_email": "buyer@example.com",
            "client_reference_id": "order-9",
            "metadata": {"order": "9"},
            "success_url": "http://app/ok",
            "cancel_url": "http://app/cancel",
        }
    )
    assert session.id.startswith("cs_test_") and session.url.endswith(f"/hosted/checkout/{session.id}")
    assert (session.amount_total, session.currency, session.status, session.payment_status) == (
        6000,
        "jpy",
        "open",
        "unpaid",
    )
    assert session.payment_intent is None and session.expires_at == session.created + 86400
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [("Teapot", 2, 5000), ("Cup", 1, 1000)]
    status, _, page = fetch_no_redirect(session.url)
    assert status == 200 and "¥6,000" in page and 'id="cardNumber"' in page and "Cancel" in page


def test_decline_then_success_and_list_filter(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 2_000, 200)
    declined = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000009995")
    assert (declined["status"], declined["code"], declined["redirect_url"]) == ("declined", "insufficient_funds", None)
    assert declined["error"] == "Your card has insufficient funds."
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    ok = control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    assert ok["status"] == "succeeded" and ok["payment_intent"] == declined["payment_intent"]
    charges = client.v1.charges.list(params={"payment_intent": ok["payment_intent"]}).data
    assert sorted(c.status for c in charges) == ["failed", "succeeded"]
    found = client.v1.checkout.sessions.list(params={"payment_intent": ok["payment_intent"]}).data
    assert [s.id for s in found] == [session.id] and found[0].status == "complete"


def test_three_d_secure_complete_and_fail(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 2_000, 200)
    step = control(sb, f"checkout/sessions/{session.id}/pay", card="4000002500003155")
    assert step["status"] == "requires_action" and step["redirect_url"].endswith("/authenticate")
    assert client.v1.payment_intents.retrieve(step["payment_intent"]).status == "requires_action"
    failed = control(sb, f"checkout/sessions/{session.id}/authenticate", outcome="fail")
    assert failed["status"] == "declined"
    control(sb, f"checkout/sessions/{session.id}/pay", card="4000002500003155")
    done = control(sb, f"checkout/sessions/{session.id}/authenticate", outcome="complete")
    assert done["status"] == "succeeded" and done["redirect_url"].startswith("http://app/success")


def test_expire_and_clock_expiry(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    first = destination_session(client, seller, 2_000, 200)
    expired = client.v1.checkout.sessions.expire(first.id)
    assert expired.status == "expired" and expired.url is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(first.id)
    # Stripe's floor is 30 minutes from now; a minute more so a slow second between the calls cannot refuse it.
    expires_at = get_json(sb, "/_sandbox/clock")["now"] + 1860
    second = destination_session(client, seller, 2_000, 200, expires_at=expires_at)
    assert client.v1.checkout.sessions.retrieve(second.id).expires_at == expires_at
    control(sb, "clock/advance", seconds=1861)
    assert client.v1.checkout.sessions.retrieve(second.id).status == "expired"
    types = [e.type for e in client.v1.events.list(params={"type": "checkout.session.expired"}).data]
    assert types == ["checkout.session.expired", "checkout.session.expired"]


def test_refund_errors(client: stripe.StripeClient, sb: Sandbox) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "reason": "requested_by_customer"})
    assert (refund.amount, refund.status, refund.reason) == (1000, "succeeded", "requested_by_customer")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert exc.value.code == "charge_already_refunded"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": pi.latest_charge, "reverse_transfer": True})
    assert client.v1.charges.retrieve(pi.latest_charge).refunded is True


@pytest.mark.parametrize(("currency", "most"), [("usd", "$999,999.99"), ("jpy", "¥99,999,999")])
def test_a_charge_over_eight_digits_is_refused_as_stripe_does(
    client: stripe.StripeClient, sb: Sandbox, currency: str, most: str
) -> None:
    """Stripe refuses an amount over 99,999,999 minor units (amount_too_large), for a Checkout
    Session's total as for a PaymentIntent; 99,999,999 itself is accepted."""
    acct = onboarded_account(client, sb)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        destination_session(client, acct, 100_000_000, 1_000, currency=currency)
    assert exc.value.code == "amount_too_large"
    assert exc.value.user_message == f"Amount must be no more than {most}"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": 100_000_000, "currency": currency})
    assert exc.value.code == "amount_too_large"
    assert destination_session(client, acct, 99_999_999, 1_000, currency=currency).amount_total == 99_999_999


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_customer_with_an_email_finds_it_filled_in_and_fixed(
    client: stripe.StripeClient, sb: Sandbox, currency: str
) -> None:
    """Stripe: with `customer` given, "if the Customer already has a valid email set, the email will be
    prefilled and not editable in Checkout". The page showed an empty box to a signed-in buyer."""
    seller = onboarded_account(client, sb)
    customer = client.v1.customers.create(params={"email": "signed.in@example.com"})
    session = destination_session(client, seller, 2_000, 200, currency=currency, customer=customer.id)
    _, _, page = fetch_no_redirect(session.url)
    assert 'name="email" value="signed.in@example.com" readonly' in page
    plain = destination_session(client, seller, 2_000, 200, currency=currency)
    _, _, page = fetch_no_redirect(plain.url)
    assert 'name="email" value=""' in page and "readonly" not in page  # no customer: the buyer types it
