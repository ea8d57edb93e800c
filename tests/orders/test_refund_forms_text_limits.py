"""Text typed on a refund form longer than its field holds is refused beside its box, with the limit
and the length said and the text kept to shorten, and nothing stored; before, the end of the buyer's
note, the seller's note or reason for declining, or a refund's reason was cut off without a word (a post
made past the browser's `maxlength`, or a browser counting otherwise). A text area's line breaks count
one each, as the browser counts them, so a note the browser let through is never refused. USD and JPY,
the sandbox."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.html import escape

from marketplace.errors import InvalidInput
from orders.models import Order, RefundRequest, RefundRequestStatus
from orders.services.refunds import order_refund, refund_request_approve
from payments.models import Refund, RefundOrigin
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import wait_until
from tests.orders.test_refund_request_amounts import _ask_two_mugs
from tests.orders.test_refunds import _client, _paid_two_lines

pytestmark = pytest.mark.django_db
PART = {"usd": "25.00", "jpy": "2500"}


def _too_long(limit: int, length: int) -> str:
    return f"can be at most {limit} characters long; this one has {length}."


def _beside(page: str, box_id: str, said: str) -> None:
    """`said` is beside the box `box_id`, which is marked invalid, described by it and focused; no
    other box is marked."""
    tag = re.search(rf'<(?:input|textarea|select) id="{re.escape(box_id)}"[^>]*>', page)
    assert tag, box_id
    assert f'aria-invalid="true" aria-describedby="{box_id}-error" autofocus' in tag.group(0)
    assert f'<p class="errorlist" id="{box_id}-error">{escape(said)}</p>' in page
    assert page.count('aria-invalid="true"') == 1


def _value(page: str, box_id: str) -> str:
    tag = re.search(rf'<input id="{re.escape(box_id)}"[^>]*>', page)
    assert tag, box_id
    value = re.search(r' value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def _text_area(page: str, box_id: str) -> str:
    found = re.search(rf'<textarea id="{re.escape(box_id)}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, box_id
    return found.group(1)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_buyers_note_too_long_is_refused_beside_it_and_kept_and_one_that_fits_with_crlf_goes_through(
    sandbox: Any, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    buyer = _client(Order.objects.get(pk=order.pk).buyer)
    typed = "The glaze is cracked along the rim. " * 14 + "x" * 1  # 505 characters
    assert len(typed) == 505

    page = buyer.post(
        f"/orders/{order.pk}/refund-request/", {"reason": "damaged", "note": typed, "scope": "whole"}, follow=True
    ).content.decode()

    _beside(page, "refund-note", "The note " + _too_long(500, 505))
    assert _text_area(page, "refund-note") == escape(typed)
    assert not RefundRequest.objects.exists()

    # 500 characters as the text area counts them: each line break one, sent as CRLF (510 on the wire).
    fits = ("x" * 49 + "\n") * 10
    buyer.post(
        f"/orders/{order.pk}/refund-request/",
        {"reason": "damaged", "note": fits.replace("\n", "\r\n"), "scope": "whole"},
    )
    assert RefundRequest.objects.get().note == fits.strip()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_note_and_reason_for_declining_too_long_are_refused_beside_them_and_kept(
    sandbox: Any, currency: str
) -> None:
    order, mug, _ = _paid_two_lines(sandbox, currency)
    request_id = _ask_two_mugs(order, mug)
    seller = _client(order.seller.user)
    note = "Sorry: " + "n" * 494  # 501

    page = seller.post(
        f"/sell/refunds/{request_id}/approve/", {"amount": PART[currency], "note": note}, follow=True
    ).content.decode()

    _beside(page, f"note-{request_id}", "The note " + _too_long(500, 501))
    assert (_value(page, f"note-{request_id}"), _value(page, f"amount-{request_id}")) == (note, PART[currency])
    assert not Refund.objects.exists()
    assert RefundRequest.objects.get().status == RefundRequestStatus.OPEN

    reason = "r" * 600
    page = seller.post(f"/sell/refunds/{request_id}/decline/", {"reason": reason}, follow=True).content.decode()
    _beside(page, f"reason-{request_id}", "The reason " + _too_long(500, 600))
    assert _value(page, f"reason-{request_id}") == reason
    assert RefundRequest.objects.get().status == RefundRequestStatus.OPEN

    seller.post(f"/sell/refunds/{request_id}/decline/", {"reason": "d" * 500})
    assert RefundRequest.objects.get().decision_note == "d" * 500


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_admins_note_and_reasons_too_long_are_refused_beside_them_and_kept(sandbox: Any, currency: str) -> None:
    order, mug, _ = _paid_two_lines(sandbox, currency)
    request_id = _ask_two_mugs(order, mug)
    RefundRequest.objects.filter(pk=request_id).update(created_at=timezone.now() - timedelta(days=30))
    admin = _client(make_platform_admin())

    refused = admin.post(f"/console/refunds/{request_id}/approve/", {"note": "n" * 501, "from_seller": "on"})
    assert refused.status_code == 422
    _beside(refused.content.decode(), f"cnote-{request_id}", "The note " + _too_long(500, 501))
    assert _value(refused.content.decode(), f"cnote-{request_id}") == "n" * 501

    refused = admin.post(f"/console/refunds/{request_id}/decline/", {"reason": "r" * 501})
    assert refused.status_code == 422
    _beside(refused.content.decode(), f"creason-{request_id}", "The reason " + _too_long(500, 501))

    form = {"order_id": str(order.pk), "amount": PART[currency], "reason": "g" * 301, "from_seller": "on"}
    refused = admin.post("/console/refunds/order/", form)
    assert refused.status_code == 422
    page = refused.content.decode()
    _beside(page, "admin-reason", "The reason " + _too_long(300, 301))
    assert (_value(page, "admin-reason"), _value(page, "admin-amount")) == ("g" * 301, PART[currency])
    assert not Refund.objects.exists()

    form["reason"] = "g" * 300
    admin.post("/console/refunds/order/", form)
    assert Refund.objects.get().reason == "g" * 300


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_own_refund_reason_too_long_is_refused_beside_it_and_kept(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    reason = ("Out of stock, " * 22).strip()  # 307
    page = seller.post(
        f"/sell/orders/{order.pk}/refund/", {"amount": PART[currency], "reason": reason}, follow=True
    ).content.decode()
    _beside(page, "refund-reason", "The reason " + _too_long(300, len(reason)))
    assert (_value(page, "refund-reason"), _value(page, "refund-amount")) == (reason, PART[currency])
    assert not Refund.objects.exists()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_reason_too_long_is_refused_by_the_service_and_an_approvals_long_note_fits_said_shortened(
    sandbox: Any, currency: str
) -> None:
    """The API and the pages share the services: a reason is refused there, not cut. An approval's
    reason is the request's reason and the buyer's note, which a refund's reason may not hold: it is
    shortened with "…", the note kept whole on the request."""
    order, mug, _ = _paid_two_lines(sandbox, currency)
    seller = order.seller.user
    with pytest.raises(InvalidInput) as caught:
        order_refund(
            order=order,
            actor=seller,
            origin=RefundOrigin.SELLER,
            amount=100,
            lines=None,
            reason="x" * 301,
            restock=False,
        )
    assert caught.value.code == "reason_too_long"
    assert not Refund.objects.exists()

    request_id = _ask_two_mugs(order, mug)
    RefundRequest.objects.filter(pk=request_id).update(note="w" * 500)
    refund = refund_request_approve(
        request=RefundRequest.objects.get(pk=request_id), user=seller, amount=None, restock=False
    )
    assert len(refund.reason) == 300 and refund.reason.endswith("…")
    assert refund.reason.startswith("Arrived damaged: www")
    assert RefundRequest.objects.get(pk=request_id).note == "w" * 500


@pytest.mark.parametrize("currency", ["usd", "jpy"])
@pytest.mark.django_db(transaction=True)
def test_the_subscription_payment_refund_reasons_too_long_are_refused_beside_them(
    sandbox_webhooks: Any, currency: str
) -> None:
    from subscriptions.models import SubscriptionInvoice
    from tests.subscriptions.test_subscriptions import seller_with_plan, subscribe

    seller, listing = seller_with_plan(sandbox_webhooks, currency, 2_999, 1_000)
    sub = subscribe(sandbox_webhooks, UserFactory(), listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    invoice = SubscriptionInvoice.objects.get(subscription=sub, payment__isnull=False)
    amount = "10.00" if currency == "usd" else "1000"

    url = f"/sell/subscriptions/payments/{invoice.pk}/refund/"
    page = _client(seller.user).post(url, {"amount": amount, "reason": "s" * 320}, follow=True).content.decode()
    _beside(page, "refund-reason", "The reason " + _too_long(300, 320))
    assert _value(page, "refund-reason") == "s" * 320

    form = {"stripe_id": invoice.stripe_invoice_id, "amount": amount, "reason": "a" * 301, "from_seller": "on"}
    refused = _client(make_platform_admin()).post("/console/refunds/subscription/", form)
    assert refused.status_code == 422
    _beside(refused.content.decode(), "sub-reason", "The reason " + _too_long(300, 301))
    assert not Refund.objects.exists()
