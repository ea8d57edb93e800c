"""One decision, one refund: what the attacker of the demo did, on real Postgres with the sandbox over
HTTP through the real SDK, in USD and JPY.

- Four approvals of one request at the same moment (threads, each with its own connection): one
  refund, at the sandbox too, and the other three told the request was answered (409).
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
    assert len(found) == 1, "the refund form carries one hidden token"
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
