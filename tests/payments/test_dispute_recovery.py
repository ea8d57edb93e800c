"""A lost dispute recovered from the seller, against the sandbox over HTTP (USD and JPY).

Worked example (fee rule 10%): 10000 paid, fee 1000, lost in full. The platform was debited 10000 +
1500; reversing the transfer with the fee refunded takes the seller's 9000 back, so the seller ends
at 0 (as if the sale never happened) and the platform at 680 - 11500 + 9000 = -1820 (USD; ¥640 ...
= ¥-1,860 in JPY): it keeps the loss of its fee, Stripe's fee and the dispute fee.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.core import mail

from marketplace.gateway.events import list_events
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.reports import RevenueMonth, month_start, next_month, revenue_by_month
from marketplace.money import format_money
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from payments.models import Dispute, SellerDebt
from payments.recovery import dispute_recover, seller_debts_collect, seller_debts_collect_all
from payouts.models import ApplicationFeeRefund, TransferReversal
from payouts.selectors import NO_ORDER_DEBT, NO_ORDER_PAYOUT, earnings_per_order, order_net
from subscriptions import services as subscription_services
from subscriptions.models import SubscriptionInvoice
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import active_seller, listing_of, pay, signed_in
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    new_events,
    process,
    stripe_balances,
)
from tests.payments.test_disputes import PLATFORM_NET, control, disputed_order
from tests.payments.test_ledger_invariant import _checkout
from tests.payouts.helpers import process_connect, statement_csv, statement_page

pytestmark = pytest.mark.django_db


def _lose(sandbox: Any, currency: str, capture: Any) -> tuple[Any, Dispute, list[dict[str, Any]]]:
    seller, _, events = disputed_order(sandbox, currency)
    seen = {e["id"] for e in events}
    dispute_id = next(e for e in events if e["type"] == "charge.dispute.created")["data"]["object"]["id"]
    control(sandbox, f"disputes/{dispute_id}/resolve", outcome="lost")
    events += new_events(seen)
    with capture(execute=True):
        assert "failed" not in process(events)
    return seller, Dispute.objects.get(), events


def _earnings(seller: Any, order_id: int | None) -> tuple[int, int, int, int, int]:
    """The seller's row of an order on its money page: sale, fee kept, refunded, disputed, net."""
    [row] = [o for o in earnings_per_order(seller_id=seller.pk) if o.pk == order_id]
    return row.amount_total, row.fee_kept, row.refunded, row.disputed, order_net(row)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_lost_dispute_takes_the_sellers_share_back_with_the_fee_refunded(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    seller, dispute, events = _lose(sandbox, currency, django_capture_on_commit_callbacks)
    account = str(seller.stripe_account_id)
    assert (dispute.status, dispute.recovery, dispute.recovered_amount) == ("lost", "recovered", 9_000)
    reversal = TransferReversal.objects.get()
    assert (reversal.stripe_id, reversal.amount) == (dispute.recovery_reversal_id, 10_000)
    assert ApplicationFeeRefund.objects.get().amount == 1_000
    assert stripe_balances(account) == {} and stripe_balances() == {currency: PLATFORM_NET[currency] - 11_500 + 9_000}
    assert_ledger_equals_stripe()

    # Again, and the reversal's own events (transfer.reversed, application_fee.refunded): nothing twice.
    dispute_recover(dispute_id=dispute.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events({e["id"] for e in events}))
        assert "failed" not in process(events, copy=True)
    assert TransferReversal.objects.count() == 1 and ApplicationFeeRefund.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="transfer_reversal").count() == 1
    assert_ledger_equals_stripe()
    # The seller's row: the fee came back and the whole sale went, so it kept nothing, as its balance says.
    assert _earnings(seller, dispute.order_id) == (10_000, 0, 0, 10_000, 0)


