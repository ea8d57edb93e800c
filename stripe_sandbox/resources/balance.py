"""Balances, balance transactions and payouts (automatic payouts run from the scheduler on each account's schedule).

An automatic payout sweeps the available balance transactions no earlier payout took, and remembers them: they
are what `GET /v1/balance_transactions?payout=po_...` lists once `payout.reconciliation_completed` was sent. A
failed payout marks the bank account `errored` (`account.external_account.updated`), and no payout goes to it
until the account's bank details are updated (the control API's `bank_account` call plays the seller doing so).
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime

from .. import money
from ..core import Core, Ctx, Route, diff
from ..errors import invalid
from ..store import Obj, new_id, template
from . import accounts

# Stripe's payout failure codes with the description its "Payout failures" table gives each
# (docs.stripe.com/api/payouts/failures). The wording Stripe puts in `failure_message` is not documented; the
# sandbox uses these descriptions.
PAYOUT_FAILURES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or the number, of payouts "
    "allowed. This normally indicates that the bank account is a savings or other non-checking account.",
    "bank_ownership_changed": "The destination bank account is no longer valid because its branch has changed "
    "ownership.",
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account. (Stripe requires bank accounts "
    "to be set up for both credit and debit payouts.)",
    "declined": "The bank has declined this transfer. Please contact the bank before retrying.",
    "incorrect_account_holder_address": "Your bank notified us that the bank account holder address on file is "
    "incorrect.",
    "incorrect_account_holder_name": "Your bank notified us that the bank account holder name on file is incorrect.",
    "incorrect_account_holder_tax_id": "Your bank notified us that the bank account holder tax ID on file is "
    "incorrect.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is invalid.",
    "invalid_currency": "The bank was unable to process this payout because of its currency. This is probably "
    "because the bank account cannot accept payments in that currency.",
    "no_account": "The bank account details on file are probably incorrect. No bank account could be located with "
    "those details.",
    "unsupported_card": "The bank no longer supports payouts to this card.",
}


def balance_retrieve(ctx: Ctx) -> Obj:
    ctx.params({})
    return money.balance(ctx.store, ctx.owner)


def txn_retrieve(ctx: Ctx, txn_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(txn_id, "balance_transaction", ctx.owner, label="balance transaction")


def txn_list(ctx: Ctx) -> Obj:
    p = ctx.params({"type": "str", "source": "str", "currency": "str", "payout": "str"}, listing=True)
    match = {k: p[k] for k in ("type", "source", "currency") if p.get(k)}
    swept: set[str] | None = None
    if p.get("payout"):
        payout = ctx.store.get(p["payout"], "payout", ctx.owner)
        if not payout["automatic"]:
            raise invalid(
                "Balance transaction history can only be filtered on automatic transfers, not manual.", param="payout"
            )
        swept = set(payout.get("_txns", []))
    keep = None if swept is None else (lambda t: t["id"] in swept)
    return ctx.store.list_page("balance_transaction", ctx.owner, p, "/v1/balance_transactions", keep=keep, **match)


def create_payout(
    core: Core,
    owner: str,
    amount: int,
    currency: str,
    *,
    automatic: bool,
    arrival_date: int,
    metadata: dict[str, str] | None = None,
    description: str | None = None,
) -> Obj:
    """Debit the available balance now; the payout is ``paid`` once the sandbox clock reaches ``arrival_date``."""
    now = core.store.now()
    bank = (default_bank(core, owner) or {}).get("id")
    payout = template(
        "payout",
        id=new_id("po_"),
        amount=amount,
        arrival_date=arrival_date,
        automatic=automatic,
        created=now,
        currency=currency,
        description="STRIPE PAYOUT" if automatic else description,
        destination=bank,
        metadata=metadata or {},
        reconciliation_status="not_applicable" if not automatic else "in_progress",
        source_type="card",
        status="in_transit" if automatic else "pending",
        statement_descriptor=None,
    )
    core.store.add(payout, owner)
    txn = money.add_txn(
        core.store,
        owner,
        amount=-amount,
        currency=currency,
        type="payout",
        source=payout["id"],
        reporting_category="payout",
        description=payout["description"],
    )
    payout["balance_transaction"] = txn["id"]
    if automatic:
        swept = [
            t
            for t in core.store.find("balance_transaction", owner, currency=currency)
            if t["type"] != "payout" and not t.get("_payout") and t["available_on"] <= now
        ]
        for t in swept:
            t["_payout"] = payout["id"]
        payout["_txns"] = [t["id"] for t in swept]
    core.emit("payout.created", payout, account=owner)
    return payout


def default_bank(core: Core, owner: str) -> Obj | None:
    """The connected account's bank account payouts go to (None for the platform or an account without one)."""
    acct = core.store.objects.get(owner) or {}
    banks = (acct.get("external_accounts") or {}).get("data") or []
    return banks[0] if banks else None


def payouts_blocked(core: Core, owner: str) -> bool:
    """Stripe stops every payout of an account whose bank account errored until its details are updated."""
    bank = default_bank(core, owner)
    return bool(bank and bank.get("status") == "errored")


def bank_account_set_status(core: Core, owner: str, status: str) -> Obj | None:
    """Set the bank account's status and send `account.external_account.updated` (Connect endpoint) if it changed."""
    bank = default_bank(core, owner)
    if bank is None or bank.get("status") == status:
        return bank
    before = copy.deepcopy(bank)
    bank["status"] = status
    core.emit("account.external_account.updated", bank, account=owner, previous=diff(before, bank))
    return bank


