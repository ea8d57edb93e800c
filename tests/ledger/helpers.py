"""The sale most ledger tests start from: a paid destination charge of 10000 with a 1000 application fee."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import transaction

from marketplace.ledger import flows
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.services import Posting, ledger_post_one

WHEN = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def sale(n: object, *, seller: str, currency: str = "usd", stripe_fee: int = 320) -> list[Posting]:
    """The three postings (ch_n, tr_n, fee_n) of one sale; Stripe's fee is 320 cents in USD, ¥360 in JPY."""
    return flows.destination_charge(
        charge_id=f"ch_{n}",
        transfer_id=f"tr_{n}",
        application_fee_id=f"fee_{n}",
        seller=seller,
        amount=10_000,
        application_fee_amount=1_000,
        stripe_fee=stripe_fee,
        currency=currency,
    )


def post_together(*, postings: Sequence[Posting], occurred_at: datetime) -> list[LedgerTransaction]:
    """Post `postings` as a webhook handler posts a paid charge's (`payments.services`): each through
    `ledger_post_one`, inside one database transaction of the caller's, so that one refused takes
    the others with it."""
    with transaction.atomic():
        return [ledger_post_one(posting=posting, occurred_at=occurred_at) for posting in postings]