def test_recovery_of_the_share_and_the_dispute_fee(
    sandbox: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The seller also owes Stripe's dispute fee: taken from its other sale's funds at once."""
    settings.DISPUTE_RECOVERY = "seller_share_and_fee"
    seller, _, events = disputed_order(sandbox, "usd")
    account = str(seller.stripe_account_id)
    pay(sandbox, str(_checkout(seller, 5_000).checkout_session_id))  # another sale: 4500 for the seller
    seen = {e["id"] for e in events}
    dispute_id = next(e for e in events if e["type"] == "charge.dispute.created")["data"]["object"]["id"]
    control(sandbox, f"disputes/{dispute_id}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events + new_events(seen))
    dispute = Dispute.objects.get()
    debt = SellerDebt.objects.get()
    assert (debt.amount, debt.collected, debt.settled_at is not None) == (1_500, 1_500, True)
    assert dispute.recovery == "recovered"
    assert stripe_balances(account) == {"usd": 4_500 - 1_500}
    assert_ledger_equals_stripe()
    # Its rows add up to its balance: the disputed sale cost it the dispute fee, the other one is intact.
    assert _earnings(seller, dispute.order_id) == (10_000, 0, 0, 11_500, -1_500)
    [other] = [o.pk for o in earnings_per_order(seller_id=seller.pk) if o.pk != dispute.order_id]
    assert _earnings(seller, other) == (5_000, 500, 0, 0, 4_500)


def test_no_recovery_when_the_platform_bears_losses(
    sandbox: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DISPUTE_RECOVERY = "none"
    seller, dispute, _ = _lose(sandbox, "jpy", django_capture_on_commit_callbacks)
    assert dispute.recovery == "none" and not TransferReversal.objects.exists()
    assert stripe_balances(str(seller.stripe_account_id)) == {"jpy": 9_000}
    assert _earnings(seller, dispute.order_id) == (10_000, 1_000, 0, 0, 9_000)  # the loss is the platform's
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_seller_paid_out_owes_the_share_and_pays_it_once_from_the_next_sale(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    seller, _, events = disputed_order(sandbox, currency)
    account = str(seller.stripe_account_id)
    seen = {e["id"] for e in events}
    dispute_id = next(e for e in events if e["type"] == "charge.dispute.created")["data"]["object"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    # Three days later the seller's 9000 was paid out to its bank: its Stripe balance is empty.
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 3 * 86400}, timeout=10).raise_for_status()
    assert stripe_balances(account) == {}
    assert "failed" not in process_connect(account, set())  # the payout, posted (payouts app)
    assert_ledger_equals_stripe()
    control(sandbox, f"disputes/{dispute_id}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute = Dispute.objects.get()
    debt = SellerDebt.objects.get()
    assert (dispute.recovery, dispute.recovered_amount, debt.amount, debt.collected) == ("debt", 0, 9_000, 0)
    assert not TransferReversal.objects.exists() and stripe_balances(account) == {}
    assert seller_debts_collect_all() == 0  # nothing to take yet
    # Paid out 9000 and owing 9000: the sale left it nothing (its row counts the debt, not a reversal).
    assert _earnings(seller, dispute.order_id) == (10_000, 1_000, 0, 9_000, 0)
    owed = "$90.00" if currency == "usd" else "¥9,000"
    seller_client = signed_in(seller.user)
    assert f"You owe the platform {owed}" in seller_client.get("/sell/disputes/").content.decode()
    assert f"You owe the platform {owed}" in seller_client.get("/sell/money/").content.decode()
    # The order's page says the same: owed, not taken (nothing was taken from the seller's balance yet).
    order_page = seller_client.get(f"/sell/orders/{dispute.order_id}/").content.decode()
    assert f"Lost disputes (you owe {owed} of it" in order_page and "Taken by lost disputes" not in order_page
    admin = signed_in(make_platform_admin())
    admin_page = admin.get(f"/console/sellers/{seller.pk}/").content.decode()
    assert f"Owes the platform from lost disputes:</strong> {owed}" in admin_page
    # The dispute's page: nothing was taken back, not "Partly recovered", and what is owed.
    dispute_page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert "Partly recovered" not in dispute_page
    assert (
        f"<strong>Recovery:</strong> Nothing taken back at once; {owed} still owed by the seller, collected "
        "from its next funds.</p>" in dispute_page
    )

    # A later sale of 12000 lands: 10800 for the seller; the debt is collected from it, once.
    later = _checkout(seller, 12_000)
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(later.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    # A balance.available on the seller's account (Connect endpoint) collects it; the beat job finds nothing more.
    [available] = [e for e in list_events(created_gte=0, account=account) if e["type"] == "balance.available"][:1]
    replayed = {**available, "id": "evt_balance_available_again"}
    webhook_event_store(payload=replayed, source="connect")
    assert webhook_event_process(event_id=replayed["id"]).status == "processed"
    assert seller_debts_collect(seller=seller) == 0 and seller_debts_collect_all() == 0
    debt.refresh_from_db()
    dispute.refresh_from_db()
    assert (debt.collected, debt.settled_at is not None, dispute.recovery) == (9_000, True, "recovered")
    assert stripe_balances(account) == {currency: 10_800 - 9_000}
    reversal = TransferReversal.objects.get()
    later.refresh_from_db()
    assert reversal.amount == 9_000 and reversal.transfer.payment == later.payment  # from the new sale
    assert_ledger_equals_stripe()
    # The collection is the debt's, already counted on the disputed sale: the new sale's row is whole.
    assert _earnings(seller, dispute.order_id) == (10_000, 1_000, 0, 9_000, 0)
    assert _earnings(seller, later.pk) == (12_000, 1_200, 0, 0, 10_800)
    order_page = seller_client.get(f"/sell/orders/{dispute.order_id}/").content.decode()
    assert "Taken by lost disputes" in order_page and "you owe" not in order_page  # collected now
    dispute_page = admin.get(f"/console/disputes/{dispute.pk}/").content.decode()
    assert "<strong>Recovery:</strong> Recovered from the seller" in dispute_page and "still owed" not in dispute_page
    # The statement: each sale's lines name their order; the collection is the debt's, taken from the new
    # sale's transfer for the disputed sale, so it names the disputed order, and the payout none.
    span = {"start": str(datetime.now(UTC).date()), "end": str(datetime.now(UTC).date() + timedelta(days=10))}
    lines = {(r["kind"], r["stripe_object"]): r["order"] for r in statement_csv(seller_client, span)}
    assert lines[("transfer_reversal", reversal.stripe_id)] == f"Order {dispute.order_id}"
    assert lines[("transfer", reversal.transfer.stripe_id)] == f"Order {later.pk}"
    assert sorted(order for (kind, _), order in lines.items() if kind != "transfer_reversal") == sorted(
        [f"Order {dispute.order_id}"] * 2 + [f"Order {later.pk}"] * 2 + [NO_ORDER_PAYOUT]
    )
    taken = f'<a href="/sell/orders/{dispute.order_id}/">Order {dispute.order_id}</a>'
    page = seller_client.get("/sell/money/statement/", span).content.decode()
    assert ("transfer_reversal", taken) in statement_page(seller_client, span)
    assert "Taken back for a lost dispute" in page and "Taken back for a refund" not in page
    # A collection recorded before reversals named their debt's dispute says it names no order.
    TransferReversal.objects.filter(pk=reversal.pk).update(for_debt_of="")
    assert ("transfer_reversal", NO_ORDER_DEBT) in statement_page(seller_client, span)
    # The revenue report: the bank took 10000, the seller gave 9000 back (its share; the platform's
    # fee of 1000 is not refunded), so the platform lost 1000 of it, and its result is its balance.
    month = _revenue_now(currency)
    assert (month.dispute_losses, month.dispute_recoveries, month.fees_refunded) == (10_000, 9_000, 0)
    assert month.net_dispute_losses == 1_000 and month.net_revenue == stripe_balances()[currency]


def test_the_nightly_reconciliation_finds_no_difference_after_a_submitted_and_lost_dispute(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Every balance transaction of the dispute path (withdrawal, the countered fee charged on
    submission, the recovery's reversal and fee refund) has its ledger posting, on both sides."""
    from payments.disputes import dispute_evidence_save
    from payouts.reconciliation import reconcile

    _, _, events = disputed_order(sandbox, "usd")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
        dispute_evidence_save(
            dispute=Dispute.objects.get(), evidence={"uncategorized_text": "losing_evidence"}, submit=True
        )
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.recovery) == ("lost", "recovered")
    assert stripe_balances() == {"usd": 680 - 11_500 - 1_500 + 9_000}  # and the countered fee
    assert_ledger_equals_stripe()
    assert reconcile().run.differences == 0


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_dispute_on_a_subscription_invoice_is_recovered_from_its_seller(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """A subscription's invoice has no order: its dispute's seller is the one its destination charge
    paid, who is told and gives its share back when the dispute is lost (the soak found such
    disputes left on the platform). Plan 10000 a month, fee 10%: the seller's 9000 comes back."""
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    listing = listing_of(seller, price=10_000, title="Coffee box")
    subscription_services.plan_set(seller=seller, listing_id=listing.pk, interval="month")
    start = subscription_services.subscription_checkout_start(
        buyer=UserFactory(),
        listing_id=listing.pk,
        attempt=uuid.uuid4().hex,
        success_url="http://t/ok",
        cancel_url="http://t/no",
    )
    seen: set[str] = set()
    pay(sandbox, start.url.rstrip("/").rsplit("/", 1)[-1])
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    payment = SubscriptionInvoice.objects.get().payment
    assert payment is not None and stripe_balances(account) == {currency: 9_000}

    make_platform_admin()
    control(sandbox, f"charges/{payment.stripe_charge_id}/dispute", reason="fraudulent")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute = Dispute.objects.get()
    assert (dispute.seller_id, dispute.order_id, dispute.payment_id) == (seller.pk, None, payment.pk)
    # The emails name the subscription payment, as the pages do ("a payment for $100.00" named nothing).
    invoice = SubscriptionInvoice.objects.select_related("subscription__buyer").get()
    paid = f"the {invoice.created_at:%-d %b %Y} payment of Coffee box by {invoice.subscription.buyer.email}"
    [opened] = [m for m in mail.outbox if m.to == [seller.user.email] and "disputes" in m.subject]
    assert opened.subject.endswith("disputes a payment of Coffee box: " + format_money(10_000, currency))
    assert f"({paid})" in opened.body
    assert any(f"opened on {paid} ({seller.shop_name})" in m.body for m in mail.outbox if "New dispute" in m.subject)

    control(sandbox, f"disputes/{dispute.stripe_id}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute.refresh_from_db()
    assert (dispute.status, dispute.recovery, dispute.recovered_amount) == ("lost", "recovered", 9_000)
    [lost] = [m for m in mail.outbox if m.to == [seller.user.email] and "Dispute lost" in m.subject]
    assert lost.subject.endswith(f"Dispute lost: {format_money(10_000, currency)}, Coffee box")
    assert f"goes back to them for {paid}." in lost.body
    assert stripe_balances(account) == {}
    assert_ledger_equals_stripe()
    # Every line of the statement names the subscription payment, with a link to its page.
    client = signed_in(seller.user)
    named = "Subscription payment: Coffee box"
    kinds = ["application_fee", "application_fee_refund", "transfer", "transfer_reversal"]
    assert sorted((r["kind"], r["order"]) for r in statement_csv(client)) == [(kind, named) for kind in kinds]
    link = f'<a href="/sell/subscriptions/payments/{invoice.pk}/">{named}</a>'
    assert sorted(statement_page(client)) == [(kind, link) for kind in kinds]


def _revenue_now(currency: str) -> RevenueMonth:
    """This month and the next two added up: the sandbox's clock, which dates the postings, may be
    days ahead of ours."""
    now = datetime.now(tz=UTC)
    start = month_start(now.year, now.month)
    end = next_month(next_month(next_month(start)))
    months = [m for m in revenue_by_month(start=start, end=end) if m.currency == currency]
    figures = [f.name for f in fields(RevenueMonth) if f.name not in ("month", "currency")]
    return RevenueMonth(start, currency, **{f: sum(getattr(m, f) for m in months) for f in figures})


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_revenue_shows_a_lost_dispute_recovered_from_the_seller_as_the_accountant_expects(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """10000 sold with a 1000 fee, lost in full, the seller's share taken back with the fee refunded:
    the month shows the 10000 the bank took, the 10000 recovered from the seller and the 1000 fee
    refunded, so the platform's result is its Stripe balance (680 - 11500 + 9000 = -1820 in USD;
    ¥640 - ¥11,500 + ¥9,000 = ¥-1,860), not 10000 worse. The console page, CSV and API say the same."""
    _lose(sandbox, currency, django_capture_on_commit_callbacks)
    month = _revenue_now(currency)
    dispute_fee = 1_500
    assert (month.dispute_losses, month.dispute_recoveries, month.dispute_fees) == (10_000, 10_000, dispute_fee)
    assert (month.application_fees, month.fees_refunded, month.net_dispute_losses) == (1_000, 1_000, 0)
    platform = PLATFORM_NET[currency] - 10_000 - dispute_fee + 9_000
    assert month.net_revenue == platform == stripe_balances()[currency]

    admin = signed_in(make_platform_admin(email="root@example.com"))
    api = admin.get("/api/v1/console/revenue", {"currency": currency}).json()
    assert (api["dispute_losses"], api["dispute_recoveries"], api["net_revenue"]) == (10_000, 10_000, platform)
    rows = list(csv.DictReader(io.StringIO(admin.get("/console/revenue.csv").content.decode())))
    assert [(r["dispute_recoveries"], r["net_revenue"]) for r in rows] == [("10000", str(platform))]
    page = admin.get("/console/revenue/").content.decode()
    recovered = "$100.00" if currency == "usd" else "¥10,000"
    assert "Recovered from sellers" in page and f'data-testid="dispute-recoveries">{recovered}<' in page
