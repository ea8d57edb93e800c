"""A buyer's open refund request answered by a refund made another way: the seller's own refund
(its order page, the API), an admin's from the console, or one made in the Stripe Dashboard, whose
events may come twice. Once the refunds made since the buyer asked cover what was asked (or leave
nothing of the order), the request is settled by them when they are recorded: no longer waiting for
the seller nor on the admins' overdue list, the buyer told once. A refund smaller than the request
leaves it open with the warning; a refund that fails later opens it again. Through the sandbox over
HTTP, USD and JPY, the ledger equal to Stripe after each."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
import requests
from django.apps import apps
from django.test import Client
from django.utils import timezone

from marketplace.errors import Conflict
from marketplace.money import format_money
from marketplace.outbox.models import OutboxMessage
from orders.models import Order, RefundRequest, RefundRequestStatus
from orders.selectors import refund_requests_overdue
from orders.services.refunds import order_refund, refund_request_approve
from payments.models import Refund, RefundOrigin, RefundStatus
from tests.factories import make_platform_admin
from tests.orders.test_multi_seller_refunds import _paid_group
from tests.orders.test_races import run_together
from tests.orders.test_refunds import _paid_two_lines
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db

ANSWERED = "orders.email.refund_request_answered"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _major(amount: int, currency: str) -> str:
    """How a person types `amount` (minor units) on a form."""
    return str(amount) if currency == "jpy" else f"{amount // 100}.{amount % 100:02d}"


def _asked(order: Order, *, mugs: int | None = 1) -> RefundRequest:
    """The buyer asks for `mugs` mugs back (3000 each), or the whole order (None), through the API."""
    body: dict[str, Any] = {"reason": "damaged", "note": "Cracked"}
    if mugs is not None:
        mug_line = order.lines.get(title="Mug")
        body["lines"] = [{"line_id": mug_line.pk, "quantity": mugs}]
    answer = _client(order.buyer).post(
        f"/api/v1/orders/{order.pk}/refund-requests", json.dumps(body), "application/json"
    )
    assert answer.status_code == 201, answer.content
    return RefundRequest.objects.get(pk=answer.json()["id"])


def _sellers_refund(order: Order, amount: int) -> Refund:
    """The seller's own refund of `amount`, outside the request, as the order page and the API make it."""
    seller = order.seller.user
    return order_refund(
        order=order, actor=seller, origin=RefundOrigin.SELLER, amount=amount, lines=None, reason="", restock=False
    )


def _dashboard_refund(sandbox: Any, order: Order, amount: int) -> list[dict[str, Any]]:
    """A refund made in the Stripe Dashboard, taking the seller's share back: its events, not processed yet."""
    assert order.payment is not None
    seen = {e["id"] for e in new_events(set())}
    client_for(sandbox, "sk_test_marketplace").v1.refunds.create(
        params={
            "charge": order.payment.stripe_charge_id,
            "amount": amount,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    return new_events(seen)


def _clock_advance(sandbox: Any) -> list[dict[str, Any]]:
    """Two minutes later at the sandbox: its async refund cards' refunds succeed or fail. Their events."""
    seen = {e["id"] for e in new_events(set())}
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 120}, timeout=10).raise_for_status()
    return new_events(seen)


def _emails_answered(request: RefundRequest) -> int:
    return OutboxMessage.objects.filter(name=ANSWERED, args=[request.pk]).count()


def _overdue_ids() -> list[int]:
    later = timezone.now() + timedelta(days=30)
    return list(refund_requests_overdue(now=later).values_list("pk", flat=True))


