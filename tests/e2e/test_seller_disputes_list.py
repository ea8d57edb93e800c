"""On a phone, the shop that answers a dispute of a payment for several shops reads its disputes list:
the row said "Order 8" beside ¥26,400, the whole payment's disputed amount, for an order of ¥2,400;
the other shops' rows already said "a payment for several shops". Now the answering shop's does too,
and its dispute page names its part. USD and JPY, the sandbox over HTTP; 375 px and axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from orders.models import Order
from payments.models import Dispute
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import listing_of, pay
from tests.orders.test_multi_seller import WORKED, settle, start_cart, three_shops
from tests.payments.helpers import new_events, process
from tests.payments.test_disputes import control

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_answering_shop_reads_its_row_is_a_payment_for_several_shops(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    shops = three_shops(sandbox, currency)
    items = ((listing_of(s, price=a), 1) for s, a in zip(shops, WORKED[currency][0], strict=True))
    started = start_cart(UserFactory(), currency, *items)
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(started.group and started.group.checkout_session_id))
    settle(started.orders[0], django_capture_on_commit_callbacks)
    charge_id = Order.objects.select_related("payment").get(pk=started.orders[0].pk).payment.stripe_charge_id  # type: ignore[union-attr]
    control(sandbox, f"charges/{charge_id}/dispute", reason="fraudulent", amount=5_000)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    dispute = Dispute.objects.get()
    assert dispute.seller == shops[0]  # the first shop answers
    own = Order.objects.get(payment=dispute.payment, seller=shops[0])

    page = phone_signed_in(browser, axe_js, live_server.url, shops[0].user.email)
    try:
        page.goto(f"{live_server.url}/sell/disputes/")
        row = page.get_by_test_id("seller-dispute-row")
        expect(row.get_by_role("link")).to_have_text(f"Order {own.pk}: a payment for several shops")
        expect(row.get_by_role("cell").nth(1)).to_contain_text(format_money(5_000, currency))
        fits_a_phone_and_passes_axe(page)
        row.get_by_role("link").click()
        expect(page.get_by_test_id("dispute-part")).to_contain_text(f"of your order {own.pk}")
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
