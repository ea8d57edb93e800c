"""Migration payments 0008: ledgers that booked a dispute's withdrawn amount as a loss at once are
corrected so that an open dispute's amount is held, a lost one's is a loss and a won one's is back,
in USD and JPY; the migration can run twice, and a later sync of a lost dispute posts nothing more."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from marketplace.ledger.chart import DISPUTE_FEES, DISPUTE_LOSSES, DISPUTED_FUNDS, PLATFORM_BALANCE
from marketplace.ledger.flows import dispute_lost
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import ledger_balance
from marketplace.ledger.services import Leg, ledger_post, ledger_post_one
from payments.models import Dispute, DisputeStatus
from tests.ledger.helpers import WHEN

pytestmark = pytest.mark.django_db

migration = import_module("payments.migrations.0008_disputed_funds_held")


def _old_withdrawal(dispute_id: str, amount: int, currency: str, status: str) -> None:
    """What the ledger posted before 0008: the amount straight to the losses."""
    Dispute.objects.create(
        stripe_id=dispute_id,
        stripe_charge_id=f"ch_{dispute_id}",
        amount=amount,
        currency=currency,
        reason="fraudulent",
        status=status,
        stripe_created_at=timezone.now(),
    )
    ledger_post(
        source_id=dispute_id,
        kind="dispute_funds_withdrawn",
        description="old withdrawal",
        legs=[
            Leg(DISPUTE_LOSSES, amount, currency),
            Leg(DISPUTE_FEES, 1_500, currency),
            Leg(PLATFORM_BALANCE, -amount - 1_500, currency),
        ],
        occurred_at=WHEN,
    )
    if status == DisputeStatus.WON:
        ledger_post(
            source_id=dispute_id,
            kind="dispute_funds_reinstated",
            description="old reinstatement",
            legs=[Leg(PLATFORM_BALANCE, amount, currency), Leg(DISPUTE_LOSSES, -amount, currency)],
            occurred_at=WHEN,
        )


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_open_disputes_are_held_lost_ones_stay_losses_and_won_ones_are_untouched(currency: str) -> None:
    _old_withdrawal("dp_open", 10_000, currency, DisputeStatus.NEEDS_RESPONSE)
    _old_withdrawal("dp_lost", 7_000, currency, DisputeStatus.LOST)
    _old_withdrawal("dp_won", 5_000, currency, DisputeStatus.WON)
    platform = ledger_balance(account=PLATFORM_BALANCE)

    for _ in range(2):
        migration.hold_withdrawn_dispute_funds(apps, None)
        assert ledger_balance(account=DISPUTED_FUNDS) == {currency: 10_000}
        assert ledger_balance(account=DISPUTE_LOSSES) == {currency: 7_000}
        assert ledger_balance(account=PLATFORM_BALANCE) == platform  # no money moved at Stripe

    kinds = sorted(LedgerTransaction.objects.filter(source_id="dp_lost").values_list("kind", flat=True))
    assert kinds == ["dispute_funds_held", "dispute_funds_withdrawn", "dispute_lost"]
    # The code's own posting of the loss, when the lost dispute is synced again, finds it posted.
    ledger_post_one(posting=dispute_lost(dispute_id="dp_lost", amount=7_000, currency=currency), occurred_at=WHEN)
    assert ledger_balance(account=DISPUTE_LOSSES) == {currency: 7_000}
