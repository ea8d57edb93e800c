"""One decision, one refund: what the attacker of the demo did, on real Postgres with the sandbox over
HTTP through the real SDK, in USD and JPY.

- Four approvals of one request at the same moment (threads, each with its own connection): one
  refund, at the sandbox too, and the other three told the request was answered (409).
- The seller's refund form and the admins' posted twice with the same hidden token (a double
  click, the browser re-posting): one refund, both answers saying it was made.
- The API's `POST /seller/orders/{id}/refunds` sent twice with one `Idempotency-Key`, one after the
  other and at the same moment: one refund, the same one in both answers.
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client

from marketplace.errors import DomainError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_deliver
from orders.models import Order, RefundRequest, RefundRequestStatus
from orders.services.refunds import refund_request_approve, refund_request_create
from payments.models import Refund, RefundStatus
from payments.services import refund_idempotency_ids, refund_submit
from tests.factories import make_platform_admin
from tests.orders.test_races import run_together
from tests.orders.test_refunds import _client, _paid_two_lines
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payouts.helpers import process_connect

CURRENCIES = ["usd", "jpy"]
MAJOR = {"usd": "1.00", "jpy": "100"}  # 100 minor units, as the forms take it
SHOWN = {"usd": "$1.00", "jpy": "¥100"}


def stripe_refunds(order: Order) -> list[dict[str, Any]]:
    """The refunds the sandbox holds for the order's charge, as Stripe lists them."""
    assert order.payment is not None
    answer = requests.get(
        f"{settings.STRIPE_API_BASE}/v1/refunds",
        params={"charge": order.payment.stripe_charge_id, "limit": 100},
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
        timeout=30,
    )
    answer.raise_for_status()
    return list(answer.json()["data"])


def _token(page: str) -> str:
    found = re.findall(r'name="form_token" value="([0-9a-f]{32})"', page)
    assert len(set(found)) == 1, "the refund forms of a page carry one hidden token"
    return found[0]


# --- A request approved four times at once ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_four_approvals_of_one_request_at_once_make_one_refund(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    asked = refund_request_create(order=order, buyer=order.buyer, reason="damaged", note="race", lines=None)
    seller_user = order.seller.user
    # Each approver read the request while it was still open, as four requests of the page or API do.
    seen = [RefundRequest.objects.select_related("order").get(pk=asked.pk) for _ in range(4)]

    def approve(request: RefundRequest) -> Any:
        return lambda: refund_request_approve(request=request, user=seller_user, amount=400, restock=False, note="ok")

    results = run_together([approve(r) for r in seen])

    made = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(made) == 1 and made[0].status == RefundStatus.SUCCEEDED, results
    assert [(e.code, e.message) for e in refused] == [("request_answered", "This request was answered already.")] * 3
    refund = Refund.objects.get()
    assert (refund.amount, refund.token) == (400, f"request:{asked.pk}:1")
    request = RefundRequest.objects.get(pk=asked.pk)
    assert (request.status, request.refund_id, request.decision_note) == (RefundRequestStatus.APPROVED, refund.pk, "ok")
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(400, "succeeded")]
    assert gateway_checkout.charge_retrieve(str(order.payment.stripe_charge_id)).amount_refunded == 400  # type: ignore[union-attr]
    assert Order.objects.get(pk=order.pk).amount_refunded == 400
    assert_ledger_equals_stripe()


@pytest.mark.django_db(transaction=True)
def test_four_approvals_at_once_through_the_api_answer_one_200_and_three_409(sandbox: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "jpy")
    buyer = _client(order.buyer)
    asked = buyer.post(
        f"/api/v1/orders/{order.pk}/refund-requests",
        json.dumps({"reason": "damaged", "note": "race"}),
        "application/json",
    )
    assert asked.status_code == 201, asked.content
    request_id = asked.json()["id"]
    sellers = [_client(order.seller.user) for _ in range(4)]

    def approve(client: Client) -> Any:
        return lambda: client.post(
            f"/api/v1/seller/refund-requests/{request_id}/approve",
            json.dumps({"amount": 400, "note": "ok"}),
            "application/json",
        )

    answers = run_together([approve(c) for c in sellers])

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.content for a in answers]
    assert [a.json()["error"]["code"] for a in answers if a.status_code == 409] == ["request_answered"] * 3
    approved = next(a.json() for a in answers if a.status_code == 200)
    assert approved["status"] == "approved" and approved["refund"]["amount"] == 400
    assert Refund.objects.count() == 1
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(400, "succeeded")]


