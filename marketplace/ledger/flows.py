"""The postings of each money movement Stripe makes for a Connect marketplace, built from its amounts.

One posting per Stripe object, because each reaches us on its own (`charge.succeeded`,
`transfer.created`, `application_fee.created` ...), in any order and maybe twice; the posting's
source is that object's id, so each is posted once whatever the order. Each mirrors the balance
transactions Stripe writes (`../shared/stripe-reference/connect-behaviour.md`), so that the Stripe
balance accounts follow Stripe's balances to the cent.

A destination charge of 10000 (USD cents) with a 1000 application fee and a 320 Stripe fee:

=========================================  ==============  ===========  ===========
account                                    charge ch_      transfer tr  fee fee_
=========================================  ==============  ===========  ===========
Stripe balance — platform                  +10000, -320    -10000       +1000
Stripe balance — seller acct_…                             +10000       -1000
Payments from buyers                       -10000
Stripe processing fees                     +320
Application fees                                                        -1000
Application fees paid — seller acct_…                                   +1000
=========================================  ==============  ===========  ===========

leaves the platform 680 and the seller 9000, as Stripe's balances say (`tests/ledger/test_worked_examples.py`).
Amounts are positive minor units; the sign of each leg is decided here, once.
"""

from __future__ import annotations

from enum import StrEnum

from marketplace.errors import InvalidInput
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
    AccountRef,
    bank_payouts,
    seller_application_fees,
    seller_dispute_losses,
    stripe_balance,
)
from marketplace.ledger.services import Leg, Posting
from marketplace.money import format_money


class PostingKind(StrEnum):
    """What a posting records about its source; named after Stripe's balance transaction types."""

    CHARGE = "charge"
    TRANSFER = "transfer"
    APPLICATION_FEE = "application_fee"
    REFUND = "refund"
    REFUND_FAILURE = "refund_failure"
    TRANSFER_REVERSAL = "transfer_reversal"
    APPLICATION_FEE_REFUND = "application_fee_refund"
    DISPUTE_FUNDS_WITHDRAWN = "dispute_funds_withdrawn"
    DISPUTE_FUNDS_REINSTATED = "dispute_funds_reinstated"
    DISPUTE_LOST = "dispute_lost"
    KEPT_REVERSAL_FOR_DISPUTE = "kept_reversal_for_dispute"  # ours: no Stripe balance transaction
    DISPUTE_COUNTERED_FEE = "dispute_countered_fee"
    PAYOUT = "payout"
    PAYOUT_FAILURE = "payout_failure"  # a payout returned by the bank: `payout` reversed
    PAYOUT_CANCEL = "payout_cancel"


def charge(*, charge_id: str, amount: int, stripe_fee: int, currency: str) -> Posting:
    """A buyer's payment lands on the platform's Stripe balance, less Stripe's processing fee
    (read from the charge's balance transaction: Stripe decides it, not us)."""
    _positive(amount=amount)
    _positive_or_zero(stripe_fee=stripe_fee)
    legs = [_debit(PLATFORM_BALANCE, amount, currency), _credit(BUYER_PAYMENTS, amount, currency)]
    if stripe_fee:
        legs += [_debit(STRIPE_FEES, stripe_fee, currency), _credit(PLATFORM_BALANCE, stripe_fee, currency)]
    text = f"Charge {charge_id}: {format_money(amount, currency)} from a buyer"
    if stripe_fee:
        text += f", Stripe fee {format_money(stripe_fee, currency)}"
    return Posting(charge_id, PostingKind.CHARGE, text, tuple(legs))


def transfer(*, transfer_id: str, seller: str, amount: int, currency: str) -> Posting:
    """The platform sends a seller its share (all of a destination charge, a cart line's share of a
    separate charge)."""
    _positive(amount=amount)
    legs = (_debit(stripe_balance(seller), amount, currency), _credit(PLATFORM_BALANCE, amount, currency))
    return Posting(
        transfer_id, PostingKind.TRANSFER, f"Transfer {transfer_id}: {format_money(amount, currency)} to {seller}", legs
    )


