"""Worked examples of Connect money flows, to the cent and to the yen (`connect-behaviour.md`, worked example).

A destination charge of 10000 with a 1000 application fee; Stripe's processing fee is 2.9% + 30 = 320
in USD and 3.6% = ¥360 in JPY (zero-decimal: ¥10,000 is 10000).
"""

from __future__ import annotations

import pytest

from marketplace.errors import InvalidInput
from marketplace.ledger import flows
from marketplace.ledger.chart import (
    APPLICATION_FEE_REFUNDS,
    APPLICATION_FEES,
    BUYER_PAYMENTS,
    BUYER_REFUNDS,
    DISPUTE_FEES,
    DISPUTE_LOSSES,
    DISPUTE_RECOVERIES,
    DISPUTED_FUNDS,
    PLATFORM_BALANCE,
    STRIPE_FEES,
    AccountKind,
    bank_payouts,
    seller_application_fees,
    seller_dispute_losses,
    stripe_balance,
)
from marketplace.ledger.selectors import ledger_balance, ledger_balances_of_kind
from marketplace.ledger.services import Posting, ledger_reverse
from tests.ledger.helpers import WHEN, post_together, sale

SELLER = "acct_1WorkedExample"
CURRENCIES = [("usd", 320), ("jpy", 360)]


def _paid(currency: str, stripe_fee: int) -> None:
    post_together(postings=sale(1, seller=SELLER, currency=currency, stripe_fee=stripe_fee), occurred_at=WHEN)


def _post(*postings: Posting) -> None:
    post_together(postings=postings, occurred_at=WHEN)


def _platform(currency: str) -> int:
    return ledger_balance(account=PLATFORM_BALANCE)[currency]


def _seller(currency: str) -> int:
    return ledger_balance(account=stripe_balance(SELLER))[currency]


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "stripe_fee", "platform_net"), [("usd", 320, 680), ("jpy", 360, 640)])
def test_destination_charge_leaves_the_platform_fee_less_stripe_fee_and_the_seller_the_rest(
    currency: str, stripe_fee: int, platform_net: int
) -> None:
    _paid(currency, stripe_fee)
    assert _platform(currency) == platform_net  # 1000 - 320 = 680 cents; ¥1,000 - ¥360 = ¥640
    assert _seller(currency) == 9_000
    assert ledger_balance(account=BUYER_PAYMENTS) == {currency: 10_000}
    assert ledger_balance(account=APPLICATION_FEES) == {currency: 1_000}
    assert ledger_balance(account=seller_application_fees(SELLER)) == {currency: 1_000}
    assert ledger_balance(account=STRIPE_FEES) == {currency: stripe_fee}
    # Where the buyer's 10000 went: Stripe's fee, the platform, the seller.
    assets = sum(b.balance for b in ledger_balances_of_kind(kind=AccountKind.ASSET))
    assert stripe_fee + assets == 10_000


