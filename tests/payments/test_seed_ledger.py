"""The demo's ledger is real from the start: `seed_demo` pays its orders and subscriptions through the
sandbox and the app's own services, which post them, so the platform's and every seller's ledger balance equals
Stripe's as soon as the demo starts."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from marketplace.ledger.models import LedgerTransaction
from orders.models import PAID_STATUSES, Order
from payments.models import Payment
from tests.payments.helpers import assert_ledger_equals_stripe, ledger_balances

pytestmark = pytest.mark.django_db


def test_after_seed_demo_the_ledger_equals_stripe_for_every_account(sandbox: Any) -> None:
    Group.objects.get_or_create(name=settings.PLATFORM_ADMINS_GROUP)  # a migration's row; a flush may have run
    call_command("seed_demo", stdout=StringIO())

    paid = list(Order.objects.filter(status__in=PAID_STATUSES).select_related("payment"))
    # the demo buyer's two, the disputed one, and the demo buyer's one payment for two USD shops
    assert sorted(o.currency for o in paid) == ["jpy", "jpy", "usd", "usd", "usd"]
    charges = {o.payment.stripe_charge_id for o in paid if o.payment is not None}
    assert len(charges) == 4
    # and the first invoices of the demo buyer's two subscriptions (seed_demo_subscriptions)
    invoices = Payment.objects.filter(subscription_invoices__isnull=False).values_list("stripe_charge_id", flat=True)
    assert len(set(invoices)) == 2
    assert set(LedgerTransaction.objects.filter(kind="charge").values_list("source_id", flat=True)) == charges | set(
        invoices
    )
    # charge, transfer, application fee of each single-shop order and subscription invoice, the
    # disputed one's withdrawal, and the group payment's charge and its two transfers (the platform
    # keeps its fee: no fee object)
    assert LedgerTransaction.objects.count() == 10 + 6 + 3
    assert LedgerTransaction.objects.filter(kind="dispute_funds_withdrawn").count() == 1
    assert set(ledger_balances()) == {"jpy", "usd"}  # the platform kept a net fee in each currency
    assert_ledger_equals_stripe()
