"""Stripe's request semantics through the real SDK: auth, errors, unknown params, idempotency, scoping, lists."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import RETURN_URL, client_for, onboarded_account, raw


def test_missing_and_malformed_keys_are_401(sb: Sandbox) -> None:
    status, body, headers = raw(sb, "GET", "/v1/customers")
    assert status == 401 and body["error"]["type"] == "invalid_request_error"
    assert "You did not provide an API key" in body["error"]["message"]
    assert headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.AuthenticationError) as exc:
        client_for(sb, "sk_live_nope").v1.customers.list()
    assert exc.value.http_status == 401 and exc.value.json_body["error"]["code"] == "api_key_invalid"
    assert exc.value.request_id.startswith("req_")


def test_unknown_and_missing_params(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {"currency": "usd", "unit_amount": 100, "product_data": {"name": "x"}},
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": {"transfer_data": {"destination": seller}, "foo": "bar"},  # type: ignore[typeddict-unknown-key]
            }
        )
    assert exc.value.http_status == 400
    assert exc.value.user_message == "Received unknown parameter: payment_intent_data[foo]"
    assert exc.value.param == "payment_intent_data[foo]"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(params={"amount": 100, "currency": "usd"})  # type: ignore[typeddict-item]
    assert exc.value.code == "parameter_missing" and exc.value.param == "destination"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [{"price_data": {"currency": "usd", "product_data": {"name": "x"}, "unit_amount": 100}}],
            }
        )
    assert exc.value.param == "line_items[0][quantity]"


def test_resource_missing_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_nope")
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"
    assert exc.value.user_message == "No such customer: 'cus_nope'"
    assert exc.value.json_body["error"]["doc_url"].startswith("https://stripe.com/docs/error-codes/")


def test_idempotency_replay_mismatch_and_scope(client: stripe.StripeClient, sb: Sandbox) -> None:
    first = client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k1"})
    again = client.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k1"})
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.customers.create(params={"email": "b@example.com"}, options={"idempotency_key": "k1"})
    assert exc.value.http_status == 400 and "k1" in str(exc.value.user_message)
    # Same key on a connected account is a different key.
    seller = onboarded_account(client, sb)
    other = client.v1.customers.create(
        params={"email": "b@example.com"}, options={"idempotency_key": "k1", "stripe_account": seller}
    )
    assert other.id != first.id


def test_declines_are_replayed_too(client: stripe.StripeClient) -> None:
    params: dict = {
        "amount": 500,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
        "return_url": RETURN_URL,
    }
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "pay-1"})
    assert first.value.http_status == 402 and first.value.code == "card_declined"
    assert first.value.json_body["error"]["decline_code"] == "generic_decline"
    with pytest.raises(stripe.CardError) as second:
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "pay-1"})
    assert second.value.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.payment_intents.list().data) == 1


def test_stripe_account_scopes_objects(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    on_seller = client.v1.customers.create(params={"name": "x"}, options={"stripe_account": seller})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(on_seller.id)
    assert client.v1.customers.retrieve(on_seller.id, options={"stripe_account": seller}).id == on_seller.id
    assert client.v1.accounts.retrieve_current(options={"stripe_account": seller}).id == seller
    with pytest.raises(stripe.PermissionError) as exc:
        client.v1.balance.retrieve(options={"stripe_account": "acct_unknown"})
    assert exc.value.http_status == 403
    assert "does not have access to account 'acct_unknown' (or that account does not exist)" in str(
        exc.value.user_message
    )


def test_pagination_and_expand(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(5)]
    page1 = client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in page1.data] == ids[::-1][:2] and page1.has_more and page1.url == "/v1/customers"
    page2 = client.v1.customers.list(params={"limit": 2, "starting_after": page1.data[-1].id})
    assert [c.id for c in page2.data] == ids[::-1][2:4]
    back = client.v1.customers.list(params={"limit": 2, "ending_before": page2.data[0].id})
    assert [c.id for c in back.data] == [c.id for c in page1.data]
    assert [c.id for c in client.v1.customers.list().auto_paging_iter()] == ids[::-1]
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    expanded = client.v1.payment_intents.retrieve(pi.id, params={"expand": ["latest_charge.balance_transaction"]})
    assert expanded.latest_charge.balance_transaction.amount == 1000
    listed = client.v1.charges.list(params={"expand": ["data.balance_transaction"]})
    assert listed.data[0].balance_transaction.fee == 59


def test_payment_intent_lifecycle(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "capture_method": "manual"})
    assert pi.status == "requires_payment_method"
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa", "return_url": RETURN_URL})
    assert (pi.status, pi.amount_capturable) == ("requires_capture", 2000)
    pi = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1500})
    assert (pi.status, pi.amount_received) == ("succeeded", 1500)
    other = client.v1.payment_intents.create(params={"amount": 900, "currency": "usd"})
    canceled = client.v1.payment_intents.cancel(other.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            params={
                "amount": 900,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
    assert declined.value.json_body["error"]["decline_code"] == "insufficient_funds"


def test_destination_to_unonboarded_account_is_refused(client: stripe.StripeClient) -> None:
    acct = client.v1.accounts.create(params={"type": "express", "country": "US"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={"amount": 900, "currency": "usd", "transfer_data": {"destination": acct.id}}
        )
    assert exc.value.code == "insufficient_capabilities_for_transfer"
