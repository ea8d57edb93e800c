"""On a phone, in the console: an admin refunds part of a sale at the platform's cost, then everything
left taking it back from the seller. Stripe would then take back all that is left of the seller's
share, their share of the platform's refund too, so the form refuses until "Take back the whole share"
is ticked: the refusal names the amounts, the box appears, and what was typed stays. Ticked, the refund
goes through, the refunds' row says the whole share was taken, the seller's Stripe balance is empty and
the ledger equals Stripe. USD and JPY; the sandbox over HTTP; each page fits 375 px and passes axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payments.models import Refund, RefundStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.orders.conftest import wait_until
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.payments.test_refunds import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What the admin types in the amount box for 2,000 minor units.
TYPED = {"usd": "20.00", "jpy": "2000"}


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_admin_confirms_taking_the_whole_share_before_refunding_everything_left(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order = paid_order(sandbox, currency)  # 10,000 with a fee of 1,000: the seller holds 9,000
    account = str(order.seller.stripe_account_id)

    def money(amount: int) -> str:
        return format_money(amount, currency)

    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    form = page.get_by_test_id("admin-refund-form")
    try:
        page.goto(f"{live_server.url}/console/refunds/")
        form.get_by_label("Order number").fill(str(order.pk))
        form.get_by_label("Amount (blank: everything left)").fill(TYPED[currency])
        form.get_by_label("Reason (the buyer reads it)").fill("Late")
        form.get_by_label("Take it back from the seller (untick: the platform pays)").uncheck()
        expect(form.get_by_test_id("whole-share-warning")).to_have_count(0)  # nothing asks for it yet
        form.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text(f"Order {order.pk}: {money(2_000)} refunded to the buyer.")
        assert wait_until(lambda: stripe_balances(account) == {currency: 9_000})  # the platform paid it

        form.get_by_label("Order number").fill(str(order.pk))
        form.get_by_label("Reason (the buyer reads it)").fill("Out of stock")
        form.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Stripe takes back all that is left of the seller's share: {money(10_000)} from the seller's balance, "
            f"{money(2_000)} more than this refund's own share, because the platform paid {money(2_000)} of "
            "earlier refunds itself"
        )
        expect(page.get_by_role("status")).to_contain_text("Nothing was refunded.")
        expect(form.get_by_label("Order number")).to_have_value(str(order.pk))
        expect(form.get_by_label("Reason (the buyer reads it)")).to_have_value("Out of stock")
        expect(form.get_by_label("Take it back from the seller (untick: the platform pays)")).to_be_checked()
        box = form.get_by_label("Take back the whole share if this refund is everything left")
        expect(box).not_to_be_checked()
        fits_a_phone_and_passes_axe(page)  # the refusal and the form with its box
        assert Refund.objects.count() == 1 and stripe_balances(account) == {currency: 9_000}

        box.check()
        form.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text(f"Order {order.pk}: {money(8_000)} refunded to the buyer.")
        expect(
            page.get_by_text(f"took back the seller's whole share, {money(10_000)} ({money(2_000)} for the")
        ).to_be_visible()
        expect(form.get_by_test_id("whole-share-warning")).to_have_count(0)  # asked once, not kept
        fits_a_phone_and_passes_axe(page)
        assert wait_until(lambda: stripe_balances(account) == {})
    finally:
        page.context.close()
    assert sorted(r.status for r in Refund.objects.all()) == [RefundStatus.SUCCEEDED] * 2
    assert_ledger_equals_stripe()
