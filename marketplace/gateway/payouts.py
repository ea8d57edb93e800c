"""Payouts of connected accounts: read one (the webhook handlers re-read what an event announces).

Why a re-read: Stripe sends `payout.*` events out of order and more than once, and a payout can
fail after being shown paid; the payout as Stripe holds it now is the only state worth mirroring.
Read-only, with the connected account's `Stripe-Account` header, so no idempotency key.
"""

from __future__ import annotations

from marketplace import gateway
from marketplace.gateway.types import Payout


def payout_retrieve(*, payout_id: str, account: str | None) -> Payout:
    """The payout as Stripe has it now (`account` None: one of the platform's own payouts)."""
    options = gateway.request_options(account=account)
    return Payout.from_stripe(gateway.call(gateway.client().v1.payouts.retrieve, payout_id, options=options))
