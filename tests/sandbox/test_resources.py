"""The smaller resources: updates with their events, payout cancel, catalog CRUD, list filters."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import RETURN_URL, control, destination_session, onboarded_account


def test_updates_emit_events_with_previous_attributes(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "metadata": {"a": "1"}})
    pi = client.v1.payment_intents.update(pi.id, params={"amount": 1200, "metadata": {"b": "2"}})
    assert pi.amount == 1200 and pi.metadata.to_dict() == {"a": "1", "b": "2"}
    pi = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa", "return_url": RETURN_URL})
    charge = client.v1.charges.update(pi.latest_charge, params={"description": "Order 7"})
    assert charge.description == "Order 7"
    event = client.v1.events.list(params={"type": "charge.updated"}).data[0]
    assert event.data.previous_attributes["description"] is None
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"amount": 5})
    assert exc.value.code == "payment_intent_unexpected_state"
    assert exc.value.json_body["error"]["request_log_url"].endswith(exc.value.request_id)


def test_payout_cancel_returns_funds(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 5_000, 500)
    control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000077")
    opts: dict = {"stripe_account": seller}
    payout = client.v1.payouts.create(params={"amount": 1_000, "currency": "usd"}, options=opts)
    canceled = client.v1.payouts.cancel(payout.id, options=opts)
    assert canceled.status == "canceled" and canceled.failure_balance_transaction
    bal = client.v1.balance.retrieve(options=opts)
    assert bal.available[0].amount == 4_500
    types = [e.type for e in client.v1.events.list(options=opts).data]
    assert "payout.canceled" in types and "payout.created" in types
    txns = client.v1.balance_transactions.list(params={"type": "payout"}, options=opts).data
    assert [t.amount for t in txns] == [-1_000]


def test_catalog_crud(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"email": "c@example.com", "name": "C", "metadata": {"u": "1"}})
    assert cus.id.startswith("cus_")
    assert client.v1.customers.update(cus.id, params={"name": "D"}).name == "D"
    assert client.v1.customers.list(params={"email": "c@example.com"}).data[0].id == cus.id
    assert client.v1.customers.delete(cus.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(cus.id)
    price = client.v1.prices.create(params={"currency": "eur", "unit_amount": 990, "product_data": {"name": "Book"}})
    assert price.id.startswith("price_") and price.type == "one_time" and price.unit_amount == 990
    product = client.v1.products.retrieve(price.product)
    assert product.name == "Book"
    assert client.v1.prices.list(params={"product": product.id}).data[0].id == price.id
    assert client.v1.products.update(product.id, params={"active": False}).active is False


def test_transfer_filters_and_reversal_listing(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(
        client,
        seller,
        5_000,
        500,
        payment_intent_data={
            "application_fee_amount": 500,
            "transfer_data": {"destination": seller},
            "transfer_group": "order_5",
        },
    )
    control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    transfers = client.v1.transfers.list(params={"destination": seller}).data
    assert len(transfers) == 1 and transfers[0].transfer_group == "order_5"
    assert client.v1.transfers.list(params={"transfer_group": "nope"}).data == []
    rev = client.v1.transfers.reversals.create(transfers[0].id, params={"amount": 1_000, "metadata": {"why": "x"}})
    assert client.v1.transfers.reversals.retrieve(transfers[0].id, rev.id).amount == 1_000
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.reversals.create(transfers[0].id, params={"amount": 10_000})
    fees = client.v1.application_fees.list().data
    refund = client.v1.application_fees.refunds.create(fees[0].id, params={"amount": 100})
    assert refund.id.startswith("fr_") and client.v1.application_fees.retrieve(fees[0].id).amount_refunded == 100
