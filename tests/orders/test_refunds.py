"""Refunds of orders through the API: the buyer asks (whole order or chosen lines), the seller
approves (maybe for less) or declines, or refunds on their own; others' orders and requests are 404;
the money moves at the sandbox and the ledger follows. USD and JPY."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core import mail
from django.test import Client
from django.utils import timezone

from catalog.models import Listing
from fees.services import fee_rule_set
from marketplace.gateway import checkout as gateway_checkout
from marketplace.money import format_money
from orders import services
from orders.models import Order, OrderStatus, RefundRequest, RefundRequestStatus
from payments.models import Refund, RefundStatus
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay
from tests.payments.helpers import assert_ledger_equals_stripe, new_events, process, stripe_balances
from tests.payouts.helpers import process_connect

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), "application/json")


def _paid_two_lines(sandbox: Any, currency: str, *, card: str = "4242424242424242") -> tuple[Order, Listing, Listing]:
    """A paid order of two lines: 2 x 3000 (mugs) and 1 x 4000 (a vase), fee 10%."""
    fee_rule_set(currency=currency, basis_points=1000, fixed_amount=0)
    seller = active_seller(sandbox, currency=currency)
    mug = listing_of(seller, price=3_000, stock=5, title="Mug")
    vase = listing_of(seller, price=4_000, stock=5, title="Vase")
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (mug, 2), (vase, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id), card=card)
    order = services.order_sync_from_stripe(order=order)
    assert order.status == OrderStatus.PAID and order.amount_total == 10_000
    mail.outbox.clear()
    return order, mug, vase


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_line_refund_asked_and_approved_moves_the_money_and_tells_the_buyer(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    order, mug, _ = _paid_two_lines(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    mug_line = order.lines.get(listing=mug)
    buyer, seller = _client(order.buyer), _client(order.seller.user)

    with django_capture_on_commit_callbacks(execute=True):
        asked = _post(
            buyer,
            f"/api/v1/orders/{order.pk}/refund-requests",
            {"reason": "damaged", "note": "Cracked", "lines": [{"line_id": mug_line.pk, "quantity": 1}]},
        )
    assert asked.status_code == 201, asked.content
    request = asked.json()
    assert (request["status"], request["amount"], request["whole_order"]) == ("open", 3_000, False)
    assert request["lines"] == [{"line_id": mug_line.pk, "title": "Mug", "quantity": 1}]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([order.buyer.email, order.seller.user.email])

    listed = seller.get("/api/v1/seller/refund-requests").json()["items"]
    assert [r["id"] for r in listed] == [request["id"]]
    with django_capture_on_commit_callbacks(execute=True):
        approved = _post(
            seller, f"/api/v1/seller/refund-requests/{request['id']}/approve", {"amount": None, "restock": True}
        )
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["status"] == "approved" and body["refund"]["status"] == "succeeded"
    assert body["refund"]["amount"] == 3_000

    # The seller gives back its share of 3000 less the fee's share: 9000 - 3000 + 300.
    assert stripe_balances(account) == {currency: 6_300}
    assert_ledger_equals_stripe()
    assert Listing.objects.get(pk=mug.pk).stock == 4, "the unit is back on stock (5 - 2 + 1)"
    seen = buyer.get(f"/api/v1/orders/{order.pk}").json()
    assert seen["amount_refunded"] == 3_000 and seen["status"] == "paid"
    assert [(r["amount"], r["status"]) for r in seen["refunds"]] == [(3_000, "succeeded")]
    assert seller.get(f"/api/v1/orders/{order.pk}").json()["refunds"] == seen["refunds"]
    subjects = [m.subject for m in mail.outbox if m.to == [order.buyer.email]]
    assert any("approved" in s for s in subjects) and any("Refund of" in s for s in subjects)

    # The same line can give back only what is left of it.
    again = _post(
        buyer,
        f"/api/v1/orders/{order.pk}/refund-requests",
        {"reason": "damaged", "note": "", "lines": [{"line_id": mug_line.pk, "quantity": 2}]},
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "invalid_quantity"


def test_an_open_request_on_the_sellers_order_page_leads_to_where_it_is_answered(sandbox: Any) -> None:
    """Walking the demo: the seller's order page showed the buyer's request "Waiting for the seller" and
    no way to answer it (that is on Refund requests): it links there, to the request."""
    order, _, _ = _paid_two_lines(sandbox, "jpy")
    asked = _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    assert asked.status_code == 201
    page = _client(order.seller.user).get(f"/sell/orders/{order.pk}/").content.decode()
    assert f'href="/sell/refunds/#request-{asked.json()["id"]}"' in page
    assert "/sell/refunds/" not in _client(order.buyer).get(f"/orders/{order.pk}/").content.decode()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_declined_request_says_why_and_moves_nothing(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    buyer, seller = _client(order.buyer), _client(order.seller.user)
    request = _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "changed_mind", "lines": None})
    assert request.status_code == 201 and request.json()["amount"] == 10_000
    assert (
        _post(seller, f"/api/v1/seller/refund-requests/{request.json()['id']}/decline", {"reason": " "}).status_code
        == 422
    )
    with django_capture_on_commit_callbacks(execute=True):
        declined = _post(
            seller, f"/api/v1/seller/refund-requests/{request.json()['id']}/decline", {"reason": "Used already"}
        )
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert declined.json()["decision_note"] == "Used already"
    assert not Refund.objects.exists()
    assert gateway_checkout.charge_retrieve(str(order.payment.stripe_charge_id)).amount_refunded == 0
    [email] = [m for m in mail.outbox if m.to == [order.buyer.email]]
    assert "declined" in email.subject and "Used already" in email.body
    again = _post(seller, f"/api/v1/seller/refund-requests/{request.json()['id']}/approve", {})
    assert again.status_code == 409


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_own_full_refund_closes_the_order(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    partial = _post(
        seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": 1_000, "reason": "Goodwill", "restock": False}
    )
    assert partial.status_code == 201 and partial.json()["status"] == "succeeded"
    order.refresh_from_db()
    assert (order.status, order.amount_refunded, order.is_partially_refunded) == (OrderStatus.PAID, 1_000, True)
    too_much = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": 9_001, "reason": "x"})
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "refund_exceeds_remaining"
    rest = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": None, "reason": "Out of stock"})
    assert rest.status_code == 201 and rest.json()["amount"] == 9_000
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 10_000) and order.closed_at
    assert stripe_balances(str(order.seller.stripe_account_id)) == {}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_sent_without_a_reason_gives_the_buyer_none_rather_than_words_nobody_wrote(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """The forms' reason box may stay empty; the pages then stored "Refunded by the shop" (or "by the
    platform") as the reason the buyer reads: "Why: Refunded by the shop" in the email, and under a
    refund Stripe refused, "Failed" above "Refunded by the shop". No reason typed is none said."""
    from tests.factories import make_platform_admin

    order, _, _ = _paid_two_lines(sandbox, currency)
    amount = "10.00" if currency == "usd" else "1000"
    with django_capture_on_commit_callbacks(execute=True):
        _client(order.seller.user).post(f"/sell/orders/{order.pk}/refund/", {"amount": amount, "form_token": "s1"})
    with django_capture_on_commit_callbacks(execute=True):
        _client(make_platform_admin()).post(
            "/console/refunds/order/", {"order_id": str(order.pk), "amount": amount, "form_token": "a1"}
        )
    assert list(Refund.objects.values_list("status", "reason")) == [(RefundStatus.SUCCEEDED, "")] * 2
    emails = [m.body for m in mail.outbox if m.to == [order.buyer.email]]
    assert len(emails) == 2 and not any("Why:" in body or "Refunded by the" in body for body in emails)
    page = _client(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert page.count('data-testid="refund-status"') == 2 and 'data-testid="refund-reason"' not in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_reason_the_seller_and_the_admin_give_is_read_by_the_buyer(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """The refund forms say "Reason (the buyer reads it)", but the buyer's email and order page never
    showed it: both now say why, in the words typed."""
    from tests.factories import make_platform_admin

    order, _, _ = _paid_two_lines(sandbox, currency)
    amount = "10.00" if currency == "usd" else "1000"
    with django_capture_on_commit_callbacks(execute=True):
        _client(order.seller.user).post(
            f"/sell/orders/{order.pk}/refund/",
            {"amount": amount, "reason": "One mug arrived chipped", "form_token": "s1"},
        )
    with django_capture_on_commit_callbacks(execute=True):
        _client(make_platform_admin()).post(
            "/console/refunds/order/",
            {"order_id": str(order.pk), "amount": amount, "reason": "Courier was late", "form_token": "a1"},
        )
    assert Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() == 2
    [by_seller, by_admin] = [m.body for m in mail.outbox if m.to == [order.buyer.email]]
    assert "One mug arrived chipped" in by_seller and "Courier was late" in by_admin
    # The admin's refund, which the platform paid, was "Rosen Ceramics refunded …" to the buyer.
    assert by_seller.startswith(f"{order.seller.shop_name} refunded ")
    assert by_admin.startswith("The marketplace refunded ") and order.seller.shop_name not in by_admin
    page = _client(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert "One mug arrived chipped" in page and "Courier was late" in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_misspelt_amount_or_lines_is_refused_not_read_as_everything(sandbox: Any, currency: str) -> None:
    order, mug, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    buyer = _client(order.buyer)
    line = order.lines.get(listing=mug)
    url = f"/api/v1/seller/orders/{order.pk}/refunds"

    for body in (
        {"amout": 1_000, "reason": "Goodwill"},
        {"line": [{"line_id": line.pk, "quantity": 1}], "reason": "x"},
    ):
        refused = _post(seller, url, body)
        assert refused.status_code == 422, refused.json()
        assert [f["loc"][-1] for f in refused.json()["error"]["fields"]] == [next(iter(body))]
    # Not a JSON integer: `true` was a refund of one cent (one yen), "1000" and 1000.0 refunds of 1000.
    for body in (
        {"amount": True, "reason": "x"},
        {"amount": "1000", "reason": "x"},
        {"amount": 1_000.0, "reason": "x"},
        {"lines": [{"line_id": line.pk, "quantity": True}], "reason": "x"},
    ):
        refused = _post(seller, url, body)
        assert refused.status_code == 422, refused.json()
        assert [f["loc"][-1] for f in refused.json()["error"]["fields"]] in (["amount"], ["quantity"])
    asked = {"reason": "damaged", "lines": [{"line_id": line.pk, "quantity": 1, "qty": 2}]}
    assert _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", asked).status_code == 422
    assert not Refund.objects.exists() and not RefundRequest.objects.exists()
    order.refresh_from_db()
    assert order.amount_refunded == 0

    assert _post(seller, url, {"amount": 1_000, "reason": "Goodwill"}).json()["amount"] == 1_000


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_with_every_unit_refunded_but_money_left_the_request_form_offers_no_empty_some_items(
    sandbox: Any, currency: str
) -> None:
    """Walking the demo: the seller refunded every unit for less than their price, so money is left but
    no unit; the buyer's form still offered "Some items:" with nothing under it (choosing it could
    only be refused). It offers what is left, as a whole."""
    order, _, _ = _paid_two_lines(sandbox, currency)
    lines = [{"line_id": line.pk, "quantity": line.quantity} for line in order.lines.all()]
    made = _post(
        _client(order.seller.user),
        f"/api/v1/seller/orders/{order.pk}/refunds",
        {"amount": 1_000, "lines": lines, "reason": "Chipped"},
    )
    assert made.status_code == 201, made.json()
    page = _client(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="refund-request-form"' in page  # 9000 is left to ask for
    assert 'id="scope-lines"' not in page and "Some items" not in page
    assert 'id="scope-whole"' in page
    # And what is left is not called "The whole order (9,000)" of an order of 10,000.
    left = format_money(9_000, currency)
    assert "The whole order" not in page and f"Everything left of the order ({left})" in page
    # "Some items" sent anyway (a page drawn before the refund, or by hand): refused with its sentence,
    # said on the page although the page has no "Some items" to say it beside.
    buyer = _client(order.buyer)
    asked = {"reason": "damaged", "note": "", "scope": "lines"}
    page = buyer.post(f"/orders/{order.pk}/refund-request/", asked, follow=True).content.decode()
    assert not RefundRequest.objects.exists()
    assert re.search(r'<p class="errorlist" id="scope-whole-error">\w[^<]+</p>', page), page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_items_asked_back_after_an_amount_refund_are_worth_what_is_left(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """The seller gave 8000 back as a goodwill amount (no items); the buyer then asks for the vase
    (4000): the request is for the 2000 left, and approving it as asked refunds that."""
    order, _, vase = _paid_two_lines(sandbox, currency)
    buyer, seller = _client(order.buyer), _client(order.seller.user)
    goodwill = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": 8_000, "reason": "Late"})
    assert goodwill.status_code == 201 and goodwill.json()["status"] == "succeeded"
    vase_line = order.lines.get(listing=vase)
    asked = _post(
        buyer,
        f"/api/v1/orders/{order.pk}/refund-requests",
        {"reason": "damaged", "note": "", "lines": [{"line_id": vase_line.pk, "quantity": 1}]},
    )
    assert asked.status_code == 201 and asked.json()["amount"] == 2_000
    with django_capture_on_commit_callbacks(execute=True):
        approved = _post(seller, f"/api/v1/seller/refund-requests/{asked.json()['id']}/approve", {"restock": True})
    assert approved.status_code == 200, approved.content
    assert approved.json()["refund"]["amount"] == 2_000 and approved.json()["refund"]["status"] == "succeeded"
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 10_000)
    assert Listing.objects.get(pk=vase.pk).stock == 5, "the vase is back on stock (5 - 1 + 1)"


def test_a_request_approved_as_asked_after_a_later_refund_refunds_what_is_left(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The buyer asked for the whole order (10000); the seller then refunded 3000 on its own: the
    request, approved as asked, refunds the 7000 left instead of being refused."""
    order, _, _ = _paid_two_lines(sandbox, "usd")
    buyer, seller = _client(order.buyer), _client(order.seller.user)
    asked = _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "changed_mind", "lines": None})
    assert asked.status_code == 201 and asked.json()["amount"] == 10_000
    own = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": 3_000, "reason": "Goodwill"})
    assert own.status_code == 201 and own.json()["status"] == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        approved = _post(seller, f"/api/v1/seller/refund-requests/{asked.json()['id']}/approve", {})
    assert approved.status_code == 200, approved.content
    assert approved.json()["refund"]["amount"] == 7_000
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 10_000)