@pytest.mark.django_db
def test_an_approval_stripe_could_not_take_is_sent_once_by_the_outbox_and_cannot_be_approved_again(
    sandbox: Any, settings: Any
) -> None:
    order, _, _ = _paid_two_lines(sandbox, "usd")
    asked = refund_request_create(order=order, buyer=order.buyer, reason="damaged", note="", lines=None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES = f"http://127.0.0.1:{closed_port}", 0

    refund = refund_request_approve(request=asked, user=order.seller.user, amount=400, restock=False)
    assert (refund.status, refund.token) == (RefundStatus.CREATED, f"request:{asked.pk}:1")
    with pytest.raises(DomainError) as again:
        refund_request_approve(
            request=RefundRequest.objects.get(pk=asked.pk), user=order.seller.user, amount=400, restock=False
        )
    assert again.value.code == "request_answered"

    settings.STRIPE_API_BASE = sandbox.url
    message = OutboxMessage.objects.get(name="payments.refund_submit")
    assert outbox_deliver(message_id=message.pk) == "delivered"
    assert outbox_deliver(message_id=message.pk) == "skipped"
    sent = Refund.objects.get()
    assert sent.status == RefundStatus.SUCCEEDED and sent.stripe_refund_id
    assert refund_idempotency_ids(sent) == ("refund", sent.pk, f"request:{asked.pk}:1")

    # A sender that crashed after Stripe answered, before recording it, sends again: the same key,
    # so Stripe answers with the refund it made, and there is still one.
    Refund.objects.filter(pk=sent.pk).update(status=RefundStatus.CREATED, stripe_refund_id=None)
    assert refund_submit(refund_id=sent.pk).stripe_refund_id == sent.stripe_refund_id
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(400, "succeeded")]


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_an_approval_stripe_refuses_opens_the_request_again_and_the_next_approval_is_a_new_attempt(
    sandbox: Any, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    asked = refund_request_create(order=order, buyer=order.buyer, reason="damaged", note="", lines=None)
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": 4 * 86400}, timeout=10).raise_for_status()

    refused = refund_request_approve(request=asked, user=order.seller.user, amount=None, restock=False, note="sorry")
    assert refused.status == RefundStatus.FAILED and refused.failure_message
    request = RefundRequest.objects.get(pk=asked.pk)
    assert (request.status, request.refund_id, request.decided_by_id, request.decision_note) == (
        RefundRequestStatus.OPEN,
        None,
        None,
        "",
    ), "open again, as if never answered: the seller's page says why"

    paid = refund_request_approve(
        request=request, user=make_platform_admin(), amount=None, restock=False, admin=True, reverse_transfer=False
    )
    assert (paid.status, paid.amount, paid.token) == (RefundStatus.SUCCEEDED, 10_000, f"request:{asked.pk}:2")
    assert refused.token == f"request:{asked.pk}:1"
    request.refresh_from_db()
    assert (request.status, request.refund_id) == (RefundRequestStatus.APPROVED, paid.pk)
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(10_000, "succeeded")]
    process_connect(str(order.seller.stripe_account_id), set())  # the seller's payout, as its webhooks record it
    assert_ledger_equals_stripe()


# --- The refund forms, posted twice -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_sellers_refund_form_posted_twice_makes_one_refund(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    token = _token(seller.get(f"/sell/orders/{order.pk}/").content.decode())
    form = {"amount": MAJOR[currency], "reason": "dbl", "form_token": token}

    first = seller.post(f"/sell/orders/{order.pk}/refund/", form, follow=True).content.decode()
    second = seller.post(f"/sell/orders/{order.pk}/refund/", form, follow=True).content.decode()

    assert f"{SHOWN[currency]} refunded to the buyer." in first
    assert f"{SHOWN[currency]} refunded to the buyer." in second, "the repeat shows what the first made"
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.token) == (100, RefundStatus.SUCCEEDED, f"form:{token}")
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(100, "succeeded")]
    assert Order.objects.get(pk=order.pk).amount_refunded == 100
    assert _token(second) != token, "the page after it carries a new token for the next refund"

    seller.post(f"/sell/orders/{order.pk}/refund/", {**form, "form_token": _token(second)})
    assert Refund.objects.count() == 2, "a new form makes a new refund"
    assert_ledger_equals_stripe()


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_admins_refund_form_posted_twice_makes_one_refund(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    admin = _client(make_platform_admin())
    token = _token(admin.get("/console/refunds/").content.decode())
    form = {"order_id": str(order.pk), "amount": MAJOR[currency], "reason": "dbl", "from_seller": "on"}

    first = admin.post("/console/refunds/order/", {**form, "form_token": token}, follow=True).content.decode()
    second = admin.post("/console/refunds/order/", {**form, "form_token": token}, follow=True).content.decode()

    said = f"Order {order.pk}: {SHOWN[currency]} refunded to the buyer."
    assert said in first and said in second
    assert Refund.objects.get().token == f"form:{token}"
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(100, "succeeded")]
    assert_ledger_equals_stripe()


