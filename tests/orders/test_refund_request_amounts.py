"""A refund request approved for less than asked: every page that shows the request says what was
asked and what was refunded. The request kept showing only the amount asked, so the buyer read
"$60.00 ... Approved" beside a $40.00 refund, and the seller's and the admins' pages the same."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from fees.services import fee_rule_set
from orders import services
from orders.models import RefundRequest, RefundRequestStatus
from payments.models import Refund, RefundOrigin, RefundStatus
from payments.services import refund_create, refund_submit
from payouts.selectors import earnings_per_order, order_net
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
from tests.orders.test_refunds import _paid_two_lines
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances

pytestmark = pytest.mark.django_db
SHOWN = {"usd": ("$60.00", "$40.00", "40.00"), "jpy": ("¥6,000", "¥4,000", "4000")}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(client: Client, url: str) -> str:
    """The page as a person reads it: tags gone, entities read, spaces collapsed."""
    page = client.get(url).content.decode()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _ask_two_mugs(order: Any, mug: Any) -> int:
    asked = _client(order.buyer).post(
        f"/api/v1/orders/{order.pk}/refund-requests",
        json.dumps(
            {"reason": "damaged", "note": "", "lines": [{"line_id": order.lines.get(listing=mug).pk, "quantity": 2}]}
        ),
        "application/json",
    )
    assert asked.status_code == 201 and asked.json()["amount"] == 6_000, asked.content
    return int(asked.json()["id"])


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_request_the_seller_approved_for_less_says_what_was_asked_and_refunded(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    asked, refunded, typed = SHOWN[currency]
    order, mug, _ = _paid_two_lines(sandbox, currency)
    request_id = _ask_two_mugs(order, mug)
    seller = _client(order.seller.user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = seller.post(f"/sell/refunds/{request_id}/approve/", {"amount": typed, "note": "One mug was fine"})
    assert answer.status_code == 302
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == (RefundStatus.SUCCEEDED, 4_000)
    assert RefundRequest.objects.get().status == RefundRequestStatus.APPROVED
    said = f"{asked} asked, {refunded} refunded"
    [email] = [m for m in mail.outbox if m.to == [order.buyer.email] and "approved" in m.subject]
    assert f"approved a refund of {refunded} of the {asked} you asked for on order {order.pk}." in email.body

    buyer_page = _text(_client(order.buyer), f"/orders/{order.pk}/")
    assert f"Approved · {said} — “One mug was fine”" in buyer_page
    assert f"{refunded} refunded" in _text(seller, f"/sell/orders/{order.pk}/")
    assert f"Approved · {said} — “One mug was fine”" in _text(seller, f"/sell/orders/{order.pk}/")
    requests_page = _text(seller, "/sell/refunds/")
    assert f"Order {order.pk}: {asked} asked" in requests_page
    assert f"Approved · {said} — “One mug was fine”" in requests_page
    console = _text(_client(make_platform_admin()), "/console/refunds/")
    assert f"{refunded} Refunded · The buyer's request · {asked} asked" in console
    assert stripe_balances(str(order.seller.stripe_account_id)) == {currency: 9_000 - 4_000 + 400}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_overdue_request_an_admin_approved_for_less_says_both_amounts(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    asked, refunded, typed = SHOWN[currency]
    order, mug, _ = _paid_two_lines(sandbox, currency)
    request_id = _ask_two_mugs(order, mug)
    RefundRequest.objects.filter(pk=request_id).update(created_at=timezone.now() - timedelta(days=30))
    admin = _client(make_platform_admin())
    assert f"Order {order.pk} from {order.seller.shop_name}: {asked} asked" in _text(admin, "/console/refunds/")
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin.post(f"/console/refunds/{request_id}/approve/", {"amount": typed, "from_seller": "on"})
    assert answer.status_code == 302
    assert Refund.objects.get().amount == 4_000
    said = f"{asked} asked, {refunded} refunded"
    assert f"{refunded} Refunded · A platform admin · {asked} asked" in _text(admin, "/console/refunds/")
    assert f"Approved · {said}" in _text(_client(order.buyer), f"/orders/{order.pk}/")
    assert f"Approved · {said}" in _text(_client(order.seller.user), "/sell/refunds/")
    assert_ledger_equals_stripe()


def test_a_request_refunded_as_asked_says_the_amount_once(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order, mug, _ = _paid_two_lines(sandbox, "usd")
    request_id = _ask_two_mugs(order, mug)
    with django_capture_on_commit_callbacks(execute=True):
        _client(order.seller.user).post(f"/sell/refunds/{request_id}/approve/", {"amount": ""})
    buyer_page = _text(_client(order.buyer), f"/orders/{order.pk}/")
    assert "Approved · $60.00 refunded" in buyer_page and "asked," not in buyer_page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_the_platform_paid_tells_the_seller_it_took_nothing_from_them(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The seller's order page listed the admin's refund like any other, beside a "You receive" that
    had not moved: it now says the marketplace paid it. The buyer's page does not say who paid."""
    _asked, refunded, typed = SHOWN[currency]
    order, _mug, _ = _paid_two_lines(sandbox, currency)
    admin = _client(make_platform_admin())
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/console/refunds/order/", {"order_id": str(order.pk), "amount": typed, "reason": "Late"})
    assert Refund.objects.get().reverse_transfer is False
    seller_page = _text(_client(order.seller.user), f"/sell/orders/{order.pk}/")
    assert f"{refunded} Refunded · paid by the marketplace, nothing taken from you" in seller_page
    assert "paid by the marketplace" not in _text(_client(order.buyer), f"/orders/{order.pk}/")
    assert stripe_balances(str(order.seller.stripe_account_id)) == {currency: 9_000}
    assert_ledger_equals_stripe()


