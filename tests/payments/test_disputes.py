"""Disputes on destination charges, against the sandbox over HTTP: the dispute test card, the
sandbox's events fed to the app's own webhook handlers in any order and any number of times, the
ledger equal to Stripe after every path (USD and JPY), the order saying "Disputed", the emails.

Worked example (fee rule 10%): a 10000 charge leaves the platform 680 (USD; Stripe's fee 320) or
¥640 (JPY). A dispute withdraws the 10000 and the 1500 dispute fee from the platform: 680 - 11500 =
-10820 in USD, 640 - 11500 = -10860 in JPY; the seller keeps its 9000 until recovery.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
import requests
from django.core import mail

from fees.services import fee_rule_set
from marketplace.ledger.chart import DISPUTE_LOSSES, DISPUTED_FUNDS
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import ledger_balance
from orders import services as order_services
from orders.models import Order
from payments.disputes import disputes_send_reminders
from payments.models import Dispute, Payment
from sellers.models import Seller
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances

pytestmark = pytest.mark.django_db

DISPUTE_CARD = "4000000000000259"
PLATFORM_NET = {"usd": 680, "jpy": 640}


def disputed_order(
    sandbox: Any, currency: str = "usd", amount: int = 10_000, card: str = DISPUTE_CARD
) -> tuple[Seller, Order, list[dict[str, Any]]]:
    """A seller, an order paid with the dispute test card, and the platform's events of it (oldest first)."""
    fee_rule_set(currency=currency, basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox, currency=currency)
    seen = {e["id"] for e in new_events(set())}
    buyer = UserFactory()
    listing = listing_of(seller, price=amount)
    order = order_services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id), card=card)
    return seller, order, new_events(seen)


