"""The sandbox clock moving forward: whatever Stripe would do as time passes happens here, in order.

Advancing walks through every UTC midnight in between (and every subscription renewal or invoice retry time), so
a three-day jump pays out three times, each with only the funds that had become available by then.
"""

from __future__ import annotations

import time

from . import money
from .core import Core
from .resources import accounts, balance, billing, checkout, payments

DAY = 86400


def advance(core: Core, seconds: int) -> int:
    """Move the sandbox clock forward by ``seconds`` (>= 0) and run what falls due; returns the new time."""
    if seconds < 0:
        raise ValueError("the sandbox clock only moves forward")
    store = core.store
    with store.lock:
        base = int(time.time())
        start = base + store.clock_offset
        end = start + seconds
        t = start
        try:
            if seconds == 0:
                store.frozen_at = t
                run_due(core)
            while t < end:
                # Each UTC midnight in between, and each moment a subscription renews or an invoice is retried, so
                # a renewal's charge is dated at the period's end.
                t = min((t // DAY + 1) * DAY, end, billing.next_due(core, after=t) or end)
                store.clock_offset = t - base
                store.frozen_at = t
                run_due(core, midnight=t % DAY == 0)
        finally:
            store.frozen_at = None
        store.clock_offset = end - base
        store.save()
        return end


def run_due(core: Core, *, midnight: bool = False) -> None:
    store = core.store
    now = store.now()
    became: set[str] = set()
    for txn in store.find("balance_transaction", None, status="pending"):
        if txn["available_on"] <= now:
            txn["status"] = "available"
            became.add(store.owner[txn["id"]])
    for owner in sorted(became):
        core.emit("balance.available", money.balance(store, owner), account=owner)
    for payout in store.find("payout", None):
        if payout["status"] in ("pending", "in_transit") and payout["arrival_date"] <= now:
            balance.finish_payout(core, payout, "paid")
    if midnight:
        balance.automatic_payouts(core, now)
    for acct in store.find("account"):
        req = acct["requirements"]
        if req["current_deadline"] and req["current_deadline"] <= now and req["currently_due"]:
            # Past the deadline Stripe moves what is still due to past_due and disables the account.
            accounts.set_requirements(
                core,
                acct,
                currently_due=req["currently_due"],
                past_due=req["currently_due"],
                eventually_due=req["eventually_due"],
                disabled_reason="requirements.past_due",
                current_deadline=None,
            )
    for refund in reversed(store.find("refund", None)):
        if refund.get("_settle_at") is not None and refund["_settle_at"] <= now:
            payments.settle_refund(core, refund)
    billing.run_due(core)
    for session in store.find("checkout.session", None, status="open"):
        if session["expires_at"] <= now:
            checkout.expire_session(core, session)
