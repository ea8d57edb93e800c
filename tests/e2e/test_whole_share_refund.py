"""On a phone: the seller's refund of everything left after a refund the platform paid. The admin
refunded $20.00 of a $100.00 sale at the platform's cost; the seller's order page says, above its
refund form, that a refund of everything left ($80.00) makes Stripe take back all that is left of the
seller's share ($100.00, $20.00 more than that refund's own), with the fee's rest ($10.00) back. Sent
without ticking the box it is refused with that sentence and nothing moves; ticked, it goes through,
the refund's row says Stripe took the whole share, and the money page's row nets $0.00, as the
seller's Stripe balance. Each page fits 375 px and passes axe-core. The sandbox over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from orders.services.refunds import order_refund
from payments.models import Refund, RefundOrigin, RefundStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.orders.conftest import wait_until
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.payments.test_refunds import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_seller_reads_what_stripe_takes_before_refunding_everything_left(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path
) -> None:
    order = paid_order(sandbox, "usd")
    account = str(order.seller.stripe_account_id)
    paid = order_refund(
        order=order,
        actor=make_platform_admin(),
        origin=RefundOrigin.ADMIN,
        amount=2_000,
        lines=None,
        reason="Late",
        restock=False,
        reverse_transfer=False,
    )
    assert paid.status == RefundStatus.SUCCEEDED and stripe_balances(account) == {"usd": 9_000}

    page = phone_signed_in(browser, axe_js, live_server.url, order.seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
        warning = page.get_by_test_id("whole-share-warning")
        expect(warning).to_contain_text(
            "A refund of everything left ($80.00) refunds the payment in full, and Stripe then takes back all "
            "that is left of your share: $100.00 from your balance, $20.00 more than that refund's own share, "
            "with the rest of the marketplace fee, $10.00, back to you."
        )
        fits_a_phone_and_passes_axe(page)  # the form with its warning and box

        page.get_by_label("Reason (the buyer reads it)").fill("Out of stock")
        page.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Nothing was refunded.")
        expect(page.get_by_label("Reason (the buyer reads it)")).to_have_value("Out of stock")
        fits_a_phone_and_passes_axe(page)  # the refusal above the form kept as typed
        assert Refund.objects.count() == 1 and stripe_balances(account) == {"usd": 9_000}

        page.get_by_label("Take back the whole share ($100.00) if this refund is everything left").check()
        page.get_by_role("button", name="Refund", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("$80.00 refunded to the buyer.")
        expect(page.get_by_test_id("whole-share-taken")).to_contain_text(
            "Stripe took back your whole share, $100.00: a payment refunded in full takes back all of it, so "
            "$20.00 of it is for the marketplace's earlier refunds, and all of the marketplace fee came back to you."
        )
        expect(page.get_by_test_id("seller-net")).to_have_text("$0.00")
        fits_a_phone_and_passes_axe(page)  # the refunds' rows
        assert wait_until(lambda: stripe_balances(account) == {})

        page.goto(f"{live_server.url}/sell/money/")
        expect(page.get_by_test_id("order-net").first).to_have_text("$0.00")
        expect(page.get_by_test_id("whole-share-taken").first).to_contain_text(
            "Of it, $20.00 is your share of refunds the marketplace paid"
        )
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
