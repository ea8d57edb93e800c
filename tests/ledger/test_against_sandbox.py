"""The flows mirror what Stripe does: money moved in the sandbox, posted from the Stripe objects it
returned, leaves the ledger's Stripe balances equal to the sandbox's (available + pending), to the
cent and to the yen, for the platform and the seller after every step.

Read through the real `stripe` SDK over HTTP, as the gateway will; this test posts by hand what the
payment services post from webhooks (`tests/payments/`), so it checks the chart and the flows, not the handlers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from marketplace.ledger import flows
from marketplace.ledger.chart import PLATFORM_BALANCE, stripe_balance
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import ledger_balance
from marketplace.ledger.services import Posting, ledger_reverse
from tests.ledger.helpers import post_together
from tests.sandbox.helpers import balances, client_for, control, destination_session, onboarded_account

DAY = 86_400


def _post(created: int, *postings: Posting) -> list[LedgerTransaction]:
    return post_together(postings=postings, occurred_at=datetime.fromtimestamp(created, tz=UTC))


def _assert_ledger_matches_stripe(client: stripe.StripeClient, seller: str, currency: str) -> None:
    for ref, account in ((PLATFORM_BALANCE, None), (stripe_balance(seller), seller)):
        assert ledger_balance(account=ref).get(currency, 0) == sum(balances(client, account, currency)), ref.name


def _pay(client: stripe.StripeClient, sb: Any, seller: str, currency: str, card: str) -> Any:
    session = destination_session(client, seller, 10_000, 1_000, currency)
    paid = control(sb, f"checkout/sessions/{session.id}/pay", card=card)
    intent = client.v1.payment_intents.retrieve(paid["payment_intent"])
    charge = client.v1.charges.retrieve(intent.latest_charge, params={"expand": ["balance_transaction"]})
    _post(
        charge.created,
        *flows.destination_charge(
            charge_id=charge.id,
            transfer_id=charge.transfer,
            application_fee_id=charge.application_fee,
            seller=seller,
            amount=charge.amount,
            application_fee_amount=charge.application_fee_amount,
            stripe_fee=charge.balance_transaction.fee,  # Stripe's figure, never our own guess
            currency=charge.currency,
        ),
    )
    return charge


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "country", "platform_net"), [("usd", "US", 680), ("jpy", "JP", 640)])
def test_ledger_balances_follow_stripes_through_charge_refund_dispute_and_payouts(
    sb: Any, currency: str, country: str, platform_net: int
) -> None:
    client = client_for(sb)
    seller = onboarded_account(client, sb, country=country)

    charge = _pay(client, sb, seller, currency, "4242424242424242")
    assert ledger_balance(account=PLATFORM_BALANCE) == {currency: platform_net}
    assert ledger_balance(account=stripe_balance(seller)) == {currency: 9_000}
    _assert_ledger_matches_stripe(client, seller, currency)

    # A partial refund that takes the seller's share and the fee's share back.
    refund = client.v1.refunds.create(
        params={"charge": charge.id, "amount": 3_000, "reverse_transfer": True, "refund_application_fee": True}
    )
    reversal = client.v1.transfers.reversals.retrieve(charge.transfer, refund.transfer_reversal)
    [fee_refund] = client.v1.application_fees.refunds.list(charge.application_fee).data
    _post(
        refund.created,
        flows.refund(refund_id=refund.id, amount=refund.amount, currency=currency),
        flows.transfer_reversal(reversal_id=reversal.id, seller=seller, amount=reversal.amount, currency=currency),
        flows.application_fee_refund(
            fee_refund_id=fee_refund.id, seller=seller, amount=fee_refund.amount, currency=currency
        ),
    )
    _assert_ledger_matches_stripe(client, seller, currency)

    # A second sale is disputed and lost; the platform takes the seller's share back.
    disputed = _pay(client, sb, seller, currency, "4000000000000259")
    [dispute] = client.v1.disputes.list(params={"charge": disputed.id}).data
    withdrawal = dispute.balance_transactions[0]
    _post(
        withdrawal.created,
        flows.dispute_funds_withdrawn(
            dispute_id=dispute.id, amount=-withdrawal.amount, dispute_fee=withdrawal.fee, currency=currency
        ),
    )
    _assert_ledger_matches_stripe(client, seller, currency)
    control(sb, f"disputes/{dispute.id}/resolve", outcome="lost")
    recovery = client.v1.transfers.reversals.create(disputed.transfer, params={"amount": 9_000})
    _post(
        recovery.created,
        flows.transfer_reversal(reversal_id=recovery.id, seller=seller, amount=recovery.amount, currency=currency),
    )
    _assert_ledger_matches_stripe(client, seller, currency)

    # Funds become available; Stripe pays the seller out, and the payout fails.
    control(sb, "clock/advance", seconds=3 * DAY)
    [payout] = client.v1.payouts.list(options={"stripe_account": seller}).data
    [posted] = _post(
        payout.created,
        flows.payout(payout_id=payout.id, stripe_account=seller, amount=payout.amount, currency=currency),
    )
    _assert_ledger_matches_stripe(client, seller, currency)
    assert ledger_balance(account=stripe_balance(seller)) == {currency: 0}
    failed = control(sb, f"payouts/{payout.id}/fail")
    assert failed["status"] == "failed"
    returned = client.v1.balance_transactions.retrieve(
        failed["failure_balance_transaction"], options={"stripe_account": seller}
    )
    ledger_reverse(
        original=posted,
        kind="payout_failure",
        description=f"Payout {payout.id} failed",
        occurred_at=datetime.fromtimestamp(returned.created, tz=UTC),
    )
    _assert_ledger_matches_stripe(client, seller, currency)
    assert ledger_balance(account=stripe_balance(seller)) == {currency: payout.amount}
