"""Balances and balance transactions: what the platform and each connected account hold at Stripe.

Why here: the ledger proves itself against these reads (its balance per account and currency must
equal Stripe's available + pending), and reconciliation walks the balance transactions. Read-only
calls, so no idempotency keys; a connected account's are read with the `Stripe-Account` header.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marketplace import gateway
from marketplace.gateway.types import Balance, BalanceTransaction


def balance_retrieve(*, account: str | None = None) -> Balance:
    """The platform's balance, or with `account` that connected account's."""
    options = gateway.request_options(account=account)
    return Balance.from_stripe(gateway.call(gateway.client().v1.balance.retrieve, options=options))


def balance_transactions_list(
    *,
    account: str | None = None,
    created_gte: int | None = None,
    payout: str | None = None,
    expand_source: bool = False,
    page_size: int = 100,
) -> Iterator[BalanceTransaction]:
    """Every balance transaction of the platform (or of `account`), newest first, streamed.

    A generator over Stripe's pages (`page_size` per request, at most 100): a year of movements is
    never held in memory, and the next page is only fetched when the caller gets that far. An error
    on any page raises our own error, like every gateway call.

    `payout`: only what that automatic payout paid out (Stripe answers it once
    `payout.reconciliation_completed` was sent). `expand_source`: each transaction's source object
    is read along, so that a connected account's `py_` payment names its transfer
    (`BalanceTransaction.source_transfer`)."""
    params: dict[str, Any] = {"limit": page_size}
    if created_gte is not None:
        params["created"] = {"gte": created_gte}
    if payout is not None:
        params["payout"] = payout
    if expand_source:
        params["expand"] = ["data.source"]
    with gateway.translate_errors():
        page = gateway.client().v1.balance_transactions.list(params, gateway.request_options(account=account))  # type: ignore[arg-type]
        for txn in page.auto_paging_iter():
            yield BalanceTransaction.from_stripe(txn)
