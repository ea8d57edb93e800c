"""Payouts of connected accounts: read one (the webhook handlers re-read what an event announces),
and make one for a seller on a manual schedule.

Why a re-read: Stripe sends `payout.*` events out of order and more than once, and a payout can
fail after being shown paid; the payout as Stripe holds it now is the only state worth mirroring.
A read needs no idempotency key; both carry the connected account's `Stripe-Account` header.
"""

from __future__ import annotations

from marketplace import gateway
from marketplace.gateway.types import Payout


def payout_retrieve(*, payout_id: str, account: str | None) -> Payout:
    """The payout as Stripe has it now (`account` None: one of the platform's own payouts)."""
    options = gateway.request_options(account=account)
    return Payout.from_stripe(gateway.call(gateway.client().v1.payouts.retrieve, payout_id, options=options))


def payout_create(*, account: str, amount: int, currency: str, seller_id: int, form_token: str) -> Payout:
    """Pay `amount` of the seller's available balance out to its bank account, with its
    `Stripe-Account`: on a manual schedule Stripe sends nothing until the platform asks for each payout.

    The key is the seller, the account, the form's token and the payout asked for: a double submit of
    one form makes one payout, and a later form (a new token) is a new payout."""
    params = {"amount": amount, "currency": currency, "metadata": {"seller": str(seller_id)}}
    key = gateway.idempotency_key("payout", seller_id, account, form_token, params=params)
    options = gateway.request_options(idempotency_key=key, account=account)
    return Payout.from_stripe(gateway.call(gateway.client().v1.payouts.create, params=params, options=options))