def control(sandbox: Any, path: str, **data: Any) -> dict[str, Any]:
    r = requests.post(f"{sandbox.url}/_sandbox/{path}", json=data, timeout=10)
    r.raise_for_status()
    return dict(r.json())


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dispute_opens_on_the_order_and_the_platform_is_debited(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    seller, order, events = disputed_order(sandbox, currency)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)

    dispute = Dispute.objects.get()
    order.refresh_from_db()
    assert (dispute.status, dispute.amount, dispute.currency, dispute.reason) == (
        "needs_response",
        10_000,
        currency,
        "fraudulent",
    )
    assert dispute.order == order and dispute.seller == seller and dispute.payment == order.payment
    assert dispute.due_by is not None
    assert Payment.objects.get().dispute_status == "needs_response"
    assert stripe_balances() == {currency: PLATFORM_NET[currency] - 11_500}
    assert stripe_balances(str(seller.stripe_account_id)) == {currency: 9_000}
    assert_ledger_equals_stripe()
    # Withdrawn, not lost: the bank holds the amount until the dispute is decided; the fee is spent.
    assert (ledger_balance(account=DISPUTED_FUNDS), ledger_balance(account=DISPUTE_LOSSES)) == ({currency: 10_000}, {})

    # The order says so, to the buyer and to the seller.
    page = signed_in(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="order-dispute">Disputed<' in page
    assert 'data-testid="order-dispute">Disputed<' in signed_in(seller.user).get("/sell/orders/").content.decode()

    # The seller and the admins are told, with the reason in plain words and the deadline.
    to_seller = [m for m in mail.outbox if m.to == [seller.user.email]]
    opened = [m for m in to_seller if "disputes order" in m.subject]
    assert len(opened) == 1
    assert "did not make this payment" in opened[0].body and dispute.due_by.strftime("%Y") in opened[0].body


def _admin() -> Any:
    from django.conf import settings
    from django.contrib.auth.models import Group

    admin = UserFactory(is_staff=True)
    admin.groups.add(Group.objects.get_or_create(name=settings.PLATFORM_ADMINS_GROUP)[0])
    return admin


def test_admins_get_the_opened_email(sandbox: Any, django_capture_on_commit_callbacks: Any) -> None:
    admin = _admin()
    _, _, events = disputed_order(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        process(events)
    to_admin = [m for m in mail.outbox if m.to == [admin.email]]
    assert len(to_admin) == 1 and "evidence due" in to_admin[0].subject


@pytest.mark.parametrize(("currency", "outcome"), [("usd", "won"), ("usd", "lost"), ("jpy", "won"), ("jpy", "lost")])
def test_every_dispute_event_in_reverse_order_and_again_ends_in_stripes_state(
    sandbox: Any, currency: str, outcome: str
) -> None:
    """The closed event first, the created event last; then all again under new ids: one dispute,
    closed as Stripe says, each posting once, the ledger equal to Stripe."""
    _, order, events = disputed_order(sandbox, currency)
    dispute_id = next(e for e in events if e["type"] == "charge.dispute.created")["data"]["object"]["id"]
    seen = {e["id"] for e in events}
    control(sandbox, f"disputes/{dispute_id}/resolve", outcome=outcome)
    events += new_events(seen)
    dispute_events = [e for e in events if e["type"].startswith("charge.dispute.")]
    others = [e for e in events if not e["type"].startswith("charge.dispute.")]
    assert dispute_events[-1]["type"] == "charge.dispute.closed"

    assert "failed" not in process(reversed(dispute_events))
    assert "failed" not in process(others)
    assert "failed" not in process(dispute_events, copy=True)

    dispute = Dispute.objects.get()
    assert dispute.status == outcome and dispute.closed_at is not None and dispute.order == order
    kinds = sorted(LedgerTransaction.objects.filter(source_id=dispute.stripe_id).values_list("kind", flat=True))
    expected = ["dispute_funds_withdrawn", "dispute_funds_reinstated" if outcome == "won" else "dispute_lost"]
    assert kinds == sorted(expected)
    back = 10_000 if outcome == "won" else 0
    # Nothing is held any more: a won dispute's amount came back, a lost one's is a loss.
    assert ledger_balance(account=DISPUTED_FUNDS) == {currency: 0}
    assert ledger_balance(account=DISPUTE_LOSSES) == ({} if outcome == "won" else {currency: 10_000})
    assert stripe_balances() == {currency: PLATFORM_NET[currency] - 11_500 + back}
    assert_ledger_equals_stripe()
    assert Payment.objects.get().dispute_status == outcome


def test_reminders_go_out_5_and_2_days_before_the_deadline_once_each(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    seller, _, events = disputed_order(sandbox)
    process(events)
    dispute = Dispute.objects.get()
    assert dispute.due_by is not None
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert disputes_send_reminders(now=dispute.due_by - timedelta(days=6)) == 0
        assert disputes_send_reminders(now=dispute.due_by - timedelta(days=4, hours=23)) == 1
        assert disputes_send_reminders(now=dispute.due_by - timedelta(days=4)) == 0  # sent already
        assert disputes_send_reminders(now=dispute.due_by - timedelta(days=1)) == 1
        assert disputes_send_reminders(now=dispute.due_by - timedelta(hours=1)) == 0
    subjects = [m.subject for m in mail.outbox if m.to == [seller.user.email]]
    assert len(subjects) == 2 and "due in 5 days" in subjects[0] and "due in 2 days" in subjects[1]


def test_closed_emails_tell_buyer_and_seller_the_outcome(sandbox: Any, django_capture_on_commit_callbacks: Any) -> None:
    seller, order, events = disputed_order(sandbox)
    dispute_id = next(e for e in events if e["type"] == "charge.dispute.created")["data"]["object"]["id"]
    seen = {e["id"] for e in events}
    control(sandbox, f"disputes/{dispute_id}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        process([*events, *new_events(seen)])
    buyer_mail = [m for m in mail.outbox if m.to == [order.buyer.email] and "dispute" in m.subject]
    seller_mail = [m for m in mail.outbox if m.to == [seller.user.email] and "Dispute lost" in m.subject]
    assert len(buyer_mail) == 1 and "decided in your favour" in buyer_mail[0].body
    assert len(seller_mail) == 1 and "decided for the buyer" in seller_mail[0].body


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_inquiry_moves_no_money_and_closes_as_an_inquiry(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    from payments.disputes import dispute_evidence_save

    seller, order, events = disputed_order(sandbox, currency, card="4000000000001976")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.dispute_fee) == ("warning_needs_response", 0)
    assert not LedgerTransaction.objects.filter(source_id=dispute.stripe_id).exists()
    assert stripe_balances() == {currency: PLATFORM_NET[currency]}
    assert (
        'data-testid="order-dispute">Bank inquiry<'
        in signed_in(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    )
    opened = [m for m in mail.outbox if m.to == [seller.user.email] and "asks about order" in m.subject]
    assert len(opened) == 1 and "No money has moved" in opened[0].body

    dispute_evidence_save(dispute=dispute, evidence={"uncategorized_text": "Delivered, signed."}, submit=True)
    assert Dispute.objects.get().status == "warning_under_review"
    seen = {e["id"] for e in events} | {e["id"] for e in new_events(set())}
    control(sandbox, f"disputes/{dispute.stripe_id}/resolve", outcome="won")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute.refresh_from_db()
    assert dispute.status == "warning_closed" and dispute.recovery == ""
    closed = [m for m in mail.outbox if m.to == [order.buyer.email] and "dispute" in m.subject]
    assert len(closed) == 1 and "closed its inquiry" in closed[0].body
    assert stripe_balances() == {currency: PLATFORM_NET[currency]}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_closing_an_inquiry_from_the_console_does_not_say_the_buyer_keeps_the_money(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Walking the demo: the console's "Accept the dispute" on an inquiry said "The buyer keeps the money
    and the dispute is lost", and after it "Dispute accepted: it is lost, and the buyer keeps the money",
    while Stripe closed the inquiry (`warning_closed`) with no money moved and nothing lost."""
    seller, _, events = disputed_order(sandbox, currency, card="4000000000001976")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    admin = signed_in(_admin())
    page = html.unescape(admin.get(f"/console/disputes/{dispute.pk}/").content.decode())
    assert "keeps the money" not in page and "Close the inquiry" in page
    assert "No money has moved" in page
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(f"/console/disputes/{dispute.pk}/accept/", {"confirm": "yes"}, follow=True)
    said = html.unescape(done.content.decode())
    assert Dispute.objects.get().status == "warning_closed"
    assert "keeps the money" not in said and "is lost" not in said
    assert "Inquiry closed: no money moved." in said
    assert stripe_balances() == {currency: PLATFORM_NET[currency]}
    # The seller's page of it said "The evidence was sent to the bank; it decides now": none was sent,
    # and nothing is left to decide.
    theirs = html.unescape(signed_in(seller.user).get(f"/sell/disputes/{dispute.pk}/").content.decode())
    assert "evidence was sent" not in theirs and "it decides now" not in theirs
    assert "The bank closed its inquiry: nothing changes for you." in theirs


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_seller_refunds_an_inquiry_in_full_and_the_bank_closes_it(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """An inquiry is no chargeback: the payment can still be refunded, and a full refund resolves it
    (stripe.com/docs/disputes). The seller's share comes back, no dispute fee is charged."""
    from orders.services.refunds import order_refund

    seller, order, events = disputed_order(sandbox, currency, card="4000000000001976")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    seen = {e["id"] for e in events} | {e["id"] for e in new_events(set())}
    order.refresh_from_db()
    refund = order_refund(
        order=order, actor=seller.user, origin="seller", amount=None, lines=None, reason="Sorry", restock=False
    )
    assert refund.amount == 10_000
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    assert Dispute.objects.get().status == "warning_closed"
    assert stripe_balances(str(seller.stripe_account_id)) == {}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(("currency", "card"), [("usd", DISPUTE_CARD), ("jpy", "4000000000001976")])
def test_the_sellers_order_page_leads_to_the_dispute_where_they_add_their_side(
    sandbox: Any, currency: str, card: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Walking the demo: the seller's page of a disputed order said "Disputed" and that no refund can
    be made, with no way to the dispute's page, where the seller adds its side before the deadline
    (found only under Disputes in the menu). It now links there with the deadline, and once the
    dispute is decided, links there to read it."""
    seller, order, events = disputed_order(sandbox, currency, card=card)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    assert dispute.due_by is not None
    client = signed_in(seller.user)
    page = html.unescape(client.get(f"/sell/orders/{order.pk}/").content.decode())
    link = f'<a href="/sell/disputes/{dispute.pk}/">Add your side</a>'
    asks = "is asking about" if card != DISPUTE_CARD else "disputes"
    assert f"The buyer's bank {asks} this payment. {link} by {dispute.due_by:%-d %B %Y}" in page
    other = paid_order_of(sandbox, seller, currency)
    assert "Add your side" not in html.unescape(client.get(f"/sell/orders/{other}/").content.decode())
    # A dispute Stripe gives no deadline (due_by null) is answered without one: no "by :" left hanging.
    Dispute.objects.filter(pk=dispute.pk).update(due_by=None)
    page = html.unescape(client.get(f"/sell/orders/{order.pk}/").content.decode())
    assert f"The buyer's bank {asks} this payment. {link}: what happened, and your proof." in page
    Dispute.objects.filter(pk=dispute.pk).update(due_by=dispute.due_by)

    seen = {e["id"] for e in events} | {e["id"] for e in new_events(set())}
    control(sandbox, f"disputes/{dispute.stripe_id}/resolve", outcome="won")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    page = html.unescape(client.get(f"/sell/orders/{order.pk}/").content.decode())
    assert "Add your side" not in page
    assert f'<a href="/sell/disputes/{dispute.pk}/">Read the dispute</a>' in page
    assert_ledger_equals_stripe()


def paid_order_of(sandbox: Any, seller: Seller, currency: str) -> int:
    """Another order of the seller, paid with a card that draws no dispute (its events processed)."""
    seen = {e["id"] for e in new_events(set())}
    buyer = UserFactory()
    listing = listing_of(seller, price=2_000, title="Plain mug")
    order = order_services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    assert "failed" not in process(new_events(seen))
    return order.pk