def _emit(core: Core, type: str, payout: Obj, previous: Obj | None = None) -> None:
    owner = core.store.owner[payout["id"]]
    core.emit(type, payout, account=owner, previous=previous)


def payout_create(ctx: Ctx) -> Obj:
    p = ctx.params(
        {
            "!amount": "int",
            "!currency": "str",
            "metadata": "meta",
            "description": "str",
            "method": ("standard", "instant"),
            "statement_descriptor": "str",
            "destination": "str",
        }
    )
    currency = p["currency"].lower()
    if p["amount"] < 1:
        raise invalid("Amount must be at least 1", param="amount", code="amount_too_small")
    if payouts_blocked(ctx.core, ctx.owner):
        raise invalid(
            "Payouts are disabled for this account because its bank account errored; update the external account "
            "to resume payouts.",
            code="payouts_not_allowed",
        )
    if money.available(ctx.store, ctx.owner, currency) < p["amount"]:
        raise invalid(
            "You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. "
            "You can use the /v1/balance endpoint to view your Stripe balance (for more details, see "
            "stripe.com/docs/api#balance).",
            code="balance_insufficient",
        )
    arrival = (ctx.store.now() // 86400 + 2) * 86400
    return create_payout(
        ctx.core,
        ctx.owner,
        p["amount"],
        currency,
        automatic=False,
        arrival_date=arrival,
        metadata=p.get("metadata"),
        description=p.get("description"),
    )


def payout_retrieve(ctx: Ctx, po_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(po_id, "payout", ctx.owner)


def payout_list(ctx: Ctx) -> Obj:
    p = ctx.params({"status": "str", "destination": "str", "arrival_date": "any"}, listing=True)
    match = {"status": p["status"]} if p.get("status") else {}
    return ctx.store.list_page("payout", ctx.owner, p, "/v1/payouts", **match)


def payout_cancel(ctx: Ctx, po_id: str) -> Obj:
    payout = ctx.store.get(po_id, "payout", ctx.owner)
    ctx.params({})
    if payout["status"] != "pending":
        raise invalid(f"Payouts can only be canceled while they are pending. This payout is {payout['status']}.")
    return finish_payout(ctx.core, payout, "canceled")


def finish_payout(core: Core, payout: Obj, status: str, failure_code: str | None = None) -> Obj:
    """``paid``, or ``failed`` / ``canceled`` which put the money back on the account's balance."""
    owner = core.store.owner[payout["id"]]
    before = copy.deepcopy(payout)
    payout["status"] = status
    if status in ("failed", "canceled"):
        txn = money.add_txn(
            core.store,
            owner,
            amount=payout["amount"],
            currency=payout["currency"],
            type="payout_failure" if status == "failed" else "payout_cancel",
            source=payout["id"],
            reporting_category="payout_reversal",
        )
        payout["failure_balance_transaction"] = txn["id"]
        if status == "failed":
            code = failure_code or "could_not_process"
            payout["failure_code"] = code
            payout["failure_message"] = PAYOUT_FAILURES[code]
    _emit(core, f"payout.{status}", payout, diff(before, payout))
    if status == "failed":
        bank_account_set_status(core, owner, "errored")
    if status == "paid" and payout["automatic"] and payout["reconciliation_status"] == "in_progress":
        # Stripe: "whenever balance transactions paid out in an automatic payout can be queried".
        before = copy.deepcopy(payout)
        payout["reconciliation_status"] = "completed"
        _emit(core, "payout.reconciliation_completed", payout, diff(before, payout))
    return payout


def payout_day(schedule: Obj, midnight: int) -> bool:
    """Whether an account on `schedule` is paid out at this UTC midnight: every day (`daily`), on its
    `weekly_anchor` day, or on its `monthly_anchor` date (the month's last day when the month is shorter);
    never on `manual`."""
    day = datetime.fromtimestamp(midnight, tz=UTC)
    interval = schedule.get("interval", "daily")
    if interval == "daily":
        return True
    if interval == "weekly":
        return accounts.WEEKDAYS[day.weekday()] == schedule.get("weekly_anchor", "monday")
    if interval == "monthly":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(int(schedule.get("monthly_anchor") or 1), last)
    return False


def automatic_payouts(core: Core, midnight: int) -> None:
    """Every connected account with payouts enabled, a bank account that did not error and a payout day today on
    its schedule is paid its available balance, per currency."""
    for acct in core.store.find("account"):
        if not acct["payouts_enabled"] or payouts_blocked(core, acct["id"]):
            continue
        if not payout_day(acct["settings"]["payouts"]["schedule"], midnight):
            continue
        bal = money.balance(core.store, acct["id"])
        for row in bal["available"]:
            if row["amount"] > 0:
                create_payout(
                    core, acct["id"], row["amount"], row["currency"], automatic=True, arrival_date=midnight + 86400
                )


ROUTES: list[Route] = [
    ("GET", r"/v1/balance", balance_retrieve),
    ("GET", r"/v1/balance_transactions", txn_list),
    ("GET", r"/v1/balance_transactions/([^/]+)", txn_retrieve),
    ("POST", r"/v1/payouts", payout_create),
    ("GET", r"/v1/payouts", payout_list),
    ("GET", r"/v1/payouts/([^/]+)", payout_retrieve),
    ("POST", r"/v1/payouts/([^/]+)/cancel", payout_cancel),
]
