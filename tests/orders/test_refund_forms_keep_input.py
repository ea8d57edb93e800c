"""A refund form refused with a sentence comes back as it was sent, not empty: the page is drawn
again after the redirect, and the admin's "take it back from the seller" came back ticked, so
resubmitting what looked like the same form made the seller pay a refund meant for the platform."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orders.models import Order
from payments.models import Refund
from tests.factories import make_platform_admin
from tests.orders.test_refunds import _client, _paid_two_lines

pytestmark = pytest.mark.django_db
TOO_MANY_DECIMALS = {"usd": "1.005", "jpy": "100.5"}


def _value(page: str, field_id: str) -> str:
    tag = re.search(rf'<input id="{field_id}"[^>]*>', page)
    assert tag, field_id
    value = re.search(r' value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def _checked(page: str, field_id: str) -> bool:
    found = re.search(rf'<input type="checkbox" id="{field_id}"[^>]*>', page)
    assert found, field_id
    return " checked" in found.group(0)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_admins_refund_form_comes_back_as_sent_with_the_platform_paying(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    admin = _client(make_platform_admin())
    assert _checked(admin.get("/console/refunds/").content.decode(), "from-seller"), "ticked when first drawn"
    form = {"order_id": str(order.pk), "amount": TOO_MANY_DECIMALS[currency], "reason": "Goodwill"}  # unticked
    refused = admin.post("/console/refunds/order/", form)
    assert refused.status_code == 422, "as the site's other refused forms, not a redirect to a 200"
    page = refused.content.decode()
    assert "decimals" in page and not Refund.objects.exists()
    assert (_value(page, "order-id"), _value(page, "admin-amount"), _value(page, "admin-reason")) == (
        str(order.pk),
        TOO_MANY_DECIMALS[currency],
        "Goodwill",
    )
    assert not _checked(page, "from-seller"), "the platform pays, as the admin chose"
    assert _checked(admin.get("/console/refunds/").content.decode(), "from-seller"), "kept once, not for ever"


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_refund_form_comes_back_as_sent(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    seller = _client(order.seller.user)
    mug = order.lines.get(title="Mug")
    form = {"amount": TOO_MANY_DECIMALS[currency], "reason": "Out of stock", "restock": "on", f"qty_{mug.pk}": "1"}
    page = seller.post(f"/sell/orders/{order.pk}/refund/", form, follow=True).content.decode()
    assert "decimals" in page and not Refund.objects.exists()
    assert (_value(page, "refund-amount"), _value(page, "refund-reason")) == (
        TOO_MANY_DECIMALS[currency],
        "Out of stock",
    )
    assert _checked(page, "refund-restock") and _value(page, f"sqty-{mug.pk}") == "1"


def test_the_buyers_request_comes_back_as_sent(sandbox: Any) -> None:
    order, _, _ = _paid_two_lines(sandbox, "jpy")
    buyer = _client(Order.objects.get(pk=order.pk).buyer)
    vase = order.lines.get(title="Vase")
    form = {"reason": "other", "note": "", "scope": "lines", f"qty_{vase.pk}": "1"}  # "Other" needs a note
    page = buyer.post(f"/orders/{order.pk}/refund-request/", form, follow=True).content.decode()
    assert 'value="other" selected' in page
    assert re.search(r'id="scope-lines" name="scope" value="lines" checked', page)
    assert _value(page, f"qty-{vase.pk}") == "1"


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_negative_refund_is_refused_with_the_sentence_zero_gets(sandbox: Any, currency: str) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    admin = _client(make_platform_admin())
    seller = _client(order.seller.user)
    for amount in ("-1", "0"):
        page = admin.post("/console/refunds/order/", {"order_id": str(order.pk), "amount": amount}, follow=True)
        assert "A refund must be a positive amount." in page.content.decode()
        assert "zero or more" not in page.content.decode()
        page = seller.post(f"/sell/orders/{order.pk}/refund/", {"amount": amount, "reason": "Broken"}, follow=True)
        assert "A refund must be a positive amount." in page.content.decode()
    assert not Refund.objects.exists()


def test_the_buyers_note_as_long_as_the_text_area_allows_with_line_breaks_reaches_the_seller_whole(
    sandbox: Any,
) -> None:
    """The browser counts a line break as one character for `maxlength="500"` and submits it as CRLF."""
    order, _, _ = _paid_two_lines(sandbox, "usd")
    buyer = _client(Order.objects.get(pk=order.pk).buyer)
    typed = ("The glaze is cracked." + "." * 28 + "\n") * 10
    assert len(typed) == 500

    buyer.post(
        f"/orders/{order.pk}/refund-request/",
        {"reason": "damaged", "note": typed.replace("\n", "\r\n"), "scope": "whole"},
    )

    assert order.refund_requests.get().note == typed.strip()


def test_the_admins_other_refused_refund_forms_answer_422_with_the_sentence_and_what_was_typed(sandbox: Any) -> None:
    """No such order, no such subscription payment, an approval refused: each comes back at once,
    422, with its sentence and the form as it was sent."""
    admin = _client(make_platform_admin())
    missing = admin.post("/console/refunds/order/", {"order_id": "999999", "amount": "5", "reason": "Lost"})
    assert missing.status_code == 422
    page = missing.content.decode()
    assert "No order has that number." in page
    assert (_value(page, "order-id"), _value(page, "admin-amount"), _value(page, "admin-reason")) == (
        "999999",
        "5",
        "Lost",
    )
    unknown = admin.post("/console/refunds/subscription/", {"stripe_id": "in_nothing", "amount": "3", "reason": "x"})
    assert unknown.status_code == 422
    page = unknown.content.decode()
    assert "No paid subscription payment has that Stripe id" in page
    assert (_value(page, "sub-stripe-id"), _value(page, "sub-amount")) == ("in_nothing", "3")
    assert admin.get("/console/refunds/").status_code == 200


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_admins_refused_approval_answers_422_with_the_amount_and_note_typed(sandbox: Any, currency: str) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import RefundRequest
    from tests.orders.test_refund_request_amounts import _ask_two_mugs

    order, mug, _ = _paid_two_lines(sandbox, currency)
    request_id = _ask_two_mugs(order, mug)
    RefundRequest.objects.filter(pk=request_id).update(created_at=timezone.now() - timedelta(days=30))
    admin = _client(make_platform_admin())
    form = {"amount": TOO_MANY_DECIMALS[currency], "note": "Sorry", "from_seller": "on"}
    refused = admin.post(f"/console/refunds/{request_id}/approve/", form)
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "decimals" in page and not Refund.objects.exists()
    assert (_value(page, f"camount-{request_id}"), _value(page, f"cnote-{request_id}")) == (
        TOO_MANY_DECIMALS[currency],
        "Sorry",
    )
    assert _checked(page, f"cfrom-{request_id}")
    declined = admin.post(f"/console/refunds/{request_id}/decline/", {"reason": " "})
    assert declined.status_code == 422
    assert "Say why you decline: the buyer reads it." in declined.content.decode()