@pytest.mark.django_db
def test_a_form_token_that_is_not_ours_is_refused_and_moves_nothing(sandbox: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "usd")
    seller = _client(order.seller.user)
    page = seller.post(
        f"/sell/orders/{order.pk}/refund/", {"amount": "1.00", "form_token": "x" * 65}, follow=True
    ).content.decode()
    assert "The form is out of date: reload the page and try again." in page
    assert not Refund.objects.exists() and stripe_refunds(order) == []


# --- The API's Idempotency-Key ------------------------------------------------------------------------


def _refund_api(client: Client, order: Order, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        f"/api/v1/seller/orders/{order.pk}/refunds", json.dumps(body), "application/json", headers=headers
    )


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_the_api_refund_with_one_idempotency_key_twice_makes_one_refund(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    body = {"amount": 100, "reason": "dbl"}

    first = _refund_api(seller, order, body, "6f1c0e4a-retry-me")
    second = _refund_api(seller, order, body, "6f1c0e4a-retry-me")

    assert (first.status_code, second.status_code) == (201, 201), (first.content, second.content)
    assert first.json()["id"] == second.json()["id"] and second.json()["status"] == "succeeded"
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(100, "succeeded")]

    other = _refund_api(seller, order, body, "another-key")
    unkeyed = _refund_api(seller, order, body, None)
    assert other.status_code == unkeyed.status_code == 201
    assert len({first.json()["id"], other.json()["id"], unkeyed.json()["id"]}) == 3, "other keys, other refunds"
    assert len(stripe_refunds(order)) == 3
    bad = _refund_api(seller, order, body, "k" * 81)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_idempotency_key"
    assert_ledger_equals_stripe()


@pytest.mark.django_db(transaction=True)
def test_the_api_refund_with_one_idempotency_key_at_once_makes_one_refund(sandbox: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "usd")
    clients = [_client(order.seller.user) for _ in range(4)]
    answers = run_together(
        [lambda c=c: _refund_api(c, order, {"amount": 100, "reason": "dbl"}, "same-click") for c in clients]
    )  # type: ignore[misc]
    assert [a.status_code for a in answers] == [201] * 4, [a.content for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert Refund.objects.count() == 1
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(100, "succeeded")]


def test_the_idempotency_key_is_documented_in_the_openapi_description() -> None:
    from config.api import api

    operation = api.get_openapi_schema()["paths"]["/api/v1/seller/orders/{order_id}/refunds"]["post"]
    header = next(p for p in operation["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert "returns the refund the first request made" in header["description"]
    assert "Idempotency-Key" in operation["description"]


@pytest.mark.django_db
@pytest.mark.parametrize("currency", CURRENCIES)
def test_one_idempotency_key_sent_with_another_refund_is_a_409_not_the_first_refund(
    sandbox: Any, currency: str
) -> None:
    """A client reusing a key by mistake (a constant, a counter reset) for a second, different refund
    got 201 and the first refund back: it took the second for made, and the buyer was never refunded.
    Stripe answers such a reuse with an error; so does the API now, naming the refund the key made."""
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    first = _refund_api(seller, order, {"amount": 100, "reason": "dbl"}, "key-1")
    assert first.status_code == 201

    for body in ({"amount": 200, "reason": "dbl"}, {"amount": 100, "reason": "other"}):
        reused = _refund_api(seller, order, body, "key-1")
        assert reused.status_code == 409, reused.content
        error = reused.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert f"refund {first.json()['id']}" in error["message"] and SHOWN[currency] in error["message"]

    again = _refund_api(seller, order, {"amount": 100, "reason": "dbl"}, "key-1")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert [(r["amount"], r["status"]) for r in stripe_refunds(order)] == [(100, "succeeded")]
    assert_ledger_equals_stripe()


@pytest.mark.django_db
def test_a_retried_restocking_refund_that_found_no_units_left_is_the_same_refund(sandbox: Any) -> None:
    """ "Restock" with every unit refunded already takes no units: the retry is still the same body."""
    order, _, _ = _paid_two_lines(sandbox, "usd")
    seller = _client(order.seller.user)
    lines = [{"line_id": line.pk, "quantity": line.quantity} for line in order.lines.all()]
    assert _refund_api(seller, order, {"amount": 100, "lines": lines, "reason": "units"}, None).status_code == 201
    body = {"reason": "the rest", "restock": True}
    first = _refund_api(seller, order, body, "rest-1")
    again = _refund_api(seller, order, body, "rest-1")
    assert (first.status_code, again.status_code) == (201, 201), again.content
    assert first.json()["id"] == again.json()["id"] and first.json()["amount"] == 9_900
