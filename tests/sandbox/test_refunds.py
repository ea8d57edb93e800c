"""Refunds of destination charges as Stripe makes them (connect-behaviour.md, section a): refused when
the seller cannot give its share back, the fee refund only together with the reversal, and the test
cards whose refunds stay pending or fail later. USD and JPY."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import balances, control, destination_session, onboarded_account

DAY = 86400
CURRENCIES = [("usd", "US"), ("jpy", "JP")]


def _paid(client: stripe.StripeClient, sb: Sandbox, currency: str, country: str, card: str) -> tuple[Any, str]:
    seller = onboarded_account(client, sb, country=country)
    session = destination_session(client, seller, 10_000, 1_000, currency)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card=card)
    pi = client.v1.payment_intents.retrieve(result["payment_intent"])
    return client.v1.charges.retrieve(pi.latest_charge), seller


def _events(client: stripe.StripeClient, kind: str) -> list[Any]:
    return list(client.v1.events.list(params={"type": kind, "limit": 100}).data)


@pytest.mark.parametrize(("currency", "country"), CURRENCIES)
def test_a_reversal_the_seller_cannot_cover_refuses_the_refund_and_moves_nothing(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    charge, seller = _paid(client, sb, currency, country, "4242424242424242")
    control(sb, "clock/advance", seconds=4 * DAY)  # the seller's 9000 is paid out
    assert balances(client, seller, currency) == (0, 0)
    platform_before = balances(client, None, currency)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(
            params={"charge": charge.id, "amount": 3_000, "reverse_transfer": True, "refund_application_fee": True}
        )

    assert refused.value.code == "balance_insufficient" and seller in str(refused.value.user_message)
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 0
    assert client.v1.refunds.list(params={"charge": charge.id}).data == []
    assert balances(client, None, currency) == platform_before and balances(client, seller, currency) == (0, 0)
    assert _events(client, "refund.created") == []
    # Without the reversal the platform pays, and that Stripe accepts.
    paid_by_platform = client.v1.refunds.create(params={"charge": charge.id, "amount": 3_000})
    assert paid_by_platform.status == "succeeded" and paid_by_platform.transfer_reversal is None


@pytest.mark.parametrize(("currency", "country"), CURRENCIES)
def test_a_reversal_may_take_the_sellers_pending_funds_net_of_the_fee_refund(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    """Right after the sale the seller's 9000 is pending: a full refund reverses 10000 and gives the
    1000 fee back, which the 9000 covers; without the fee refund the 10000 is more than it holds."""
    charge, seller = _paid(client, sb, currency, country, "4242424242424242")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"charge": charge.id, "reverse_transfer": True})
    assert refused.value.code == "balance_insufficient"
    full = client.v1.refunds.create(
        params={"charge": charge.id, "reverse_transfer": True, "refund_application_fee": True}
    )
    assert full.amount == 10_000 and sum(balances(client, seller, currency)) == 0


@pytest.mark.parametrize(("currency", "country"), CURRENCIES)
def test_the_fee_refund_needs_the_reversal_and_a_fee(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    charge, seller = _paid(client, sb, currency, country, "4242424242424242")
    with pytest.raises(stripe.InvalidRequestError) as alone:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 1_000, "refund_application_fee": True})
    assert alone.value.param == "refund_application_fee" and "reverse the transfer" in str(alone.value.user_message)

    no_fee = destination_session(client, seller, 5_000, 0, currency)
    result = control(sb, f"checkout/sessions/{no_fee.id}/pay", card="4242424242424242")
    no_fee_charge = client.v1.payment_intents.retrieve(result["payment_intent"]).latest_charge
    with pytest.raises(stripe.InvalidRequestError) as feeless:
        client.v1.refunds.create(
            params={"charge": no_fee_charge, "reverse_transfer": True, "refund_application_fee": True}
        )
    assert f"Attempting to refund_application_fee on {no_fee_charge}, but it has no application fee" in str(
        feeless.value.user_message
    )
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 0
    assert client.v1.charges.retrieve(no_fee_charge).amount_refunded == 0


@pytest.mark.parametrize(("currency", "country"), CURRENCIES)
def test_the_pending_refund_card_succeeds_later(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    charge, _ = _paid(client, sb, currency, country, "4000000000007726")
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 2_000})
    assert refund.status == "pending"
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 2_000

    control(sb, "clock/advance", seconds=120)

    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    updated = _events(client, "charge.refund.updated")
    assert [(e.data.object.id, e.data.object.status) for e in updated] == [(refund.id, "succeeded")]
    assert [e.data.object.id for e in _events(client, "refund.updated")] == [refund.id]
    assert _events(client, "refund.failed") == []


@pytest.mark.parametrize(("currency", "country"), CURRENCIES)
def test_the_failing_refund_card_fails_later_and_the_money_comes_back(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    charge, seller = _paid(client, sb, currency, country, "4000000000005126")
    before = sum(balances(client, None, currency))
    refund = client.v1.refunds.create(
        params={"charge": charge.id, "amount": 2_000, "reverse_transfer": True, "refund_application_fee": True}
    )
    assert refund.status == "succeeded"
    assert sum(balances(client, None, currency)) == before - 2_000 + 2_000 - 200  # refund, reversal, fee refund

    control(sb, "clock/advance", seconds=120)

    failed = client.v1.refunds.retrieve(refund.id, params={"expand": ["failure_balance_transaction"]})
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    txn = failed.failure_balance_transaction
    assert (txn.type, txn.amount, txn.reporting_category) == ("refund_failure", 2_000, "refund_failure")
    assert sum(balances(client, None, currency)) == before - 200 + 2_000  # the refund's money is back
    assert sum(balances(client, seller, currency)) == 9_000 - 2_000 + 200  # the reversal stays (UNCONFIRMED)
    assert (client.v1.charges.retrieve(charge.id).amount_refunded, failed.amount) == (0, 2_000)
    assert [e.data.object.id for e in _events(client, "refund.failed")] == [refund.id]
    assert [e.data.object.status for e in _events(client, "charge.refund.updated")] == ["failed"]
