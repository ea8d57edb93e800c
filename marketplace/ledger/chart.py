"""The chart of accounts: which accounts exist, their kind and their name (table in the package docstring).

Code refers to an account by an `AccountRef` (a code, plus the Stripe account for the accounts that
exist once per Stripe account), never by a database id, so a posting can be built before its
accounts exist: `services.ledger_post` creates them on first use (an owner's whole set at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, StrEnum


class AccountKind(StrEnum):
    ASSET = "asset"
    REVENUE = "revenue"
    CONTRA_REVENUE = "contra_revenue"
    EXPENSE = "expense"
    CONTRA_EXPENSE = "contra_expense"

    @property
    def normal_sign(self) -> int:
        """+1 for accounts that grow by debits, -1 for those that grow by credits.

        Legs are stored debit-positive; a balance is shown on the account's normal side, so revenue
        reads as a positive number: balance = normal_sign * sum(legs).
        """
        return -1 if self in (AccountKind.REVENUE, AccountKind.CONTRA_EXPENSE) else 1


class Owner(Enum):
    """Whose Stripe account an account belongs to: the platform's, one seller's, or either."""

    PLATFORM = "platform"
    SELLER = "seller"
    ANY = "any"


class AccountCode(StrEnum):
    STRIPE_BALANCE = "stripe_balance"
    BANK_PAYOUTS = "bank_payouts"
    BUYER_PAYMENTS = "buyer_payments"
    BUYER_REFUNDS = "buyer_refunds"
    SELLER_APPLICATION_FEES = "seller_application_fees"
    APPLICATION_FEES = "application_fees"
    APPLICATION_FEE_REFUNDS = "application_fee_refunds"
    STRIPE_FEES = "stripe_fees"
    DISPUTED_FUNDS = "disputed_funds"
    DISPUTE_LOSSES = "dispute_losses"
    DISPUTE_RECOVERIES = "dispute_recoveries"
    SELLER_DISPUTE_LOSSES = "seller_dispute_losses"
    DISPUTE_FEES = "dispute_fees"


@dataclass(frozen=True)
class _Entry:
    name: str
    kind: AccountKind
    owner: Owner


CHART: dict[AccountCode, _Entry] = {
    AccountCode.STRIPE_BALANCE: _Entry("Stripe balance", AccountKind.ASSET, Owner.ANY),
    AccountCode.BANK_PAYOUTS: _Entry("Bank payouts", AccountKind.ASSET, Owner.ANY),
    AccountCode.BUYER_PAYMENTS: _Entry("Payments from buyers", AccountKind.REVENUE, Owner.PLATFORM),
    AccountCode.BUYER_REFUNDS: _Entry("Refunds to buyers", AccountKind.CONTRA_REVENUE, Owner.PLATFORM),
    AccountCode.SELLER_APPLICATION_FEES: _Entry("Application fees paid", AccountKind.CONTRA_REVENUE, Owner.SELLER),
    AccountCode.APPLICATION_FEES: _Entry("Application fees", AccountKind.REVENUE, Owner.PLATFORM),
    AccountCode.APPLICATION_FEE_REFUNDS: _Entry("Application fee refunds", AccountKind.CONTRA_REVENUE, Owner.PLATFORM),
    AccountCode.STRIPE_FEES: _Entry("Stripe processing fees", AccountKind.EXPENSE, Owner.PLATFORM),
    AccountCode.DISPUTED_FUNDS: _Entry("Funds held for open disputes", AccountKind.ASSET, Owner.PLATFORM),
    AccountCode.DISPUTE_LOSSES: _Entry("Dispute losses", AccountKind.EXPENSE, Owner.PLATFORM),
    AccountCode.DISPUTE_RECOVERIES: _Entry(
        "Dispute losses recovered from sellers", AccountKind.CONTRA_EXPENSE, Owner.PLATFORM
    ),
    AccountCode.SELLER_DISPUTE_LOSSES: _Entry("Lost disputes taken back", AccountKind.CONTRA_REVENUE, Owner.SELLER),
    AccountCode.DISPUTE_FEES: _Entry("Dispute fees", AccountKind.EXPENSE, Owner.PLATFORM),
}

_STRIPE_ACCOUNT_ID = re.compile(r"acct_[A-Za-z0-9]{1,250}")


@dataclass(frozen=True, order=True)
class AccountRef:
    """One account of the chart: a code, and for per-seller accounts the seller's Stripe account id.

    `stripe_account` is "" for the platform's accounts. A ref that the chart does not allow (a
    platform-only account with a seller, a per-seller account without one) is a programming error
    and raises ValueError at once, not at posting time.
    """

    code: AccountCode
    stripe_account: str = ""

    def __post_init__(self) -> None:
        owner = CHART[AccountCode(self.code)].owner
        if self.stripe_account and not _STRIPE_ACCOUNT_ID.fullmatch(self.stripe_account):
            raise ValueError(f"{self.stripe_account!r} is not a Stripe account id (acct_...)")
        if owner is Owner.PLATFORM and self.stripe_account:
            raise ValueError(f"{self.code} is the platform's account: it takes no Stripe account")
        if owner is Owner.SELLER and not self.stripe_account:
            raise ValueError(f"{self.code} exists once per seller: give the seller's Stripe account id")

    @property
    def kind(self) -> AccountKind:
        return CHART[self.code].kind

    @property
    def name(self) -> str:
        entry = CHART[self.code]
        if entry.owner is Owner.PLATFORM:
            return entry.name
        return f"{entry.name} — " + (f"seller {self.stripe_account}" if self.stripe_account else "platform")


# The platform's accounts, and constructors for the per-seller ones.
PLATFORM_BALANCE = AccountRef(AccountCode.STRIPE_BALANCE)
BUYER_PAYMENTS = AccountRef(AccountCode.BUYER_PAYMENTS)
BUYER_REFUNDS = AccountRef(AccountCode.BUYER_REFUNDS)
APPLICATION_FEES = AccountRef(AccountCode.APPLICATION_FEES)
APPLICATION_FEE_REFUNDS = AccountRef(AccountCode.APPLICATION_FEE_REFUNDS)
STRIPE_FEES = AccountRef(AccountCode.STRIPE_FEES)
DISPUTED_FUNDS = AccountRef(AccountCode.DISPUTED_FUNDS)
DISPUTE_LOSSES = AccountRef(AccountCode.DISPUTE_LOSSES)
DISPUTE_RECOVERIES = AccountRef(AccountCode.DISPUTE_RECOVERIES)
DISPUTE_FEES = AccountRef(AccountCode.DISPUTE_FEES)


def accounts_of(stripe_account: str) -> list[AccountRef]:
    """Every account of the chart the platform ("") or the connected account `stripe_account` has."""
    side = Owner.SELLER if stripe_account else Owner.PLATFORM
    return [AccountRef(code, stripe_account) for code, entry in CHART.items() if entry.owner in (side, Owner.ANY)]


def stripe_balance(stripe_account: str = "") -> AccountRef:
    """The Stripe balance of a connected account, or the platform's when `stripe_account` is ""."""
    return AccountRef(AccountCode.STRIPE_BALANCE, stripe_account)


def bank_payouts(stripe_account: str = "") -> AccountRef:
    """What Stripe paid out to the bank account of a connected account (or of the platform)."""
    return AccountRef(AccountCode.BANK_PAYOUTS, stripe_account)


def seller_dispute_losses(stripe_account: str) -> AccountRef:
    """What the platform took back from a seller for its lost disputes (the seller's side of
    `DISPUTE_RECOVERIES`)."""
    return AccountRef(AccountCode.SELLER_DISPUTE_LOSSES, stripe_account)


def seller_application_fees(stripe_account: str) -> AccountRef:
    """The application fees a seller has paid the platform (the seller's side of `APPLICATION_FEES`)."""
    return AccountRef(AccountCode.SELLER_APPLICATION_FEES, stripe_account)