# The refund table of connect-behaviour.md §(a): a refund of 3000 (30%) with neither flag, with
# `reverse_transfer`, with both flags; and a full refund with both flags. Expected (platform, seller).
REFUNDS = {
    "platform-pays": ([("refund", 3_000)], {"usd": (-2_320, 9_000), "jpy": (-2_360, 9_000)}),
    "reverse-transfer": (
        [("refund", 3_000), ("reversal", 3_000)],
        {"usd": (680, 6_000), "jpy": (640, 6_000)},
    ),
    "both-flags": (
        [("refund", 3_000), ("reversal", 3_000), ("fee_refund", 300)],
        {"usd": (380, 6_300), "jpy": (340, 6_300)},
    ),
    "full-refund-both-flags": (
        [("refund", 10_000), ("reversal", 10_000), ("fee_refund", 1_000)],
        {"usd": (-320, 0), "jpy": (-360, 0)},
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "stripe_fee"), CURRENCIES)
@pytest.mark.parametrize("case", list(REFUNDS))
def test_refunds_on_a_destination_charge(case: str, currency: str, stripe_fee: int) -> None:
    _paid(currency, stripe_fee)
    steps, expected = REFUNDS[case]
    builders = {
        "refund": lambda amount: flows.refund(refund_id="re_1", amount=amount, currency=currency),
        "reversal": lambda amount: flows.transfer_reversal(
            reversal_id="trr_1", seller=SELLER, amount=amount, currency=currency
        ),
        "fee_refund": lambda amount: flows.application_fee_refund(
            fee_refund_id="fr_1", seller=SELLER, amount=amount, currency=currency
        ),
    }
    _post(*(builders[step](amount) for step, amount in steps))
    assert (_platform(currency), _seller(currency)) == expected[currency]
    refunded = dict(steps)["refund"]
    # In every row: the buyer's refund + Stripe's fee + platform + seller = the 10000 paid.
    assert refunded + stripe_fee + _platform(currency) + _seller(currency) == 10_000
    assert ledger_balance(account=BUYER_REFUNDS) == {currency: refunded}
    fee_refunded = dict(steps).get("fee_refund", 0)
    assert (
        ledger_balance(account=APPLICATION_FEES)[currency]
        - ledger_balance(account=APPLICATION_FEE_REFUNDS).get(currency, 0)
        == 1_000 - fee_refunded
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "stripe_fee"), CURRENCIES)
def test_a_lost_dispute_recovered_from_the_seller(currency: str, stripe_fee: int) -> None:
    """Stripe debits the platform 10000 + a 1500 dispute fee; the platform reverses the seller's 9000."""
    _paid(currency, stripe_fee)
    _post(flows.dispute_funds_withdrawn(dispute_id="dp_1", amount=10_000, dispute_fee=1_500, currency=currency))
    assert _platform(currency) == 1_000 - stripe_fee - 11_500  # -10820 in USD
    # Open, the 10000 is held by the bank, not lost; losing it moves no money at Stripe.
    assert (ledger_balance(account=DISPUTED_FUNDS), ledger_balance(account=DISPUTE_LOSSES)) == ({currency: 10_000}, {})
    _post(flows.dispute_lost(dispute_id="dp_1", amount=10_000, currency=currency))
    assert _platform(currency) == 1_000 - stripe_fee - 11_500
    assert ledger_balance(account=DISPUTED_FUNDS) == {currency: 0}
    _post(
        flows.transfer_reversal(
            reversal_id="trr_1", seller=SELLER, amount=9_000, currency=currency, dispute_recovery=True
        )
    )
    assert (_platform(currency), _seller(currency)) == (-1_500 - stripe_fee, 0)  # -1820 in USD
    assert ledger_balance(account=DISPUTE_LOSSES) == {currency: 10_000}
    assert ledger_balance(account=DISPUTE_FEES) == {currency: 1_500}
    # The recovery offsets the loss on both sides: the platform lost 1000 of the 10000 (its fee,
    # kept), the seller had 9000 taken back; the platform's result is its balance, to the cent.
    assert ledger_balance(account=DISPUTE_RECOVERIES) == {currency: 9_000}
    assert ledger_balance(account=seller_dispute_losses(SELLER)) == {currency: 9_000}
    result = (
        ledger_balance(account=APPLICATION_FEES)[currency]
        - ledger_balance(account=STRIPE_FEES)[currency]
        - ledger_balance(account=DISPUTE_LOSSES)[currency]
        + ledger_balance(account=DISPUTE_RECOVERIES)[currency]
        - ledger_balance(account=DISPUTE_FEES)[currency]
    )
    assert result == _platform(currency)


@pytest.mark.django_db
def test_a_won_dispute_gives_the_amount_back_and_keeps_the_fee() -> None:
    _paid("usd", 320)
    _post(flows.dispute_funds_withdrawn(dispute_id="dp_1", amount=10_000, dispute_fee=1_500, currency="usd"))
    _post(flows.dispute_funds_reinstated(dispute_id="dp_1", amount=10_000, fee_returned=0, currency="usd"))
    assert (_platform("usd"), _seller("usd")) == (680 - 1_500, 9_000)
    assert ledger_balance(account=DISPUTED_FUNDS) == {"usd": 0}
    assert ledger_balance(account=DISPUTE_LOSSES) == {}


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "stripe_fee"), CURRENCIES)
def test_a_payout_moves_the_seller_balance_to_the_bank_and_a_failed_one_comes_back(
    currency: str, stripe_fee: int
) -> None:
    _paid(currency, stripe_fee)
    [payout] = post_together(
        postings=[flows.payout(payout_id="po_1", stripe_account=SELLER, amount=9_000, currency=currency)],
        occurred_at=WHEN,
    )
    assert (_seller(currency), ledger_balance(account=bank_payouts(SELLER))) == (0, {currency: 9_000})
    ledger_reverse(original=payout, kind="payout_failure", description="Payout failed: no_account", occurred_at=WHEN)
    assert (_seller(currency), ledger_balance(account=bank_payouts(SELLER))) == (9_000, {currency: 0})


def test_builders_refuse_amounts_that_are_not_positive_minor_units() -> None:
    with pytest.raises(InvalidInput, match="amount must be a positive integer"):
        flows.refund(refund_id="re_1", amount=0, currency="usd")
    with pytest.raises(InvalidInput, match="stripe_fee must be zero or a positive"):
        flows.charge(charge_id="ch_1", amount=100, stripe_fee=-1, currency="usd")
    with pytest.raises(InvalidInput, match="amount must be a positive integer"):
        flows.transfer(transfer_id="tr_1", seller=SELLER, amount=12.5, currency="usd")  # type: ignore[arg-type]
    # No Stripe fee, no application fee: two legs and two postings, nothing of zero.
    postings = flows.destination_charge(
        charge_id="ch_1",
        transfer_id="tr_1",
        application_fee_id="",
        seller=SELLER,
        amount=500,
        application_fee_amount=0,
        stripe_fee=0,
        currency="jpy",
    )
    assert [len(p.legs) for p in postings] == [2, 2]
