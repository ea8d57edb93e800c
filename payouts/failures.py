"""Stripe's payout failure codes, each as a sentence a seller understands and the way out.

Stripe's own `failure_message` texts are not documented (connect-behaviour.md §c); these follow
its "Payout failures" table (docs.stripe.com/api/payouts/failures). Almost every way out is the
same: correct the bank account in the Express dashboard, after which Stripe pays out again.
"""

from __future__ import annotations

UPDATE_BANK = "Update your bank account in your Stripe Express dashboard; your next payout will be sent there."

REASONS: dict[str, str] = {
    "account_closed": "your bank account has been closed",
    "account_frozen": "your bank account is frozen",
    "bank_account_restricted": "your bank account does not accept this kind of payment (often a savings account)",
    "bank_ownership_changed": "your bank's branch changed owner, so the account details are no longer valid",
    "could_not_process": "your bank could not process it",
    "debit_not_authorized": "your bank account does not allow debits, which Stripe needs",
    "declined": "your bank declined it",
    "incorrect_account_holder_address": "the account holder's address does not match your bank's records",
    "incorrect_account_holder_name": "the account holder's name does not match your bank's records",
    "incorrect_account_holder_tax_id": "the account holder's tax ID does not match your bank's records",
    "insufficient_funds": "your Stripe balance could not cover it",
    "invalid_account_number": "the account number is not valid",
    "invalid_currency": "your bank account cannot receive this currency",
    "no_account": "no bank account could be found with these details",
    "unsupported_card": "your bank no longer supports payouts to this card",
}
WAYS_OUT: dict[str, str] = {
    "could_not_process": "Stripe will try again; if it fails again, check your bank details in your Stripe "
    "Express dashboard.",
    "declined": "Contact your bank, then check your bank details in your Stripe Express dashboard.",
    "insufficient_funds": "It will be sent again once your balance covers it; nothing to do on your side.",
    "invalid_currency": "Add a bank account in this currency in your Stripe Express dashboard.",
}


STOPPED = "Stripe sends no payout until then."
BANK_UPDATED = "Your bank details have been updated since: Stripe sends this money with your next payout."
BANK_UPDATED_SENT = "Your bank details have been updated since, and a payout of {amount} is on its way to your bank."


def failure_sentence(code: str, *, bank: str = "") -> str:
    """Why the payout failed and what to do, in two or three sentences. `bank` is the state of the
    seller's bank account when the banner is shown: "errored" (Stripe sends no payout until the
    details are updated, which the seller is told), "updated" (nothing left to do), or "" (the
    payout's own page: what happened to it)."""
    return f"This payout failed: {failure_reason_and_way_out(code, bank=bank)}"


def failure_reason_and_way_out(code: str, *, bank: str = "", on_its_way: str = "") -> str:
    """`failure_sentence` after its "This payout failed:", for a text that has said so already
    (the banner: "Your payout of $14.40 failed: ..."). `on_its_way`: the amount of a later payout
    on its way to the updated bank account (the banner said the money goes "with your next payout"
    while that payout was sent)."""
    reason = REASONS.get(code, "your bank returned it")
    if bank == "updated" and on_its_way:
        return f"{reason}. {BANK_UPDATED_SENT.format(amount=on_its_way)}"
    if bank == "updated":
        return f"{reason}. {BANK_UPDATED}"
    way_out = WAYS_OUT.get(code, UPDATE_BANK)
    if bank == "errored" and code not in ("insufficient_funds", "could_not_process"):
        way_out = f"{way_out} {STOPPED}"
    return f"{reason}. {way_out}"