def _assert_settled(request: RefundRequest, *, refund: Refund | None, by: Any) -> None:
    request.refresh_from_db()
    assert (request.status, request.refund, request.decided_by) == (RefundRequestStatus.SETTLED, refund, by)
    assert request.decided_at is not None and request.decision_note.startswith("Settled by the refund")
    assert _emails_answered(request) == 1, "the buyer is told once"
    assert request.pk not in _overdue_ids(), "no admin is asked to step in on it"
    seller_page = _client(request.order.seller.user).get("/sell/refunds/").content.decode()
    assert 'data-testid="approve-form"' not in seller_page and "Settled by the refund" in seller_page
    buyer_page = _client(request.order.buyer).get(f"/orders/{request.order_id}/").content.decode()
    assert "Waiting for the seller" not in buyer_page and ">Refunded</span>" in buyer_page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_own_refund_on_the_order_page_settles_the_request_it_covers(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order)
    seller = order.seller.user
    page = _client(seller).post(
        f"/sell/orders/{order.pk}/refund/",
        {"amount": _major(3_000, currency), "reason": "Sorry about the mug", "form_token": "t1"},
        follow=True,
    )
    assert page.status_code == 200
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 3_000)
    _assert_settled(request, refund=refund, by=seller)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_admins_console_refund_settles_the_request_it_covers(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order, mugs=2)
    admin = make_platform_admin()
    _client(admin).post(
        "/console/refunds/order/",
        {"order_id": str(order.pk), "amount": _major(7_000, currency), "reason": "Late", "from_seller": "on"},
    )
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 7_000)
    _assert_settled(request, refund=refund, by=admin)
    assert Order.objects.get(pk=order.pk).amount_refundable == 3_000
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_api_refund_of_the_whole_order_settles_a_request_for_less(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order)
    answer = _client(order.seller.user).post(
        f"/api/v1/seller/orders/{order.pk}/refunds", json.dumps({"reason": "Out of stock"}), "application/json"
    )
    assert answer.status_code == 201, answer.content
    refund = Refund.objects.get()
    assert refund.amount == 10_000
    _assert_settled(request, refund=refund, by=order.seller.user)
    assert answer.status_code == 201
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_two_refunds_that_together_cover_the_request_settle_it_without_naming_one(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order, mugs=2)
    seller = order.seller.user
    for amount in (2_000, 4_000):
        _sellers_refund(order, amount)
        request.refresh_from_db()
        if amount == 2_000:
            assert request.status == RefundRequestStatus.OPEN, "2000 of the 6000 asked: still the seller's to answer"
    _assert_settled(request, refund=None, by=seller)
    assert request.decision_note == f"Settled by the refunds of {format_money(6_000, currency)} made after the request."
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_partial_refund_smaller_than_the_request_leaves_it_open_with_the_warning(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order, mugs=None)  # the whole order: 10000
    _sellers_refund(order, 3_000)
    request.refresh_from_db()
    assert (request.status, request.refund, request.decided_at) == (RefundRequestStatus.OPEN, None, None)
    assert _emails_answered(request) == 0 and request.pk in _overdue_ids()
    page = _client(order.seller.user).get("/sell/refunds/").content.decode()
    assert 'data-testid="refunded-since"' in page and 'data-testid="approve-form"' in page
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dashboard_refund_settles_the_request_once_however_often_its_events_come(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order)
    events = _dashboard_refund(sandbox, order, 3_000)
    assert set(process(reversed(events))) == {"processed"}
    assert set(process(events, copy=True)) == {"processed"}  # redelivered
    assert set(process(events, copy=True)) == {"processed"}
    refund = Refund.objects.get()
    assert refund.origin == RefundOrigin.DASHBOARD
    _assert_settled(request, refund=refund, by=None)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_that_fails_later_opens_the_request_it_settled_again(sandbox: Any, currency: str) -> None:
    """Card 5126: Stripe says succeeded, then the buyer's bank fails it. The buyer never got the
    money, so the request waits for the seller again (and reaches the admins when overdue)."""
    order, _, _ = _paid_two_lines(sandbox, currency, card="4000000000005126")
    request = _asked(order)
    refund = _sellers_refund(order, 3_000)
    assert refund.status == RefundStatus.SUCCEEDED
    _assert_settled(request, refund=refund, by=order.seller.user)

    events = _clock_advance(sandbox)
    assert set(process(events)) == {"processed"}
    assert set(process(events, copy=True)) == {"processed"}  # redelivered
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    request.refresh_from_db()
    assert (request.status, request.refund, request.decided_by, request.decided_at, request.decision_note) == (
        RefundRequestStatus.OPEN,
        None,
        None,
        None,
        "",
    )
    assert request.pk in _overdue_ids()
    page = _client(order.seller.user).get("/sell/refunds/").content.decode()
    assert 'data-testid="approve-form"' in page
    assert_ledger_equals_stripe()

    # Refunded again (it goes through this time): settled again, and the buyer is told of this one.
    sandbox_card_ok = _sellers_refund(order, 3_000)
    request.refresh_from_db()
    assert (request.status, request.refund) == (RefundRequestStatus.SETTLED, sandbox_card_ok)
    assert _emails_answered(request) == 2
    assert_ledger_equals_stripe()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_dashboard_refunds_events_twice_and_the_sellers_approval_at_once_answer_the_request_once(
    sandbox: Any, currency: str
) -> None:
    """Each event and its redelivery, and the seller clicking Approve, each in its own thread and
    database connection: the request is answered once, by whichever came first (the approval, or the
    refund's record settling it, the approval then told it was answered), the buyer told once."""
    order, _, _ = _paid_two_lines(sandbox, currency)
    request = _asked(order)
    events = _dashboard_refund(sandbox, order, 3_000)

    def approve() -> Any:
        return refund_request_approve(
            request=RefundRequest.objects.get(pk=request.pk), user=order.seller.user, amount=None, restock=False
        )

    calls: list[Any] = [approve]
    calls += [lambda e=e: process([e]) for e in events]
    calls += [lambda e=e: process([e], copy=True) for e in events]
    results = run_together(calls)

    assert all(r == ["processed"] for r in results[1:]), results[1:]
    request.refresh_from_db()
    if isinstance(results[0], Conflict):
        assert results[0].code == "request_answered"
        assert request.status == RefundRequestStatus.SETTLED and Refund.objects.count() == 1
    else:
        assert request.status == RefundRequestStatus.APPROVED and request.refund == results[0]
    assert _emails_answered(request) == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_pending_refund_settles_the_request_and_its_success_tells_the_buyer_nothing_more(
    sandbox: Any, currency: str
) -> None:
    """Card 7726: Stripe takes the refund as pending, then it succeeds. The order counts it refunded
    from the start, and so does the request; the later success changes nothing the buyer is told."""
    order, _, _ = _paid_two_lines(sandbox, currency, card="4000000000007726")
    request = _asked(order)
    refund = _sellers_refund(order, 3_000)
    assert refund.status == RefundStatus.PENDING
    _assert_settled(request, refund=refund, by=order.seller.user)

    assert set(process(_clock_advance(sandbox))) == {"processed"}
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    _assert_settled(request, refund=refund, by=order.seller.user)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_of_one_shops_order_in_a_cart_paid_once_settles_only_that_orders_request(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A payment for several shops: its refunds are the platform's own reversal then refund, recorded
    the same way. The Tea House's whole order refunded settles the buyer's request of it; the
    Kiln's request of the same payment stays the Kiln's to answer."""
    _, orders = _paid_group(sandbox, django_capture_on_commit_callbacks, currency)
    kiln_order, tea_order = orders[0], orders[1]
    kiln_request = _asked(kiln_order)
    tea_request = _asked(tea_order, mugs=None)
    with django_capture_on_commit_callbacks(execute=True):
        refund = _sellers_refund(tea_order, 2_500)
    assert refund.status == RefundStatus.SUCCEEDED
    _assert_settled(tea_request, refund=refund, by=tea_order.seller.user)
    kiln_request.refresh_from_db()
    assert kiln_request.status == RefundRequestStatus.OPEN
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_migration_settles_requests_left_open_before_it_that_refunds_since_cover(
    sandbox: Any, currency: str
) -> None:
    """Before this change, a request covered by the seller's own refund stayed open. Migration orders
    0011 settles those as a refund recorded now would (without an email: the buyer was told of the
    refund), leaves one that a smaller refund does not cover open, and can run twice."""
    covered, _, _ = _paid_two_lines(sandbox, currency)
    covered_request = _asked(covered)
    refund = _sellers_refund(covered, 3_000)
    short, _, _ = _paid_two_lines(sandbox, currency)
    short_request = _asked(short, mugs=2)
    _sellers_refund(short, 3_000)
    RefundRequest.objects.filter(pk=covered_request.pk).update(  # as it was left before
        status=RefundRequestStatus.OPEN, refund=None, decided_by=None, decided_at=None, decision_note=""
    )
    emails = OutboxMessage.objects.count()

    for _ in range(2):
        import_module("orders.migrations.0011_refundrequest_settled").settle_covered(apps, None)

    covered_request.refresh_from_db()
    assert (covered_request.status, covered_request.refund, covered_request.decided_by) == (
        RefundRequestStatus.SETTLED,
        refund,
        covered.seller.user,
    )
    assert covered_request.decision_note == (
        f"Settled by the refund of {format_money(3_000, currency)} made after the request."
    )
    short_request.refresh_from_db()
    assert short_request.status == RefundRequestStatus.OPEN
    assert OutboxMessage.objects.count() == emails
    assert _overdue_ids() == [short_request.pk]