def separate_transfer(*, transfer_id: str, seller: str, amount: int, platform_fee: int, currency: str) -> Posting:
    """A seller's share of a payment for several shops (separate charges and transfers): the
    platform sends `amount` (the order's total less its fee) and keeps `platform_fee` by not sending
    it. Stripe has no application fee object here, but the fee is the same revenue as a destination
    charge's, so it is booked the same way (the platform's revenue, the seller's deduction) and the
    revenue report reads both alike; only the balances move, by `amount`.

    An order of 10000 with a 1000 fee: the seller's balance +9000, the platform's -9000, Application
    fees -1000 and Application fees paid — seller +1000."""
    _positive(amount=amount)
    _positive_or_zero(platform_fee=platform_fee)
    legs = [_debit(stripe_balance(seller), amount, currency), _credit(PLATFORM_BALANCE, amount, currency)]
    if platform_fee:
        legs += [
            _debit(seller_application_fees(seller), platform_fee, currency),
            _credit(APPLICATION_FEES, platform_fee, currency),
        ]
    text = f"Transfer {transfer_id}: {format_money(amount, currency)} to {seller}"
    if platform_fee:
        text += f", platform fee {format_money(platform_fee, currency)} kept"
    return Posting(transfer_id, PostingKind.TRANSFER, text, tuple(legs))


def application_fee(*, application_fee_id: str, seller: str, amount: int, currency: str) -> Posting:
    """The platform's fee comes back from the seller's balance: the platform's revenue, the seller's
    deduction."""
    _positive(amount=amount)
    legs = (
        _debit(PLATFORM_BALANCE, amount, currency),
        _credit(APPLICATION_FEES, amount, currency),
        _debit(seller_application_fees(seller), amount, currency),
        _credit(stripe_balance(seller), amount, currency),
    )
    text = f"Application fee {application_fee_id}: {format_money(amount, currency)} from {seller}"
    return Posting(application_fee_id, PostingKind.APPLICATION_FEE, text, legs)


def destination_charge(
    *,
    charge_id: str,
    transfer_id: str,
    application_fee_id: str,
    seller: str,
    amount: int,
    application_fee_amount: int,
    stripe_fee: int,
    currency: str,
) -> list[Posting]:
    """The three postings of a paid destination charge: Stripe transfers the whole amount to the
    seller and takes the application fee back (no fee object when the fee is 0)."""
    postings = [
        charge(charge_id=charge_id, amount=amount, stripe_fee=stripe_fee, currency=currency),
        transfer(transfer_id=transfer_id, seller=seller, amount=amount, currency=currency),
    ]
    if application_fee_amount:
        postings.append(
            application_fee(
                application_fee_id=application_fee_id, seller=seller, amount=application_fee_amount, currency=currency
            )
        )
    return postings


def refund(*, refund_id: str, amount: int, currency: str) -> Posting:
    """The platform pays a buyer back. Stripe keeps its processing fee; getting the seller's share back
    is a separate transfer reversal."""
    _positive(amount=amount)
    legs = (_debit(BUYER_REFUNDS, amount, currency), _credit(PLATFORM_BALANCE, amount, currency))
    return Posting(
        refund_id, PostingKind.REFUND, f"Refund {refund_id}: {format_money(amount, currency)} to a buyer", legs
    )


def transfer_reversal(
    *, reversal_id: str, seller: str, amount: int, currency: str, dispute_recovery: bool = False
) -> Posting:
    """Money comes back from a seller to the platform (a refund with `reverse_transfer`, a lost dispute).

    A lost dispute's recovery (`dispute_recovery`: the reversal the platform makes for it, or for
    the debt it left) also offsets the platform's dispute loss: *Dispute losses recovered from
    sellers* for the platform, *Lost disputes taken back* for the seller, as the application fee is
    booked on both sides. Without it the revenue report would show the whole disputed amount as
    lost while the seller paid it back."""
    _positive(amount=amount)
    legs = [_debit(PLATFORM_BALANCE, amount, currency), _credit(stripe_balance(seller), amount, currency)]
    legs += _recovery_legs(seller, amount, currency) if dispute_recovery else []
    text = f"Transfer reversal {reversal_id}: {format_money(amount, currency)} back from {seller}"
    if dispute_recovery:
        text += " for a lost dispute"
    return Posting(reversal_id, PostingKind.TRANSFER_REVERSAL, text, tuple(legs))


