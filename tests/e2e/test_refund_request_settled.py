"""On a phone: the buyer asked for one mug back, and the seller, rather than answering the request,
refunds the mug's price from the order page. The request is settled by that refund: the seller's
Refund requests page no longer offers Approve or Decline but says "Refunded" and by which refund, and
the buyer's order page no longer says it waits for the seller. Each page fits 375 px and passes
axe-core. The sandbox over HTTP, USD and JPY."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from orders.models import RefundRequest, RefundRequestStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.test_refund_request_settled import _major
from tests.orders.test_refunds import _paid_two_lines
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_own_refund_settles_the_request_on_both_sides(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, mug, _ = _paid_two_lines(sandbox, currency)
    buyer_api = Client()
    buyer_api.force_login(order.buyer)
    asked = buyer_api.post(
        f"/api/v1/orders/{order.pk}/refund-requests",
        json.dumps({"reason": "damaged", "lines": [{"line_id": order.lines.get(listing=mug).pk, "quantity": 1}]}),
        "application/json",
    )
    assert asked.status_code == 201, asked.content
    price = format_money(3_000, currency)
    base = live_server.url

    seller = phone_signed_in(browser, axe_js, base, order.seller.user.email)
    try:
        seller.goto(f"{base}/sell/orders/{order.pk}/")
        expect(seller.get_by_test_id("refund-request-status")).to_have_text("Waiting for the seller")
        seller.get_by_label("Amount (blank: the items chosen, or everything left)").fill(_major(3_000, currency))
        seller.get_by_label("Reason (the buyer reads it)").fill("Sorry about the mug")
        seller.get_by_role("button", name="Refund", exact=True).click()
        expect(seller.get_by_role("status")).to_contain_text(f"{price} refunded to the buyer.")
        expect(seller.get_by_test_id("refund-request-status")).to_have_text("Refunded")
        fits_a_phone_and_passes_axe(seller)  # the order page with its settled request

        seller.goto(f"{base}/sell/refunds/")
        request = seller.get_by_test_id("seller-refund-request")
        expect(request.get_by_test_id("refund-request-status")).to_have_text("Refunded")
        expect(request).to_contain_text(f"Settled by the refund of {price} made after the request.")
        expect(request.get_by_test_id("approve-form")).to_have_count(0)
        expect(request.get_by_test_id("decline-form")).to_have_count(0)
        fits_a_phone_and_passes_axe(seller)
    finally:
        seller.context.close()

    buyer = phone_signed_in(browser, axe_js, base, order.buyer.email)
    try:
        buyer.goto(f"{base}/orders/{order.pk}/")
        expect(buyer.get_by_test_id("refund-request-status")).to_have_text("Refunded")
        expect(buyer.get_by_test_id("refund-request")).to_contain_text("Settled by the refund of")
        fits_a_phone_and_passes_axe(buyer)
    finally:
        buyer.context.close()

    assert RefundRequest.objects.get().status == RefundRequestStatus.SETTLED
    assert_ledger_equals_stripe()
