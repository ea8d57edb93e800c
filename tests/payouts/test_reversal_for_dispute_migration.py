"""Migration payouts 0007: the reversals that recovered a lost dispute on a destination charge before
`TransferReversal.for_dispute` existed are named by their dispute; a refund's reversal is not."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from payments.models import Dispute, DisputeStatus
from payouts.models import Transfer, TransferReversal

pytestmark = pytest.mark.django_db

migration = import_module("payouts.migrations.0007_transfer_reversal_for_dispute")


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dispute_recovery_reversal_is_named_by_its_dispute(currency: str) -> None:
    now = timezone.now()
    transfer = Transfer.objects.create(
        stripe_id="tr_1", destination="acct_1", amount=10_000, currency=currency, created_at=now
    )
    TransferReversal.objects.create(
        stripe_id="trr_dispute", transfer=transfer, amount=9_000, currency=currency, created_at=now
    )
    TransferReversal.objects.create(
        stripe_id="trr_refund", transfer=transfer, amount=1_000, currency=currency, source_refund="re_1", created_at=now
    )
    Dispute.objects.create(
        stripe_id="dp_1",
        stripe_charge_id="ch_1",
        amount=10_000,
        currency=currency,
        reason="fraudulent",
        status=DisputeStatus.LOST,
        stripe_created_at=now,
        recovery_reversal_id="trr_dispute",
    )
    for _ in range(2):  # again: nothing changes
        migration.name_recovery_reversals(apps, None)
        assert dict(TransferReversal.objects.values_list("stripe_id", "for_dispute")) == {
            "trr_dispute": "dp_1",
            "trr_refund": "",
        }
