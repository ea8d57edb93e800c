"""The gateway's typed objects read from the sandbox over HTTP, through the real SDK, after the app's
own flows made them: a seller onboarded, a buyer's checkout paid as a destination charge, a refund,
a dispute and a payout. USD and JPY (zero-decimal).

The worked example of the money issue is the yardstick: a 10000 charge with a 1000 application fee
and Stripe's processing fee (USD 2.9% + 30 = 320; JPY 3.6% = 360) leaves the platform 680 (JPY 640)
and the seller 9000, and each balance equals the sum of its balance transactions."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from fees.services import fee_rule_set
from marketplace.gateway import accounts as gateway_accounts
from marketplace.gateway import balances as gateway_balances
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import (
    Account,
    AccountRequirements,
    ApplicationFee,
    Balance,
    BalanceTransaction,
    Charge,
    CheckoutSession,
    Dispute,
    PaymentIntent,
    Payout,
    Refund,
    Transfer,
    TransferReversal,
)
from orders import services
from orders.models import Order, OrderStatus
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db

# currency -> (Stripe's processing fee on 10000, what the platform keeps: 1000 - fee)
WORKED = {"usd": (320, 680), "jpy": (360, 640)}


@dataclass(frozen=True)
class Paid:
    order: Order
    account: str
    charge: Charge


def paid_order(sandbox: Any, currency: str) -> Paid:
    """A 10000 order with a 10% application fee, paid on the hosted page and confirmed by the app."""
    fee_rule_set(currency=currency, basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox, currency=currency)
    buyer = UserFactory()
    listing = listing_of(seller, price=10_000)
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    order = services.order_sync_from_stripe(order=order)
    assert order.status == OrderStatus.PAID and order.application_fee_amount == 1_000
    return Paid(order, str(seller.stripe_account_id), gateway_checkout.charge_retrieve(order.payment.stripe_charge_id))


def txn_sum(currency: str, account: str | None = None) -> int:
    return sum(
        txn.net for txn in gateway_balances.balance_transactions_list(account=account) if txn.currency == currency
    )


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_paid_checkout_reads_back_as_typed_objects(sandbox: Any, currency: str) -> None:
    paid = paid_order(sandbox, currency)
    session = gateway_checkout.checkout_session_retrieve(str(paid.order.checkout_session_id))
    assert isinstance(session, CheckoutSession)
    assert (session.status, session.payment_status, session.amount_total, session.currency) == (
        "complete",
        "paid",
        10_000,
        currency,
    )
    assert session.metadata["order_id"] == str(paid.order.pk) and session.client_reference_id == str(paid.order.pk)
    intent = session.payment_intent
    assert isinstance(intent, PaymentIntent) and intent.id == paid.order.payment.stripe_payment_intent_id
    assert (intent.amount_received, intent.application_fee_amount, intent.status) == (10_000, 1_000, "succeeded")
    assert intent.transfer_data is not None and intent.transfer_data.destination == paid.account
    assert isinstance(intent.latest_charge, Charge) and intent.latest_charge.id == paid.charge.id

    charge = paid.charge
    assert (charge.amount, charge.currency, charge.status, charge.refunded) == (10_000, currency, "succeeded", False)
    assert (charge.transfer, charge.application_fee) == (
        paid.order.payment.transfers.get().stripe_id,
        paid.order.payment.application_fees.get().stripe_id,
    )
    assert charge.payment_intent == intent.id and charge.application_fee_amount == 1_000
    stripe_fee, _ = WORKED[currency]
    txn = charge.balance_transaction
    assert isinstance(txn, BalanceTransaction), "expanded: the fee is only on the balance transaction"
    assert (txn.amount, txn.fee, txn.net, txn.currency, txn.type) == (
        10_000,
        stripe_fee,
        10_000 - stripe_fee,
        currency,
        "charge",
    )
    assert sum(detail.amount for detail in txn.fee_details) == stripe_fee

    account = gateway_accounts.account_retrieve(paid.account)
    assert isinstance(account, Account) and isinstance(account.requirements, AccountRequirements)
    assert (account.charges_enabled, account.default_currency, account.requirements.currently_due) == (
        True,
        currency,
        [],
    )


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_balances_match_the_worked_example_and_their_streamed_transactions(sandbox: Any, currency: str) -> None:
    paid = paid_order(sandbox, currency)
    platform, seller = gateway_balances.balance_retrieve(), gateway_balances.balance_retrieve(account=paid.account)
    assert isinstance(platform, Balance) and isinstance(seller, Balance)
    _, platform_keeps = WORKED[currency]
    assert (platform.total(currency), seller.total(currency)) == (platform_keeps, 9_000)
    assert txn_sum(currency) == platform_keeps and txn_sum(currency, paid.account) == 9_000

    stream = gateway_balances.balance_transactions_list(page_size=1)
    assert inspect.isgenerator(stream), "streamed, page by page"
    one_by_one = [txn.id for txn in stream]
    assert len(one_by_one) == len(set(one_by_one)) == len(list(gateway_balances.balance_transactions_list()))
    assert len(one_by_one) >= 3  # the charge, the transfer to the seller, the application fee back


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_reads_back_with_its_reversal_and_fee_refund(sandbox: Any, currency: str) -> None:
    paid = paid_order(sandbox, currency)
    refund = gateway_checkout.refund_create(
        charge=paid.order.payment.stripe_charge_id,
        idempotency_ids=("test-refund", paid.order.pk),
        amount=2_500,
        reverse_transfer=True,
        refund_application_fee=True,
    )
    assert isinstance(refund, Refund)
    assert (refund.amount, refund.currency, refund.status) == (2_500, currency, "succeeded")
    assert refund.charge == paid.charge.id
    assert refund.metadata == {} and isinstance(refund.transfer_reversal, TransferReversal)  # expanded

    sdk = client_for(sandbox, "sk_test_marketplace")
    reversal = TransferReversal.from_stripe(
        sdk.v1.transfers.reversals.retrieve(paid.order.payment.transfers.get().stripe_id, refund.transfer_reversal.id)
    )
    assert reversal == refund.transfer_reversal
    # A destination charge transfers the whole amount (the fee comes back separately): a quarter of
    # the charge refunded reverses a quarter of the transfer and refunds a quarter of the fee.
    assert (reversal.amount, reversal.currency, reversal.transfer) == (
        2_500,
        currency,
        paid.order.payment.transfers.get().stripe_id,
    )
    transfer = Transfer.from_stripe(sdk.v1.transfers.retrieve(paid.order.payment.transfers.get().stripe_id))
    assert (transfer.amount, transfer.amount_reversed, transfer.destination) == (10_000, 2_500, paid.account)
    assert transfer.source_transaction == paid.charge.id
    fee = ApplicationFee.from_stripe(
        sdk.v1.application_fees.retrieve(paid.order.payment.application_fees.get().stripe_id)
    )
    assert (fee.amount, fee.amount_refunded, fee.account) == (1_000, 250, paid.account)
    assert fee.originating_transaction == paid.charge.id and fee.charge == transfer.destination_payment  # the py_
    charge = gateway_checkout.charge_retrieve(paid.charge.id)
    assert (charge.amount_refunded, charge.refunded) == (2_500, False)
    for account in (None, paid.account):
        assert gateway_balances.balance_retrieve(account=account).total(currency) == txn_sum(currency, account)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dispute_and_a_payout_read_back_typed(sandbox: Any, currency: str) -> None:
    paid = paid_order(sandbox, currency)
    opened = requests.post(f"{sandbox.url}/_sandbox/charges/{paid.charge.id}/dispute", json={}, timeout=10)
    opened.raise_for_status()
    sdk = client_for(sandbox, "sk_test_marketplace")
    dispute = Dispute.from_stripe(sdk.v1.disputes.retrieve(opened.json()["id"]))
    assert (dispute.amount, dispute.currency, dispute.charge, dispute.status) == (
        10_000,
        currency,
        paid.charge.id,
        "needs_response",
    )
    withdrawn = dispute.balance_transactions
    assert [(t.amount, t.fee, t.currency) for t in withdrawn] == [(-10_000, 1_500, currency)]
    assert dispute.evidence_details.due_by is not None and not dispute.evidence_details.has_evidence

    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 3 * 86400}, timeout=10).raise_for_status()
    payouts = [
        Payout.from_stripe(p) for p in sdk.v1.payouts.list(options={"stripe_account": paid.account}).auto_paging_iter()
    ]
    assert [(p.amount, p.currency, p.automatic) for p in payouts] == [(9_000, currency, True)]
    assert payouts[0].status in ("pending", "in_transit", "paid") and payouts[0].balance_transaction
    assert gateway_balances.balance_retrieve(account=paid.account).total(currency) == 0
    assert txn_sum(currency, paid.account) == 0


def test_a_key_reused_with_other_parameters_is_not_called_unreachable(sandbox: Any) -> None:
    """Stripe answers a reused key with other parameters with an idempotency error: it was reached and
    did nothing, so the sentence says that, not "could not be reached"."""
    from marketplace import gateway
    from marketplace.errors import PaymentProviderError

    options = gateway.request_options(idempotency_key="test-reused-key")
    gateway.call(gateway.client().v1.customers.create, params={"email": "a@example.com"}, options=options)
    with pytest.raises(PaymentProviderError) as refused:
        gateway.call(gateway.client().v1.customers.create, params={"email": "b@example.com"}, options=options)
    assert (refused.value.code, refused.value.message) == ("idempotency_error", gateway.IDEMPOTENCY_REFUSED)