def test_three_odd_yen_refunds_of_a_destination_charge_leave_every_page_and_the_ledger_equal_to_stripe(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A one-shop payment (destination charge) of ¥9,999 refunded ¥3,333 three times by the seller:
    Stripe reverses the transfer and refunds the fee in proportion each time (the last one all that
    is left), the money page's row equals the seller's Stripe balance after each, and the buyer's
    page lists the three refunds and the total refunded."""
    fee_rule_set(currency="jpy", basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox, currency="jpy")
    buyer = UserFactory()
    item = listing_of(seller, price=9_999, title="Odd bowl")
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (item, 1)), seller_id=seller.pk, currency="jpy", **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    order = services.order_sync_from_stripe(order=order)
    account = str(seller.stripe_account_id)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            row = refund_create(payment=order.payment, amount=3_333, origin=RefundOrigin.SELLER, order_id=order.pk)
        assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
        [earning] = earnings_per_order(seller_id=seller.pk)
        assert {"jpy": order_net(earning)} == (stripe_balances(account) or {"jpy": 0})
        assert_ledger_equals_stripe()
    assert stripe_balances(account) == {}
    page = _text(_client(buyer), f"/orders/{order.pk}/")
    assert page.count("¥3,333 Refunded") == 3 and "Refunded ¥9,999" in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_blank_amount_of_a_request_says_what_is_left_after_a_refund_made_since(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The buyer asks for the whole order (100.00), then the seller refunds 10.00 from the order's page:
    approving the request with the amount left blank refunds the 90.00 left, and the box says so on the
    seller's page and on the admins' (it said "blank: $100.00" and "blank: all asked"). Both pages
    also say the 10.00 was refunded after the buyer asked: a refund of an amount names no item, so
    approving could give the same item back twice (the request read "Waiting for the seller" as if
    nothing had happened)."""
    shown = {"usd": ("$100.00", "10.00", "$90.00", "$10.00"), "jpy": ("¥10,000", "1000", "¥9,000", "¥1,000")}
    asked, typed, left, since = shown[currency]
    said = f"{since} of this order was refunded after the buyer asked. If that covers this request, decline it"
    order, _mug, _vase = _paid_two_lines(sandbox, currency)
    buyer, seller = _client(order.buyer), _client(order.seller.user)
    buyer.post(f"/orders/{order.pk}/refund-request/", {"reason": "damaged", "scope": "whole"})
    request = RefundRequest.objects.get()
    assert request.amount == 10_000
    assert "refunded after the buyer asked" not in _text(seller, "/sell/refunds/")
    with django_capture_on_commit_callbacks(execute=True):
        seller.post(f"/sell/orders/{order.pk}/refund/", {"amount": typed, "reason": "Goodwill"})
    assert Refund.objects.get().amount == 1_000

    requests_page = _text(seller, "/sell/refunds/")
    assert f"Order {order.pk}: {asked} asked" in requests_page
    assert f"Amount to refund (blank: {left})" in requests_page and said in requests_page
    RefundRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - timedelta(days=30))
    admin = _client(make_platform_admin())
    console = _text(admin, "/console/refunds/")
    assert f"for order {order.pk} (blank: {left})" in console and said in console

    with django_capture_on_commit_callbacks(execute=True):
        seller.post(f"/sell/refunds/{request.pk}/approve/", {"amount": ""})
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [1_000, 9_000]
    assert_ledger_equals_stripe()