def separate_transfer_reversal(
    *,
    reversal_id: str,
    seller: str,
    amount: int,
    platform_fee_refunded: int,
    currency: str,
    dispute_recovery: bool = False,
) -> Posting:
    """Money back from a seller on a transfer the platform made itself (a refund of one shop's
    order in a payment for several shops, or its share of a lost dispute), and the part of the
    platform's fee it gives up, booked as `separate_transfer` booked the fee: as a refund of the fee
    (Application fee refunds) and less deducted from the seller. Only the balances move, by
    `amount`. A dispute's recovery offsets the dispute loss as in `transfer_reversal`."""
    _positive(amount=amount)
    _positive_or_zero(platform_fee_refunded=platform_fee_refunded)
    legs = [_debit(PLATFORM_BALANCE, amount, currency), _credit(stripe_balance(seller), amount, currency)]
    if platform_fee_refunded:
        legs += [
            _debit(APPLICATION_FEE_REFUNDS, platform_fee_refunded, currency),
            _credit(seller_application_fees(seller), platform_fee_refunded, currency),
        ]
    legs += _recovery_legs(seller, amount, currency) if dispute_recovery else []
    text = f"Transfer reversal {reversal_id}: {format_money(amount, currency)} back from {seller}"
    if platform_fee_refunded:
        text += f", platform fee {format_money(platform_fee_refunded, currency)} given back"
    if dispute_recovery:
        text += " for a lost dispute"
    return Posting(reversal_id, PostingKind.TRANSFER_REVERSAL, text, tuple(legs))


def _recovery_legs(seller: str, amount: int, currency: str) -> list[Leg]:
    return [_debit(seller_dispute_losses(seller), amount, currency), _credit(DISPUTE_RECOVERIES, amount, currency)]


def application_fee_refund(*, fee_refund_id: str, seller: str, amount: int, currency: str) -> Posting:
    """The platform gives (part of) its fee back to the seller: `application_fee` the other way round,
    with the refund on its own account so that the fee revenue stays readable."""
    fee = application_fee(application_fee_id=fee_refund_id, seller=seller, amount=amount, currency=currency)
    legs = tuple(
        Leg(APPLICATION_FEE_REFUNDS if leg.account == APPLICATION_FEES else leg.account, -leg.amount, currency)
        for leg in fee.legs
    )
    text = f"Application fee refund {fee_refund_id}: {format_money(amount, currency)} back to {seller}"
    return Posting(fee_refund_id, PostingKind.APPLICATION_FEE_REFUND, text, legs)


def dispute_funds_withdrawn(*, dispute_id: str, amount: int, dispute_fee: int, currency: str) -> Posting:
    """Stripe debits the platform the disputed amount and its dispute fee (destination and separate
    charges alike: recovering from the seller is the platform's own transfer reversal).

    The amount is not lost yet: the bank holds it until the dispute is decided, so it moves to
    *Funds held for open disputes*, and becomes a *Dispute loss* only when the dispute is lost
    (`dispute_lost`) or comes back when it is won (`dispute_funds_reinstated`). The fee is spent."""
    _positive(amount=amount)
    _positive_or_zero(dispute_fee=dispute_fee)
    legs = [_debit(DISPUTED_FUNDS, amount, currency)]
    if dispute_fee:
        legs.append(_debit(DISPUTE_FEES, dispute_fee, currency))
    legs.append(_credit(PLATFORM_BALANCE, amount + dispute_fee, currency))
    text = (
        f"Dispute {dispute_id}: {format_money(amount, currency)} withdrawn, fee {format_money(dispute_fee, currency)}"
    )
    return Posting(dispute_id, PostingKind.DISPUTE_FUNDS_WITHDRAWN, text, tuple(legs))


def dispute_funds_reinstated(*, dispute_id: str, amount: int, fee_returned: int, currency: str) -> Posting:
    """A won dispute: Stripe gives the held amount back, and the fee where its rules return it."""
    _positive(amount=amount)
    _positive_or_zero(fee_returned=fee_returned)
    legs = [_debit(PLATFORM_BALANCE, amount + fee_returned, currency), _credit(DISPUTED_FUNDS, amount, currency)]
    if fee_returned:
        legs.append(_credit(DISPUTE_FEES, fee_returned, currency))
    text = f"Dispute {dispute_id} won: {format_money(amount + fee_returned, currency)} reinstated"
    return Posting(dispute_id, PostingKind.DISPUTE_FUNDS_REINSTATED, text, tuple(legs))


