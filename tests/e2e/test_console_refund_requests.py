"""The console's overdue refund requests each carry the same form (amount, note, Approve and refund;
a reason, Decline). A screen-reader user moving through the form controls heard "Approve and refund"
and "Reason for declining" once per request, never which order each was for; each control now names
its order. Chromium, the live server and the sandbox (paid orders)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orders.models import RefundRequest
from tests.e2e.browser import log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.orders.test_refunds import _client, _paid_two_lines, _post

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_each_overdue_request_s_controls_name_their_order(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    orders = [_paid_two_lines(sandbox, currency)[0] for currency in ("usd", "jpy")]
    for order in orders:
        assert _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    RefundRequest.objects.update(created_at=timezone.now() - timedelta(days=5))  # no seller answered

    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/refunds/")
    for order in orders:
        for role, name in (
            ("textbox", f"Amount for order {order.pk} (blank: {'$100.00' if order.currency == 'usd' else '¥10,000'})"),
            ("textbox", f"Note to the buyer of order {order.pk}"),
            ("checkbox", f"Take it back from the seller of order {order.pk} (untick: the platform pays)"),
            ("button", f"Approve and refund order {order.pk}"),
            ("textbox", f"Reason for declining order {order.pk}"),
            ("button", f"Decline order {order.pk}"),
        ):
            expect(page.get_by_role(role, name=name, exact=True)).to_have_count(1)  # type: ignore[arg-type]

    first = orders[0].pk
    page.get_by_role("textbox", name=f"Reason for declining order {first}").fill("Sold as seen")
    page.get_by_role("button", name=f"Decline order {first}").press("Enter")
    expect(page.locator(".messages")).to_be_visible()
    expect(page.get_by_role("button", name=f"Decline order {first}")).to_have_count(0)
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