def test_the_sellers_whole_refund_with_restock_puts_every_unit_back(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The box "put the refunded units back on stock" ticked with no units chosen: a refund of all that is left
    gives every unit back; a part of the order with no items is refused, since it names no units."""
    order, mug, vase = _paid_two_lines(sandbox, "usd")
    seller = _client(order.seller.user)
    url = f"/sell/orders/{order.pk}/refund/"
    page = seller.post(url, {"amount": "10.00", "restock": "on", "reason": "Broken"}, follow=True).content.decode()
    assert "Choose the units to put back on stock, or untick it" in page
    assert not Refund.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        page = seller.post(url, {"amount": "", "restock": "on", "reason": "Returned"}, follow=True).content.decode()
    assert "$100.00 refunded to the buyer." in page
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert (Listing.objects.get(pk=mug.pk).stock, Listing.objects.get(pk=vase.pk).stock) == (5, 5)


def test_others_orders_and_requests_are_404(sandbox: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "usd")
    stranger = _client(UserFactory())
    other_seller = active_seller(sandbox, shop="Other shop")
    assert _post(stranger, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"}).status_code == 404
    request = _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    other = _client(other_seller.user)
    assert other.get("/api/v1/seller/refund-requests").json()["items"] == []
    for action, body in (("approve", {}), ("decline", {"reason": "no"})):
        url = f"/api/v1/seller/refund-requests/{request.json()['id']}/{action}"
        assert _post(other, url, body).status_code == 404
    assert _post(other, f"/api/v1/seller/orders/{order.pk}/refunds", {"reason": "x"}).status_code == 404
    assert other.get(f"/api/v1/orders/{order.pk}").status_code == 404
    assert RefundRequest.objects.get().status == RefundRequestStatus.OPEN and not Refund.objects.exists()


def test_asking_after_the_window_or_twice_is_refused(sandbox: Any, settings: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "usd")
    buyer = _client(order.buyer)
    assert _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "other"}).status_code == 422
    assert _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"}).status_code == 201
    twice = _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "request_open"
    RefundRequest.objects.all().delete()
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=settings.REFUND_WINDOW_DAYS + 1))
    late = _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "refund_window_closed"


def test_a_refund_after_a_dispute_is_refused_the_way_stripe_refuses_it(sandbox: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "usd")
    requests.post(
        f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute", json={}, timeout=10
    ).raise_for_status()
    refused = _post(_client(order.seller.user), f"/api/v1/seller/orders/{order.pk}/refunds", {"reason": "Goodwill"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "charge_disputed"
    assert "dispute" in refused.json()["error"]["message"]
    order.refresh_from_db()
    assert order.amount_refunded == 0 and Refund.objects.get().status == RefundStatus.FAILED


def test_a_payment_the_bank_disputed_offers_no_refund_request(sandbox: Any) -> None:
    """The buyer's bank took the dispute (and the money, for now): Stripe refuses any refund of the
    charge, so the order page says so instead of offering a request the seller could never approve."""
    order, _, _ = _paid_two_lines(sandbox, "usd")
    buyer = _client(order.buyer)
    assert 'data-testid="refund-request-form"' in buyer.get(f"/orders/{order.pk}/").content.decode()
    seen = {e["id"] for e in new_events(set())}
    requests.post(
        f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute", json={}, timeout=10
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    page = buyer.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="refund-request-form"' not in page
    assert "Your bank has disputed this payment, so it decides whether you get the money back" in page
    asked = _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged", "lines": None})
    assert asked.status_code == 409 and asked.json()["error"]["code"] == "charge_disputed"
    assert not RefundRequest.objects.exists()
    # Once the bank decided, the page no longer says it decides (beside its "Your bank decided for the seller").
    from payments.models import Dispute

    seen = {e["id"] for e in new_events(set())}
    requests.post(
        f"{sandbox.url}/_sandbox/disputes/{Dispute.objects.get().stripe_id}/resolve",
        json={"outcome": "won"},
        timeout=10,
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    page = buyer.get(f"/orders/{order.pk}/").content.decode()
    assert "so it decides whether" not in page and 'data-testid="refund-request-form"' not in page
    assert "Your bank&#x27;s dispute of this payment is closed: the bank decided for the seller" in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payment_the_bank_disputed_offers_the_seller_and_the_admins_no_refund(sandbox: Any, currency: str) -> None:
    """Stripe refuses any refund of a disputed charge (`charge_disputed`): the seller's page says so
    instead of the refund form, shipping goes on, and a refund sent anyway (the API, an old page, the
    console's form) is refused before Stripe is asked, nothing written."""
    from tests.factories import make_platform_admin

    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    assert 'data-testid="seller-refund-form"' in seller.get(f"/sell/orders/{order.pk}/").content.decode()
    seen = {e["id"] for e in new_events(set())}
    requests.post(
        f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute", json={}, timeout=10
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    page = seller.get(f"/sell/orders/{order.pk}/").content.decode()
    assert 'data-testid="seller-refund-form"' not in page and 'data-testid="fulfil-form"' in page
    assert "The buyer&#x27;s bank has disputed this payment, so the bank decides whether the buyer gets" in page
    refused = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"reason": "Goodwill"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "charge_disputed"
    form = seller.post(f"/sell/orders/{order.pk}/refund/", {"reason": "Goodwill", "form_token": "a1"}, follow=True)
    assert "The buyer&#x27;s bank has disputed this payment" in form.content.decode()
    admin = _client(make_platform_admin())
    console = admin.post("/console/refunds/order/", {"order_id": order.pk, "form_token": "b2"}, follow=True)
    assert "The buyer&#x27;s bank has disputed this payment" in console.content.decode()
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert order.amount_refunded == 0 and order.status == OrderStatus.PAID


@pytest.mark.parametrize(
    ("outcome", "said"), [("lost", "gave the buyer the disputed amount back"), ("won", "decided for you")]
)
def test_once_the_bank_decided_the_order_pages_say_what_it_decided_to_each_side(
    sandbox: Any, outcome: str, said: str
) -> None:
    """The seller's order page of a disputed payment said "the bank decides whether the buyer gets the
    money back" after the bank had decided too (beside a "Dispute lost" badge): it says what was decided."""
    from payments.models import Dispute

    order, _, _ = _paid_two_lines(sandbox, "jpy")
    seen = {e["id"] for e in new_events(set())}
    requests.post(
        f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute", json={}, timeout=10
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    seen = {e["id"] for e in new_events(set())}
    requests.post(
        f"{sandbox.url}/_sandbox/disputes/{Dispute.objects.get().stripe_id}/resolve",
        json={"outcome": outcome},
        timeout=10,
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    page = _client(order.seller.user).get(f"/sell/orders/{order.pk}/").content.decode()
    assert "decides whether" not in page and 'data-testid="seller-refund-form"' not in page
    assert f"The buyer&#x27;s bank&#x27;s dispute of this payment is closed: the bank {said}" in page
    assert f">Dispute {outcome}</span>" in page  # the seller's side: won or lost by the shop
    # The buyer's pages said "Dispute lost" when their bank gave them the money back (Stripe's word is
    # the seller's side), and "Dispute won" when it did not.
    buyer = _client(order.buyer)
    badge = {"lost": "Your bank refunded you", "won": "Your bank decided for the seller"}[outcome]
    for url in (f"/orders/{order.pk}/", "/orders/"):
        mine = buyer.get(url).content.decode()
        assert f">{badge}</span>" in mine and "Dispute won" not in mine and "Dispute lost" not in mine, url


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_failing_later_reopens_the_order_and_tells_buyer_and_seller(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    from tests.payments.helpers import new_events, process

    order, _, _ = _paid_two_lines(sandbox, currency, card="4000000000005126")
    seller = _client(order.seller.user)
    with django_capture_on_commit_callbacks(execute=True):
        made = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"reason": "Out of stock"})
    assert made.status_code == 201
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    seen = {e["id"] for e in new_events(set())}
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 120}, timeout=10).raise_for_status()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    order.refresh_from_db()
    assert (order.status, order.amount_refunded, order.closed_at) == (OrderStatus.PAID, 0, None)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([order.buyer.email, order.seller.user.email])
    assert all("failed" in m.subject for m in mail.outbox)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_admin_refunds_from_the_platform_alone_and_sees_the_order_partially_refunded(
    sandbox: Any, currency: str, django_assert_max_num_queries: Any
) -> None:
    from tests.factories import make_platform_admin

    order, _, _ = _paid_two_lines(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    admin = _client(make_platform_admin())
    amount = "25.00" if currency == "usd" else "2500"
    response = admin.post(
        "/console/refunds/order/", {"order_id": str(order.pk), "amount": amount, "reason": "Courier lost it"}
    )  # "take it back from the seller" unticked: the platform pays
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.status, refund.amount, refund.reverse_transfer) == (RefundStatus.SUCCEEDED, 2_500, False)
    assert stripe_balances(account) == {currency: 9_000}, "nothing was taken from the seller"
    assert_ledger_equals_stripe()
    with django_assert_max_num_queries(9):
        page = admin.get("/console/refunds/").content.decode()
    assert "Partially refunded" in page and "paid by the platform" in page
    missing = admin.post("/console/refunds/order/", {"order_id": "999999"}, follow=True).content.decode()
    assert "No order has that number." in missing


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_admin_approves_an_overdue_request_the_sellers_balance_cannot_cover_from_the_platform_and_restocks(
    sandbox: Any, django_capture_on_commit_callbacks: Any, settings: Any, currency: str
) -> None:
    """The seller never answered and has been paid out (Stripe would refuse to take its share back):
    the admin approves with "take it back from the seller" unticked and "back on stock" ticked."""
    from tests.factories import make_platform_admin

    order, mug, _ = _paid_two_lines(sandbox, currency)
    account = str(order.seller.stripe_account_id)
    buyer = _client(order.buyer)
    mug_line = order.lines.get(listing=mug)
    asked = _post(
        buyer,
        f"/api/v1/orders/{order.pk}/refund-requests",
        {"reason": "damaged", "note": "", "lines": [{"line_id": mug_line.pk, "quantity": 2}]},
    ).json()
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 4 * 86400}, timeout=10).raise_for_status()
    assert stripe_balances(account) == {}, "the seller's 9000 went to its bank"
    RefundRequest.objects.filter(pk=asked["id"]).update(created_at=timezone.now() - timedelta(days=4))
    admin = _client(make_platform_admin())
    assert f"Order {order.pk} from" in admin.get("/console/refunds/").content.decode()
    platform_before = stripe_balances()[currency]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/console/refunds/{asked['id']}/approve/", {"amount": "", "restock": "on"})
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.status, refund.amount, refund.reverse_transfer) == (RefundStatus.SUCCEEDED, 6_000, False)
    assert RefundRequest.objects.get().status == RefundRequestStatus.APPROVED
    assert Listing.objects.get(pk=mug.pk).stock == 5, "both units are back (5 - 2 + 2)"
    assert stripe_balances(account) == {}, "nothing was taken from the seller"
    assert stripe_balances()[currency] == platform_before - 6_000, "the platform paid it all"
    assert "failed" not in process_connect(account, set())  # the seller's payout, as its webhooks record it
    assert_ledger_equals_stripe()