def dispute_lost(*, dispute_id: str, amount: int, currency: str) -> Posting:
    """A lost dispute: the amount the bank held (`dispute_funds_withdrawn`) is gone for good. No money
    moves at Stripe, so no Stripe balance changes: the held funds become a loss."""
    _positive(amount=amount)
    legs = (_debit(DISPUTE_LOSSES, amount, currency), _credit(DISPUTED_FUNDS, amount, currency))
    return Posting(
        dispute_id, PostingKind.DISPUTE_LOST, f"Dispute {dispute_id} lost: {format_money(amount, currency)}", legs
    )


def kept_reversal_for_dispute(*, dispute_id: str, seller: str, amount: int, currency: str) -> Posting:
    """A lost dispute counts what a failed refund's reversal, left in place, took back from the seller
    (with, on a transfer the platform made, the fee share booked with it): that money is recovered
    for the dispute, not taken back for a refund (the refund failed). No money moves at Stripe (the
    reversal was posted when it was made, `transfer_reversal`), so only the recovery legs do, dated
    when the dispute counts it: *Dispute losses recovered from sellers* as for the recovery's own
    reversal, so the revenue report's refund and dispute lines each say what happened. One per
    dispute and seller."""
    _positive(amount=amount)
    text = (
        f"Dispute {dispute_id}: {format_money(amount, currency)} a failed refund took back from {seller} "
        "counted as recovered"
    )
    return Posting(
        f"{dispute_id}:{seller}",
        PostingKind.KEPT_REVERSAL_FOR_DISPUTE,
        text,
        tuple(_recovery_legs(seller, amount, currency)),
    )


def dispute_countered_fee(*, balance_transaction_id: str, dispute_id: str, amount: int, currency: str) -> Posting:
    """Stripe's dispute countered fee, charged when evidence is submitted (`amount` < 0) and given back
    on a win (`amount` > 0). It is not among the dispute's own balance transactions, so each of its
    balance transactions is its own source."""
    if type(amount) is not int or amount == 0:
        raise InvalidInput(f"amount must be a non-zero integer of minor units, not {amount!r}.", code="invalid_amount")
    legs = (_debit(PLATFORM_BALANCE, amount, currency), _credit(DISPUTE_FEES, amount, currency))
    verb = "returned" if amount > 0 else "charged"
    text = f"Dispute {dispute_id}: countered fee {format_money(abs(amount), currency)} {verb}"
    return Posting(balance_transaction_id, PostingKind.DISPUTE_COUNTERED_FEE, text, legs)


def payout(*, payout_id: str, stripe_account: str, amount: int, currency: str) -> Posting:
    """Stripe pays a balance out to the owner's bank account (`stripe_account` "" for the platform).
    A failed payout is undone with `services.ledger_reverse`."""
    _positive(amount=amount)
    legs = (
        _debit(bank_payouts(stripe_account), amount, currency),
        _credit(stripe_balance(stripe_account), amount, currency),
    )
    return Posting(
        payout_id, PostingKind.PAYOUT, f"Payout {payout_id}: {format_money(amount, currency)} to the bank", legs
    )


def _debit(account: AccountRef, amount: int, currency: str) -> Leg:
    return Leg(account, amount, currency)


def _credit(account: AccountRef, amount: int, currency: str) -> Leg:
    return Leg(account, -amount, currency)


def _positive(**amounts: int) -> None:
    for name, value in amounts.items():
        if type(value) is not int or value <= 0:
            raise InvalidInput(
                f"{name} must be a positive integer of minor units, not {value!r}.", code="invalid_amount"
            )


def _positive_or_zero(**amounts: int) -> None:
    for name, value in amounts.items():
        if type(value) is not int or value < 0:
            raise InvalidInput(
                f"{name} must be zero or a positive integer of minor units, not {value!r}.", code="invalid_amount"
            )
