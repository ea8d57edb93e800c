"""A lost dispute on a payment for several shops is recovered from each seller in proportion to its
share of the disputed amount (largest remainder), each by its own reversal; what a seller's
available balance cannot cover is that seller's debt. Against the sandbox over HTTP, USD and JPY.

Worked example: the three shops of `test_multi_seller` (orders 10000, 3333, 1250; transfers 8970,
3166, 1250 in USD, 9000, 3166, 1250 in JPY) disputed for 5000 and lost: parts 3429, 1143, 428;
the sellers give back 3076, 1086, 428 (USD) or 3086, 1086, 428 (JPY); the platform bears the
fee's shares, Stripe's fee and the dispute fee."""

from __future__ import annotations

from typing import Any

import pytest

from payments.models import Dispute, SellerDebt
from payouts.models import Transfer, TransferReversal
from tests.factories import UserFactory
from tests.orders.conftest import listing_of, pay
from tests.orders.test_multi_seller import WORKED, settle, start_cart, three_shops
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances
from tests.payments.test_disputes import control

pytestmark = pytest.mark.django_db

RECOVERED = {"usd": [3_076, 1_086, 428], "jpy": [3_086, 1_086, 428]}


def _lose_part_of_a_group_payment(sandbox: Any, currency: str, capture: Any, card: str) -> tuple[list[Any], Dispute]:
    amounts = WORKED[currency][0]
    shops = three_shops(sandbox, currency)
    items = [(listing_of(shop, price=amount), 1) for shop, amount in zip(shops, amounts, strict=True)]
    started = start_cart(UserFactory(), currency, *items)
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(started.group and started.group.checkout_session_id), card=card)
    settle(started.orders[0], capture)
    charge = Transfer.objects.filter(payment__isnull=False).first()
    assert charge is not None and charge.payment is not None
    opened = control(sandbox, f"charges/{charge.payment.stripe_charge_id}/dispute", reason="fraudulent", amount=5_000)
    control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with capture(execute=True):
        assert "failed" not in process(new_events(seen))
    return shops, Dispute.objects.get()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_is_recovered_from_each_shop_by_its_own_reversal(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    shops, dispute = _lose_part_of_a_group_payment(
        sandbox,
        currency,
        django_capture_on_commit_callbacks,
        card="4000000000000077",  # funds available at once
    )
    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert dispute.recovered_amount == sum(RECOVERED[currency])
    transfers = [Transfer.objects.get(destination=shop.stripe_account_id) for shop in shops]
    reversed_ = [sum(r.amount for r in TransferReversal.objects.filter(transfer=t)) for t in transfers]
    assert reversed_ == RECOVERED[currency]
    for shop, transfer, back in zip(shops, transfers, reversed_, strict=True):
        left = transfer.amount - back
        assert stripe_balances(str(shop.stripe_account_id)) == ({currency: left} if left else {})
    assert not SellerDebt.objects.exists()
    assert_ledger_equals_stripe()


def test_what_a_sellers_available_balance_cannot_cover_is_that_sellers_debt(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Paid with 4242, every seller's funds are still pending: a separate transfer cannot be reversed
    from pending funds, so each seller's share becomes its own debt, one per dispute and seller."""
    shops, dispute = _lose_part_of_a_group_payment(
        sandbox, "usd", django_capture_on_commit_callbacks, card="4242424242424242"
    )
    assert (dispute.recovery, dispute.recovered_amount) == ("debt", 0)
    debts = {d.seller_id: d.amount for d in SellerDebt.objects.filter(dispute=dispute)}
    assert debts == {shop.pk: owed for shop, owed in zip(shops, RECOVERED["usd"], strict=True)}
    assert not TransferReversal.objects.exists()
    assert_ledger_equals_stripe()
