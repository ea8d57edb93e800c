"""Edge cases of a failed refund's kept reversal (card 5126): a refund of everything left written
while another refund of the same payment waits to be sent, and a lost dispute smaller than the kept
reversal. Sandbox over HTTP, USD and JPY; the ledger equals Stripe for the platform and the seller."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from marketplace.money import format_money
from payments.models import Dispute, Refund, RefundOrigin, RefundStatus
from payments.services import payment_refundable, refund_create, refund_submit
from payouts.models import TransferReversal
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    money_page_row,
    new_events,
    process,
    row_net,
    stripe_balances,
)
from tests.payments.test_refunds import STRIPE_FEE, paid_order, refund

pytestmark = pytest.mark.django_db


def _advance(sandbox: Any) -> None:
    """Past the sandbox's settling time: card 5126's refunds fail."""
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 120}, timeout=10).raise_for_status()


def _fail_first_refund(sandbox: Any, currency: str, amount: int, capture: Any) -> Any:
    order = paid_order(sandbox, currency, card="4000000000005126")
    failed = refund(order, amount)
    seen = {e["id"] for e in new_events(set())}
    _advance(sandbox)
    with capture(execute=True):
        process(new_events(seen))
    failed.refresh_from_db()
    assert failed.status == RefundStatus.FAILED
    return order


def _write_unsent(order: Any, using_kept: int, everything_left: int) -> tuple[Refund, Refund]:
    """Two refunds written, not sent: one the kept reversal covers, then one of everything left."""
    first, rest = (
        refund_create(payment=order.payment, amount=amount, origin=RefundOrigin.SELLER, order_id=order.pk)
        for amount in (using_kept, everything_left)
    )
    assert (first.share_reused, rest.share_reused) == (using_kept, 0)
    return first, rest


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_everything_left_sent_before_a_refund_written_earlier_goes_as_written(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A refund of 3000 fails after taking the seller's 3000 back. Then 2000 (using the kept
    reversal, no `reverse_transfer`) and everything left, 8000 (as usual: Stripe reverses what is left
    of the transfer, 7000), are written before either is sent, and everything left is sent first: the
    earlier one goes to Stripe before it, as written, so Stripe sees a refund of everything left. The
    seller ends at 0, the platform at minus Stripe's fee, the money page and the ledger as Stripe."""
    from payouts.selectors import earnings_per_order, order_net

    order = _fail_first_refund(sandbox, currency, 3_000, django_capture_on_commit_callbacks)
    account = str(order.seller.stripe_account_id)
    assert order.payment is not None
    first, rest = _write_unsent(order, 2_000, 8_000)

    assert refund_submit(refund_id=rest.pk).status == RefundStatus.SUCCEEDED
    assert refund_submit(refund_id=first.pk).status == RefundStatus.SUCCEEDED

    first.refresh_from_db()
    assert first.stripe_transfer_reversal_id == "" and first.stripe_refund_id
    assert sorted(TransferReversal.objects.values_list("amount", flat=True)) == [3_000, 7_000]
    assert stripe_balances(account) == {}
    assert stripe_balances() == {currency: -STRIPE_FEE[currency]}
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=order.seller_id)
    assert order_net(earning) == 0
    assert row_net(money_page_row(order.seller.user, order.pk)) == format_money(0, currency)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_everything_left_is_refused_with_a_sentence_once_an_earlier_refund_failed(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """After the kept reversal (3000, fee 300), 3000 using it and everything left, 7000, are written;
    the 3000 is sent and fails at the buyer's bank too (card 5126) before the 7000 is sent. The 7000
    is no longer everything left: Stripe would reverse 7000 in proportion beside the kept 3000, the
    seller giving back 10000 for a refund of 7000 (its 3000 twice). It is not sent: it fails with a
    sentence saying why, its amount is open again, and the seller keeps 6300, the ledger equal to Stripe."""
    order = _fail_first_refund(sandbox, currency, 3_000, django_capture_on_commit_callbacks)
    account = str(order.seller.stripe_account_id)
    assert order.payment is not None
    first, rest = _write_unsent(order, 3_000, 7_000)
    seen = {e["id"] for e in new_events(set())}
    assert refund_submit(refund_id=first.pk).status == RefundStatus.SUCCEEDED
    _advance(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        process(new_events(seen))
    first.refresh_from_db()
    assert first.status == RefundStatus.FAILED

    refused = refund_submit(refund_id=rest.pk)

    assert (refused.status, refused.failure_code, refused.stripe_refund_id) == (
        RefundStatus.FAILED,
        "not_everything_left",
        None,
    )
    assert "is no longer everything left" in refused.failure_message
    assert payment_refundable(payment=order.payment) == 10_000
    assert stripe_balances(account) == {currency: 6_300}
    assert stripe_balances() == {currency: 3_700 - STRIPE_FEE[currency]}
    assert_ledger_equals_stripe()
    assert row_net(money_page_row(order.seller.user, order.pk)) == format_money(6_300, currency)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_smaller_than_the_kept_reversal_counts_only_its_part(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A refund of 5000 fails after taking the seller's 5000 back (fee 500 given back with it); then
    2000 is disputed and lost. The kept reversal covers the dispute's part (2000): nothing more is
    reversed, and the dispute counts 2000 of it. The other 3000 stays kept for a refund: the next
    refund would use it, the money page shows it among the refunds (and the 2000 among the disputes),
    as the revenue report does (2000 recovered for the dispute, the rest taken back for refunds); each
    equals Stripe: the seller at 4500, the platform's net revenue its balance, the ledger both."""
    from payments.services import payment_reversals_unused
    from payouts.selectors import earnings_per_order, order_net
    from tests.payments.helpers import lose_dispute, revenue_lines

    order = _fail_first_refund(sandbox, currency, 5_000, django_capture_on_commit_callbacks)
    account = str(order.seller.stripe_account_id)
    assert order.payment is not None
    charge = order.payment.stripe_charge_id
    lose_dispute(sandbox, charge_id=charge, amount=2_000, on_commit=django_capture_on_commit_callbacks)

    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert list(TransferReversal.objects.values_list("amount", flat=True)) == [5_000]
    assert payment_reversals_unused(payment_id=order.payment.pk) == 3_000
    assert stripe_balances(account) == {currency: 4_500}
    assert_ledger_equals_stripe()
    [earning] = earnings_per_order(seller_id=order.seller_id)
    assert (earning.disputed, earning.kept_for_dispute, earning.refunded, earning.kept_refunded) == (
        2_000,
        2_000,
        3_000,
        3_000,
    )
    assert order_net(earning) == 4_500
    row = money_page_row(order.seller.user, order.pk)
    assert row_net(row) == format_money(4_500, currency)
    assert "the next refund uses it" in row and "the lost dispute counted it" in row
    lines = revenue_lines(currency)
    assert (lines["dispute_losses"], lines["dispute_recoveries"]) == (2_000, 2_000)
    assert lines["net_revenue"] == stripe_balances()[currency]
