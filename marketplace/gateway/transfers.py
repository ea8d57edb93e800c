"""Transfers the platform makes itself: a seller's share of a payment for several shops.

Why here: a Stripe call like any other, through the one door, returning the typed `Transfer`. With
separate charges and transfers Stripe moves nothing to the sellers on its own; the platform sends
each seller's share from the charge (`source_transaction`), so the transfer succeeds whatever the
platform's available balance and its funds follow the charge's
(`../shared/stripe-reference/connect-behaviour.md` §f).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marketplace import gateway
from marketplace.gateway.types import Transfer, TransferReversal


def transfer_create(
    *,
    order_id: int,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str,
    transfer_group: str,
    metadata: dict[str, str],
) -> Transfer:
    """Send `amount` of the charge `source_transaction` to `destination`, for our order `order_id`.

    The key is the order and the parameters: a retried follow-up, or two workers, make one transfer
    per order. `metadata` carries what a `transfer.created` webhook needs to post the same ledger
    legs as the path that made it (the order and the platform's fee)."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "destination": destination,
        "source_transaction": source_transaction,
        "transfer_group": transfer_group,
        "metadata": metadata,
    }
    options = gateway.request_options(
        idempotency_key=gateway.idempotency_key("order-transfer-create", order_id, params=params)
    )
    return Transfer.from_stripe(gateway.call(gateway.client().v1.transfers.create, params=params, options=options))


def transfer_reversal_create(
    *, transfer_id: str, amount: int, idempotency_ids: Sequence[object], metadata: dict[str, str]
) -> TransferReversal:
    """Take `amount` of a transfer the platform made back from the seller (a refund of that seller's
    order in a payment for several shops). Stripe allows it only up to the seller's *available*
    balance: refused with `InvalidInput` code `balance_insufficient` otherwise. `idempotency_ids`
    are our own ids of what causes it (the refund's row), so a retry makes one reversal."""
    params: dict[str, Any] = {"amount": amount, "metadata": metadata}
    key = gateway.idempotency_key("transfer-reversal-create", transfer_id, *idempotency_ids, params=params)
    options = gateway.request_options(idempotency_key=key)
    reversal = gateway.call(gateway.client().v1.transfers.reversals.create, transfer_id, params=params, options=options)
    return TransferReversal.from_stripe(reversal)
