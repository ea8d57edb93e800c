"""The gateway's typed Stripe objects against Stripe's own example objects (fixtures3.json, MIT; the
resources read are copied in stripe_fixtures/), with fields Stripe may add later, and with shapes we
must refuse rather than half-read."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from marketplace.gateway import types
from marketplace.gateway.types import (
    Account,
    AccountLink,
    ApplicationFee,
    Balance,
    BalanceTransaction,
    Capability,
    Charge,
    CheckoutSession,
    Customer,
    Dispute,
    LoginLink,
    PaymentIntent,
    Payout,
    Refund,
    Transfer,
    TransferReversal,
    UnexpectedStripeObject,
)

FIXTURES = Path(__file__).parent / "stripe_fixtures" / "fixtures3.json"
TYPES: dict[str, type[types.StripeResource]] = {
    **types.PARSERS,
    "account_link": AccountLink,
    "login_link": LoginLink,
}


@cache
def _resources() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(_resources()[name])


def test_every_type_the_app_reads_has_a_parser() -> None:
    assert set(TYPES) == {
        "account",
        "account_link",
        "application_fee",
        "fee_refund",
        "balance",
        "balance_transaction",
        "billing_portal.session",
        "capability",
        "charge",
        "checkout.session",
        "customer",
        "dispute",
        "invoice",
        "invoice_payment",
        "login_link",
        "payment_intent",
        "payment_method",
        "payout",
        "refund",
        "setup_intent",
        "subscription",
        "transfer",
        "transfer_reversal",
    }


@pytest.mark.parametrize("name", sorted(TYPES))
def test_stripes_example_object_parses_and_a_field_stripe_adds_later_is_ignored(name: str) -> None:
    raw = fixture(name)
    parsed = TYPES[name].from_stripe(raw)
    if isinstance(parsed, types.StripeObject):
        assert parsed.id == raw["id"]

    raw["a_field_stripe_added_later"] = {"nested": [1, 2, 3]}
    for key, value in raw.items():  # and inside the sub-objects too (not in maps such as metadata)
        if isinstance(value, dict) and key not in ("metadata", "capabilities"):
            value["another_new_field"] = "x"
    assert TYPES[name].from_stripe(raw) == parsed


def test_a_charge_reads_its_money_and_its_references() -> None:
    charge = Charge.from_stripe(fixture("charge"))
    assert (charge.amount, charge.amount_refunded, charge.currency, charge.status) == (100, 0, "usd", "succeeded")
    assert charge.balance_transaction == "txn_1PgaxNB7WZ01zgkWEV3TLf40"  # not expanded: the id
    assert charge.transfer_data is not None and charge.transfer_data.destination == "obj_123"  # expanded: its id
    assert charge.metadata == {} and charge.payment_intent is None


def test_an_expanded_field_is_the_object_and_an_unexpanded_one_the_id() -> None:
    raw = fixture("charge")
    raw["balance_transaction"] = fixture("balance_transaction")
    charge = Charge.from_stripe(raw)
    assert isinstance(charge.balance_transaction, BalanceTransaction)
    assert (charge.balance_transaction.amount, charge.balance_transaction.fee, charge.balance_transaction.net) == (
        100,
        0,
        100,
    )

    session_raw = fixture("checkout.session")
    intent_raw = fixture("payment_intent")
    intent_raw["latest_charge"] = fixture("charge")
    session_raw["payment_intent"] = intent_raw
    session = CheckoutSession.from_stripe(session_raw)
    assert isinstance(session.payment_intent, PaymentIntent)
    assert isinstance(session.payment_intent.latest_charge, Charge)
    assert session.payment_intent.latest_charge.id == "ch_1PgafuB7WZ01zgkWXYmPNZs8"
    assert CheckoutSession.from_stripe(fixture("checkout.session")).payment_intent == "pi_1PgafyB7WZ01zgkWSjxsAJo3"


def test_the_connect_side_reads_who_got_what() -> None:
    transfer = Transfer.from_stripe(fixture("transfer"))
    assert (transfer.amount, transfer.amount_reversed, transfer.destination) == (1100, 0, "acct_1PgafTB7WZ01zgkW")
    reversal = TransferReversal.from_stripe(fixture("transfer_reversal"))
    assert (reversal.amount, reversal.transfer) == (1100, transfer.id)
    fee = ApplicationFee.from_stripe(fixture("application_fee"))
    assert (fee.amount, fee.account, fee.charge) == (100, "acct_1PgafTB7WZ01zgkW", "ch_1PgafuB7WZ01zgkWXYmPNZs8")
    payout = Payout.from_stripe(fixture("payout"))
    assert (payout.amount, payout.status, payout.arrival_date, payout.failure_code) == (
        1100,
        "in_transit",
        1234567890,
        None,
    )
    dispute = Dispute.from_stripe(fixture("dispute"))
    assert (dispute.amount, dispute.status, dispute.reason) == (1000, "warning_needs_response", "general")
    assert dispute.evidence_details.due_by == 1723679999 and dispute.balance_transactions == []
    refund = Refund.from_stripe(fixture("refund"))
    assert (refund.amount, refund.charge, refund.transfer_reversal) == (100, "ch_1PgafuB7WZ01zgkWXYmPNZs8", None)


def test_an_account_has_its_requirements_as_a_typed_sub_object() -> None:
    raw = fixture("account")
    raw["requirements"] = {
        "currently_due": ["individual.id_number"],
        "eventually_due": ["individual.id_number", "external_account"],
        "past_due": [],
        "pending_verification": None,
        "errors": [
            {"code": "invalid_tax_id", "reason": "The tax ID is not valid.", "requirement": "company.tax_id"},
        ],
        "current_deadline": 1_900_000_000,
        "disabled_reason": None,
        "alternatives": [],
    }
    account = Account.from_stripe(raw)
    reqs = account.requirements
    assert reqs.currently_due == ["individual.id_number"] and reqs.pending_verification == []
    assert [(e.code, e.requirement) for e in reqs.errors] == [("invalid_tax_id", "company.tax_id")]
    assert (reqs.current_deadline, reqs.disabled_reason) == (1_900_000_000, None)
    assert account.capabilities == {"card_payments": "active", "transfers": "active"}
    # An account the platform does not control comes with most fields left out.
    bare = Account.from_stripe({"id": "acct_1", "object": "account"})
    assert (bare.charges_enabled, bare.requirements.currently_due, bare.capabilities) == (False, [], {})


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_balance_is_available_plus_pending_per_currency(currency: str) -> None:
    raw = fixture("balance")
    raw["available"] = [
        {"amount": 680, "currency": currency, "source_types": {"card": 680}},
        {"amount": 5, "currency": "eur", "source_types": {"card": 5}},
    ]
    raw["pending"] = [{"amount": 9000, "currency": currency, "source_types": {"card": 9000}}]
    balance = Balance.from_stripe(raw)
    assert balance.total(currency) == 9680 and balance.total("eur") == 5 and balance.total("gbp") == 0
    assert balance.currencies == {currency, "eur"}


def test_a_balance_transaction_itemises_its_fees() -> None:
    raw = fixture("balance_transaction")
    raw["fee_details"] = [
        {"amount": 320, "currency": "usd", "type": "stripe_fee", "description": "Stripe processing fees"},
    ]
    txn = BalanceTransaction.from_stripe(raw)
    assert [(d.amount, d.type) for d in txn.fee_details] == [(320, "stripe_fee")]
    assert (txn.type, txn.reporting_category, txn.source) == ("charge", "charge", "ch_1PgafuB7WZ01zgkWXYmPNZs8")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"amount": "100"}, "an amount as text"),
        ({"amount": 100.0}, "an amount as a float"),
        ({"amount": True}, "an amount as a bool"),
        ({"currency": "USD"}, "an upper-case currency"),
        ({"refunded": "false"}, "a flag as text"),
        ({"amount": None}, "no amount"),
        ({"object": "payment_intent"}, "another object altogether"),
    ],
)
def test_a_shape_we_cannot_read_is_refused_loudly(change: dict[str, Any], why: str) -> None:
    raw = {**fixture("charge"), **change}
    with pytest.raises(UnexpectedStripeObject) as exc:
        Charge.from_stripe(raw)
    assert exc.value.status == 502 and "could not read" in exc.value.message, why


def test_a_required_field_missing_is_refused() -> None:
    raw = fixture("transfer")
    del raw["amount"]
    with pytest.raises(UnexpectedStripeObject):
        Transfer.from_stripe(raw)


def test_parsed_objects_are_frozen() -> None:
    charge = Charge.from_stripe(fixture("charge"))
    with pytest.raises(ValueError, match="frozen"):
        charge.amount = 1  # type: ignore[misc]


def test_one_parse_function_picks_the_type_by_object_name() -> None:
    for name, cls in types.PARSERS.items():
        assert type(types.parse_object(fixture(name))) is cls
    assert isinstance(types.parse_as(Customer, fixture("customer")), Customer)
    with pytest.raises(UnexpectedStripeObject):
        types.parse_as(Charge, fixture("refund"))  # a handler that expected a charge gets a refund
    with pytest.raises(UnexpectedStripeObject):
        types.parse_object({"id": "ca_1", "object": "application"})  # a type the app does not read
    assert isinstance(types.parse_object(fixture("capability")), Capability)
