"""A refused "Mark as shipped" form (a tracking number of spaces, which passes the browser's `required`)
comes back with the cursor in the tracking number box, the box marked invalid and described by the
sentence, and the carrier typed still there: it was drawn anew, empty, with the sentence flashed at the
top of a long page and the cursor nowhere. Chromium at 375 px with axe-core, the live server and the
sandbox, a USD and a JPY shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from orders.models import Order, OrderStatus
from tests.e2e.browser import log_in, on_a_phone
from tests.orders.test_pages_and_api import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("currency", "price"), [("usd", 2_500), ("jpy", 2_500)])
def test_a_refused_tracking_number_comes_back_focused_with_the_carrier_kept(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None, currency: str, price: int
) -> None:
    phone = on_a_phone(page, axe_js, "shipping")
    order = paid_order(sandbox, currency=currency, price=price)
    log_in(page, live_server.url, order.seller.user.email)
    page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
    page.get_by_label("Tracking number").fill("   ")
    page.get_by_label("Carrier (optional)").fill("Yamato")
    page.get_by_role("button", name="Mark as shipped").click()

    box = page.get_by_label("Tracking number")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description("Enter the tracking number of the parcel.")
    expect(page.get_by_label("Carrier (optional)")).to_have_value("Yamato")
    phone.check()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID

    box.fill("1Z999AA10123456784")
    page.get_by_role("button", name="Mark as shipped").click()
    expect(page.get_by_test_id("tracking")).to_contain_text("1Z999AA10123456784 (Yamato)")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    assert [str(c) for c in phone.checks if not c.ok] == []
