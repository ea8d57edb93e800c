"""Payouts mirrored from Connect events and posted to the ledger, so that the ledger still equals
Stripe's balance for the platform and every seller after payouts go out, fail and go out again
(USD and JPY). A failed payout emails the seller once and stays a banner until a later one is paid."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from marketplace.gateway.events import list_events
from marketplace.ledger.chart import bank_payouts
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import ledger_balance
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from payouts.models import Payout, PayoutStatus
from payouts.selectors import payout_failure_unresolved
from tests.orders.conftest import active_seller
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payouts.helpers import DAY, advance, control, paid_order, process_connect

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("currency", "price", "net"), [("usd", 10_000, 8_970), ("jpy", 10_000, 9_000)])
def test_payouts_paid_failed_and_paid_again_keep_the_ledger_equal_to_stripe(
    sandbox: Any, currency: str, price: int, net: int
) -> None:
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    seen: set[str] = set()
    paid_order(sandbox, seller, price, card="4000000000000077")  # available at once
    advance(sandbox, DAY)  # the midnight pays the seller out
    assert set(process_connect(account, seen)) == {"processed"}
    [payout] = Payout.objects.all()
    assert (payout.account, payout.amount, payout.currency, payout.status) == (account, net, currency, "in_transit")
    assert ledger_balance(account=bank_payouts(account)) == {currency: net}
    assert_ledger_equals_stripe()

    control(sandbox, f"payouts/{payout.stripe_id}/fail", failure_code="account_closed")
    assert set(process_connect(account, seen)) == {"processed"}  # the payout and its bank account errored
    payout.refresh_from_db()
    assert (payout.status, payout.failure_code) == (PayoutStatus.FAILED, "account_closed")
    assert ledger_balance(account=bank_payouts(account)) == {currency: 0}
    assert sorted(LedgerTransaction.objects.filter(source_id=payout.stripe_id).values_list("kind", flat=True)) == [
        "payout",
        "payout_failure",
    ]
    assert_ledger_equals_stripe()
    assert payout_failure_unresolved(account=account) == payout

    [email] = OutboxMessage.objects.filter(name="payouts.email.payout_failed")
    outbox_deliver(message_id=email.pk)
    [sent] = mail.outbox
    assert sent.to == [seller.user.email] and "failed" in sent.subject
    assert "bank account has been closed" in sent.body and "Express dashboard" in sent.body

    control(sandbox, f"accounts/{account}/bank_account")  # the seller fixes the bank details
    advance(sandbox, 2 * DAY)  # paid out again, and arrived
    process_connect(account, seen)
    again = Payout.objects.exclude(pk=payout.pk).get()
    assert (again.amount, again.status, again.reconciliation_status) == (net, "paid", "completed")
    assert payout_failure_unresolved(account=account) is None
    assert ledger_balance(account=bank_payouts(account)) == {currency: net}
    assert_ledger_equals_stripe()


def test_events_out_of_order_and_twice_post_once(sandbox: Any) -> None:
    """`payout.failed` before `payout.created`, then everything again under new ids: one payout
    row, the payout posted once and reversed once, one email."""
    seller = active_seller(sandbox)
    account = str(seller.stripe_account_id)
    paid_order(sandbox, seller, 5_000, card="4000000000000077")
    advance(sandbox, DAY)
    [created] = [e for e in list_events(created_gte=0, account=account) if e["type"] == "payout.created"]
    payout_id = created["data"]["object"]["id"]
    control(sandbox, f"payouts/{payout_id}/fail")
    events = list(list_events(created_gte=0, account=account))  # newest first: failed before created
    for suffix in ("", "_again"):
        for event in events:
            webhook_event_store(payload={**event, "id": event["id"] + suffix}, source="connect")
            webhook_event_process(event_id=event["id"] + suffix)
    assert Payout.objects.get().status == PayoutStatus.FAILED
    assert LedgerTransaction.objects.filter(source_id=payout_id).count() == 2
    assert OutboxMessage.objects.filter(name="payouts.email.payout_failed").count() == 1
    assert_ledger_equals_stripe()
