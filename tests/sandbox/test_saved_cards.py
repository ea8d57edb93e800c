"""Saved cards and 3-D Secure in the sandbox: SetupIntents, PaymentMethods, customer defaults, and PaymentIntents
confirmed by the server with a saved card (connect-behaviour.md section g, section 0 items 9 and 10)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import RETURN_URL, control, fetch_no_redirect, onboarded_account


def _events(client: stripe.StripeClient) -> list[str]:
    return [e.type for e in reversed(client.v1.events.list(params={"limit": 100}).data)]


def _save(client: stripe.StripeClient, customer: str, pm: str) -> stripe.SetupIntent:
    return client.v1.setup_intents.create(
        params={"customer": customer, "payment_method": pm, "confirm": True, "return_url": RETURN_URL}
    )


def test_setup_intent_saves_a_card_and_the_customer_default_follows_detach(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "b@example.com"})
    seti = _save(client, cus.id, "pm_card_visa")
    assert seti.status == "succeeded" and seti.payment_method.startswith("pm_") and seti.usage == "off_session"
    assert seti.payment_method != "pm_card_visa"  # a magic id becomes a PaymentMethod of its own
    pm = client.v1.payment_methods.retrieve(seti.payment_method)
    assert (pm.customer, pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year) == (
        cus.id,
        "visa",
        "4242",
        12,
        2034,
    )
    listed = client.v1.customers.payment_methods.list(cus.id)
    assert [p.id for p in listed.data] == [pm.id]
    cus = client.v1.customers.update(cus.id, params={"invoice_settings": {"default_payment_method": pm.id}})
    assert cus.invoice_settings.default_payment_method == pm.id
    client.v1.payment_methods.detach(pm.id)
    assert client.v1.customers.retrieve(cus.id).invoice_settings.default_payment_method is None
    assert client.v1.customers.payment_methods.list(cus.id).data == []
    types = _events(client)
    assert types == [
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
        "customer.updated",
        "payment_method.detached",
        "customer.updated",
    ]


def test_default_must_be_one_of_the_customers_cards(client: stripe.StripeClient) -> None:
    a = client.v1.customers.create(params={"email": "a@example.com"})
    b = client.v1.customers.create(params={"email": "b@example.com"})
    pm = _save(client, a.id, "pm_card_visa").payment_method
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update(b.id, params={"invoice_settings": {"default_payment_method": pm}})
    assert "does not have a payment method" in str(exc.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(pm, params={"customer": b.id})


@pytest.mark.parametrize(
    ("pm", "number", "on_setup"),
    [
        ("pm_card_authenticationRequiredOnSetup", "4000002500003155", True),
        ("pm_card_authenticationRequired", "4000002760003184", True),
        ("pm_card_authenticationRequiredSetupForOffSession", "4000003800000446", False),
    ],
)
def test_three_d_secure_cards_of_the_reference(
    client: stripe.StripeClient, sb: Sandbox, pm: str, number: str, on_setup: bool
) -> None:
    cus = client.v1.customers.create(params={"email": "b@example.com"})
    seti = _save(client, cus.id, pm)
    assert seti.status == ("requires_action" if on_setup else "succeeded")
    if on_setup:
        action = seti.next_action.redirect_to_url
        assert action.return_url == RETURN_URL
        status, location, _ = fetch_no_redirect(action.url, b"action=complete")
        assert status == 303 and location.startswith(RETURN_URL + "?")
        query = parse_qs(urlsplit(location).query)
        assert query["setup_intent"] == [seti.id] and query["redirect_status"] == ["succeeded"]
        seti = client.v1.setup_intents.retrieve(seti.id)
        assert seti.status == "succeeded"
    saved = client.v1.payment_methods.retrieve(seti.payment_method)
    assert saved.card.last4 == number[-4:]
    # On-session, every one of them asks for 3-D Secure.
    on = client.v1.payment_intents.create(
        params={
            "amount": 1_000,
            "currency": "usd",
            "customer": cus.id,
            "payment_method": saved.id,
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    assert on.status == "requires_action" and on.next_action.redirect_to_url.return_url == RETURN_URL
    # Off-session, only "always authenticate" is refused once the card is set up.
    params = {"amount": 1_000, "currency": "usd", "customer": cus.id, "payment_method": saved.id}
    if pm == "pm_card_authenticationRequired":
        with pytest.raises(stripe.CardError) as exc:
            client.v1.payment_intents.create(params={**params, "confirm": True, "off_session": True})
        assert exc.value.code == "authentication_required"
        refused = client.v1.payment_intents.retrieve(exc.value.error.payment_intent["id"])
        assert refused.status == "requires_payment_method"
    else:
        off = client.v1.payment_intents.create(params={**params, "confirm": True, "off_session": True})
        assert off.status == "succeeded"


def test_pi_3ds_returns_to_return_url_and_failure_reads_as_stripe(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    params = {
        "amount": 2_000,
        "currency": "jpy",
        "application_fee_amount": 200,
        "transfer_data": {"destination": seller},
        "payment_method": "pm_card_authenticationRequired",
        "confirm": True,
        "return_url": RETURN_URL + "?order=7",
    }
    pi = client.v1.payment_intents.create(params=params)
    assert pi.status == "requires_action"
    status, location, _ = fetch_no_redirect(pi.next_action.redirect_to_url.url, b"action=fail")
    assert status == 303 and location.startswith(RETURN_URL + "?order=7&payment_intent=" + pi.id)
    assert "redirect_status=failed" in location
    failed = client.v1.payment_intents.retrieve(pi.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"
    passed = client.v1.payment_intents.create(params=params)
    status, location, _ = fetch_no_redirect(passed.next_action.redirect_to_url.url, b"action=complete")
    assert "redirect_status=succeeded" in location
    done = client.v1.payment_intents.retrieve(passed.id, params={"expand": ["latest_charge"]})
    assert done.status == "succeeded" and done.latest_charge.transfer
    assert client.v1.transfers.retrieve(done.latest_charge.transfer).amount == 2_000
    types = _events(client)
    assert types.count("payment_intent.created") == 2 and types.count("payment_intent.requires_action") == 2


def test_pinned_version_rules_for_intents(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "payment_method_types": ["card"]})
    assert exc.value.code == "payment_method_types_no_longer_supported"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
    assert exc.value.param == "return_url"
    never = client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    assert never.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.setup_intents.create(params={"payment_method_types": ["card"]})
    assert exc.value.code == "payment_method_types_no_longer_supported"


@pytest.mark.parametrize(
    ("card", "decline"), [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeCustomerFail", None)]
)
def test_cards_that_decline_on_setup_or_only_on_charges(
    client: stripe.StripeClient, card: str, decline: str | None
) -> None:
    cus = client.v1.customers.create(params={"email": "b@example.com"})
    if decline:
        with pytest.raises(stripe.CardError) as exc:
            _save(client, cus.id, card)
        assert exc.value.error.decline_code == decline
        return
    pm = _save(client, cus.id, card).payment_method
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "customer": cus.id,
                "payment_method": pm,
                "confirm": True,
                "off_session": True,
            }
        )
    assert exc.value.code == "card_declined"


def test_checkout_setup_mode_saves_a_card(client: stripe.StripeClient, sb: Sandbox) -> None:
    cus = client.v1.customers.create(params={"email": "b@example.com"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": cus.id,
            "currency": "usd",
            "success_url": "http://app/ok?s={CHECKOUT_SESSION_ID}",
        }
    )
    assert session.setup_intent.startswith("seti_") and session.payment_status == "no_payment_required"
    step = control(sb, f"checkout/sessions/{session.id}/pay", card="4000002500003155")
    assert step["status"] == "requires_action"
    done = control(sb, f"checkout/sessions/{session.id}/authenticate", outcome="complete")
    assert done["status"] == "succeeded"
    session = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["setup_intent"]})
    assert session.status == "complete" and session.setup_intent.status == "succeeded"
    assert client.v1.payment_methods.retrieve(session.setup_intent.payment_method).customer == cus.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(
            params={
                "mode": "setup",
                "customer": cus.id,
                "success_url": "http://app/ok",
                "line_items": [
                    {
                        "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}},
                        "quantity": 1,
                    }
                ],
            }
        )


def test_checkout_setup_mode_requires_a_currency(client: stripe.StripeClient) -> None:
    """Stripe: `currency` is "Required in `setup` mode when `payment_method_types` is not set", and
    this API version takes no `payment_method_types`."""
    cus = client.v1.customers.create(params={"email": "c@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(params={"mode": "setup", "customer": cus.id, "success_url": "http://app/ok"})
    assert (exc.value.code, exc.value.param) == ("parameter_missing", "currency")
    session = client.v1.checkout.sessions.create(
        params={"mode": "setup", "customer": cus.id, "currency": "JPY", "success_url": "http://app/ok"}
    )
    assert session.currency == "jpy"


def test_a_card_saved_twice_has_two_payment_methods_with_one_fingerprint(client: stripe.StripeClient) -> None:
    """Stripe saves the same card again as a new PaymentMethod (it does not deduplicate), and
    `card.fingerprint` "uniquely identifies this particular card number" within the account, expiry
    aside (support.stripe.com, "How can I detect duplicate cards or bank accounts?"): what the app
    shows one saved card per card by. Another number, another fingerprint; another customer of the
    same account, the same one."""
    cus = client.v1.customers.create(params={"email": "b@example.com"})
    other = client.v1.customers.create(params={"email": "c@example.com"})
    first = client.v1.payment_methods.retrieve(_save(client, cus.id, "pm_card_visa").payment_method)
    again = client.v1.payment_methods.retrieve(_save(client, cus.id, "pm_card_visa").payment_method)
    mastercard = client.v1.payment_methods.retrieve(_save(client, cus.id, "pm_card_mastercard").payment_method)
    elsewhere = client.v1.payment_methods.retrieve(_save(client, other.id, "pm_card_visa").payment_method)
    assert first.id != again.id
    assert [p.id for p in client.v1.customers.payment_methods.list(cus.id).data] == [mastercard.id, again.id, first.id]
    assert isinstance(first.card.fingerprint, str) and first.card.fingerprint
    assert first.card.fingerprint == again.card.fingerprint == elsewhere.card.fingerprint
    assert mastercard.card.fingerprint != first.card.fingerprint
