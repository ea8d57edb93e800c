"""The demo's dispute: seeded through the sandbox with the dispute test card, recorded, once."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from payments.models import Dispute
from tests.catalog.factories import ListingFactory
from tests.orders.conftest import active_seller
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = pytest.mark.django_db


def test_seed_demo_disputes_opens_one_jpy_dispute_once(sandbox: Any) -> None:
    seller = active_seller(sandbox, currency="jpy", shop="Hokusai Prints")
    ListingFactory(seller=seller, currency="jpy", price=3_000, stock=5)
    out = StringIO()
    call_command("seed_demo_disputes", stdout=out)
    call_command("seed_demo_disputes", stdout=out)  # idempotent
    dispute = Dispute.objects.get()
    assert (dispute.seller, dispute.currency, dispute.status, dispute.amount) == (
        seller,
        "jpy",
        "needs_response",
        3_000,
    )
    assert dispute.order is not None and "already has one" in out.getvalue()
    assert_ledger_equals_stripe()