def test_a_console_refund_of_the_whole_order_answers_its_open_request(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.factories import make_platform_admin

    order, mug, _ = _paid_two_lines(sandbox, "usd")
    mug_line = order.lines.get(listing=mug)
    _post(
        _client(order.buyer),
        f"/api/v1/orders/{order.pk}/refund-requests",
        {"reason": "damaged", "note": "", "lines": [{"line_id": mug_line.pk, "quantity": 1}]},
    )
    mail.outbox.clear()
    admin = _client(make_platform_admin())
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/console/refunds/order/", {"order_id": str(order.pk), "reason": "Lost in the post"})
    request = RefundRequest.objects.get()
    assert (request.status, request.refund, request.decision_note) == (
        RefundRequestStatus.SETTLED,
        Refund.objects.get(),
        "Settled by the refund of $100.00 made after the request.",
    )
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    [told] = [m for m in mail.outbox if m.to == [order.buyer.email] and "request" in m.subject]
    assert told.subject.endswith(f"Your refund request for order {order.pk} was settled by a refund")
    assert "was refunded after you asked for $30.00 back, which covers your refund request" in told.body
    assert "Settled by the refund of $100.00 made after the request." in told.body


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_request_asked_before_the_bank_disputed_the_payment_can_only_be_declined(sandbox: Any, currency: str) -> None:
    """The buyer asked, then the bank disputed the payment: Stripe takes no refund of it any more, so the
    seller's requests page says so instead of offering an approval it would refuse, and keeps Decline."""
    order, _, _ = _paid_two_lines(sandbox, currency)
    buyer = _client(order.buyer)
    assert _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"}).status_code == 201
    seller = _client(order.seller.user)
    assert 'data-testid="approve-form"' in seller.get("/sell/refunds/").content.decode()
    seen = {e["id"] for e in new_events(set())}
    requests.post(
        f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute", json={}, timeout=10
    ).raise_for_status()
    assert "failed" not in process(new_events(seen))
    page = seller.get("/sell/refunds/").content.decode()
    assert 'data-testid="approve-form"' not in page and 'data-testid="decline-form"' in page
    assert 'data-testid="request-charged-back">The buyer&#x27;s bank has disputed this payment' in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_units_a_failed_refund_put_back_are_not_put_back_again_by_the_next(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A restocking refund of both mugs put them back on stock, then failed at the buyer's bank: the mugs
    stay on the shelf (they came back). Refunding them again with the box ticked must not count them a
    second time (stock 3 + 2 + 2 = 7 would sell two mugs the shop does not have): the units a failed
    refund put back are used first, and only units not back yet are added."""
    order, mug, _ = _paid_two_lines(sandbox, currency, card="4000000000005126")
    mug_line = order.lines.get(listing=mug)
    seller = _client(order.seller.user)
    url = f"/api/v1/seller/orders/{order.pk}/refunds"
    body = {"lines": [{"line_id": mug_line.pk, "quantity": 1}], "reason": "Returned", "restock": True}
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(seller, url, body).status_code == 201
        assert _post(seller, url, {**body, "lines": [{"line_id": mug_line.pk, "quantity": 1}]}).status_code == 201
    assert Listing.objects.get(pk=mug.pk).stock == 5  # 3 left after the sale, both mugs back
    seen = {e["id"] for e in new_events(set())}
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 120}, timeout=10).raise_for_status()
    with django_capture_on_commit_callbacks(execute=True):
        process(new_events(seen))
    assert sorted(r.status for r in Refund.objects.all()) == [RefundStatus.FAILED] * 2
    assert Listing.objects.get(pk=mug.pk).stock == 5, "a failed refund leaves the units it put back"

    with django_capture_on_commit_callbacks(execute=True):
        assert _post(seller, url, body).status_code == 201  # one mug again: it is one of the two back already
    assert Listing.objects.get(pk=mug.pk).stock == 5
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(seller, url, {**body, "restock": False}).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):  # the vase, never put back: it goes back
        vase_line = order.lines.exclude(pk=mug_line.pk).get()
        assert _post(seller, url, {**body, "lines": [{"line_id": vase_line.pk, "quantity": 1}]}).status_code == 201
    assert Listing.objects.get(pk=mug.pk).stock == 5
    assert Listing.objects.get(pk=vase_line.listing_id).stock == 5
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 10_000)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        (None, "The buyer's bank has disputed this payment: if you ship and the bank gives the buyer"),
        ("lost", "The buyer's bank gave the buyer this payment back: if you ship now, you ship it unpaid."),
        ("won", None),
    ],
)
def test_shipping_a_disputed_order_says_what_the_seller_risks(sandbox: Any, outcome: str | None, said: str) -> None:
    """Walking the demo: "Mark as shipped" was offered on an order whose dispute was lost (the bank had
    given the buyer the money back) with nothing said. The seller still decides, told what it means."""
    from payments.models import Dispute

    order, _, _ = _paid_two_lines(sandbox, "usd")
    seen = {e["id"] for e in new_events(set())}
    control = f"{sandbox.url}/_sandbox/charges/{order.payment.stripe_charge_id}/dispute"
    requests.post(control, json={}, timeout=10).raise_for_status()
    assert "failed" not in process(new_events(seen))
    if outcome:
        seen = {e["id"] for e in new_events(set())}
        resolve = f"{sandbox.url}/_sandbox/disputes/{Dispute.objects.get().stripe_id}/resolve"
        requests.post(resolve, json={"outcome": outcome}, timeout=10).raise_for_status()
        assert "failed" not in process(new_events(seen))
    page = _client(order.seller.user).get(f"/sell/orders/{order.pk}/").content.decode()
    assert 'data-testid="fulfil-form"' in page
    if said:
        assert said in page
    else:
        assert 'data-testid="ship-disputed"' not in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_amount_sent_for_an_order_refunded_in_full_is_told_it_is_refunded_already(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """A stale form (Back after the refund of everything, or a second tab) sent with an amount said
    "At most $0.00 can still be refunded ($5.00 was asked)" beside the amount, where the same form
    with the amount blank, and the console's subscription form with any amount, say the payment was
    refunded in full: every face now says the order was refunded already, beside the order number."""
    from tests.factories import make_platform_admin

    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    with django_capture_on_commit_callbacks(execute=True):
        everything = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": None, "reason": "x"})
    assert everything.status_code == 201 and everything.json()["amount"] == 10_000
    again = _post(seller, f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": 500, "reason": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_refund", again.json()
    amount = "5.00" if currency == "usd" else "500"
    page = seller.post(f"/sell/orders/{order.pk}/refund/", {"amount": amount, "form_token": "s2"}, follow=True)
    assert "Everything in this order has been refunded already." in page.content.decode()
    assert "can still be refunded" not in page.content.decode()
    console = _client(make_platform_admin()).post(
        "/console/refunds/order/", {"order_id": str(order.pk), "amount": amount, "form_token": "a1"}
    )
    text = console.content.decode()
    assert console.status_code == 422
    assert '<p class="errorlist" id="order-id-error">Everything in this order has been refunded already.</p>' in text
    assert "can still be refunded" not in text
    assert Refund.objects.filter(order=order).count() == 1
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_request_sent_for_an_order_refunded_in_full_is_told_it_is_refunded_already(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """The buyer's "Ask for a refund" sent from a page drawn before the seller refunded everything
    said "Only a paid, shipped or completed order can be refunded.", of an order the buyer paid, the
    badge beside it saying Refunded: it now says the order was refunded already."""
    order, _, _ = _paid_two_lines(sandbox, currency)
    with django_capture_on_commit_callbacks(execute=True):
        everything = _post(
            _client(order.seller.user), f"/api/v1/seller/orders/{order.pk}/refunds", {"amount": None, "reason": "x"}
        )
    assert everything.status_code == 201 and everything.json()["amount"] == 10_000
    buyer = _client(order.buyer)
    page = buyer.post(f"/orders/{order.pk}/refund-request/", {"reason": "damaged", "scope": "whole"}, follow=True)
    text = page.content.decode()
    assert "Everything in this order has been refunded already." in text
    assert "Only a paid, shipped or completed order can be refunded." not in text
    asked = _post(buyer, f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged", "note": ""})
    assert asked.status_code == 409 and asked.json()["error"]["code"] == "nothing_to_refund", asked.json()
    assert not RefundRequest.objects.filter(order=order).exists()
    assert Refund.objects.filter(order=order).count() == 1
    assert_ledger_equals_stripe()


def test_a_shop_with_101_refund_requests_reaches_the_oldest_on_page_2() -> None:
    """The list answered the first 100 and had no `page`: the 101st request, the oldest answered one,
    could not be read through the API at all."""
    from tests.catalog.factories import SellerFactory

    seller, buyer = SellerFactory(), UserFactory()
    orders = Order.objects.bulk_create(
        Order(buyer=buyer, seller=seller, currency="jpy", amount_total=1_000, application_fee_amount=100, status="paid")
        for _ in range(101)
    )
    requests_made = [
        RefundRequest.objects.create(order=order, reason="damaged", amount=1_000, status=RefundRequestStatus.DECLINED)
        for order in orders
    ]
    client = Client()
    client.force_login(seller.user)
    first = client.get("/api/v1/seller/refund-requests").json()
    assert (len(first["items"]), first["count"], first["pages"]) == (100, 101, 2)
    second = client.get("/api/v1/seller/refund-requests", {"page": 2}).json()
    assert [r["id"] for r in second["items"]] == [requests_made[0].pk]
    assert client.get("/api/v1/seller/refund-requests", {"page": 3}).json()["items"] == []


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_with_redis_down_the_nav_counts_the_open_requests_not_this_process_s_memory(
    sandbox: Any, redis_down: Any, currency: str
) -> None:
    """The Sell nav's count of requests waiting is cached, and dropped by the process that opens or
    answers one. With Redis down that drop reaches only its own process's memory: another process
    showed "1 waiting" for 5 minutes after the request was answered. It counts afresh then."""
    order, _, _ = _paid_two_lines(sandbox, currency)
    asked = _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    assert asked.status_code == 201
    seller = _client(order.seller.user)
    waiting = '<span class="badge warn">1<span class="visually-hidden"> waiting</span>'

    redis_down(True)
    assert waiting in seller.get("/sell/").content.decode()  # counted, and kept in this process
    # Declined through another process: its cache drop never reaches this one's memory.
    RefundRequest.objects.filter(pk=asked.json()["id"]).update(status=RefundRequestStatus.DECLINED)
    assert waiting not in seller.get("/sell/").content.decode()
