"""On a phone, a platform admin reads on the console's page of a shop the dispute of a payment for
several shops that another shop answers (its own order and part, counted in its dispute rate, beside
the debt it left: the page read "No disputes" and "0 disputes" next to "Owes the platform from lost
disputes"), and its subscription payment whose dispute was lost as such, with no Refund link Stripe
would refuse. 375 px and axe-core; USD and JPY, the sandbox over HTTP; the ledger equals Stripe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from orders.models import Order
from payments.models import SellerDebt
from subscriptions import services as subscription_services
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.orders.conftest import listing_of
from tests.orders.test_multi_seller_disputes import _lose_part_of_a_group_payment
from tests.payments.helpers import assert_ledger_equals_stripe, lose_dispute, new_events
from tests.sellers.test_console_disputes import PARTS, subscribed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_shop_the_dispute_does_not_name_reads_it_on_its_console_page(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    shops, dispute = _lose_part_of_a_group_payment(sandbox, currency, capture, card="4242424242424242")
    tea = shops[1]  # Kiln & Co answers the dispute
    box = listing_of(tea, price=10_000, title="Coffee box")
    subscription_services.plan_set(seller=tea, listing_id=box.pk, interval="month")
    invoice = subscribed(sandbox, box, capture, {e["id"] for e in new_events(set())})
    assert invoice.payment is not None
    lose_dispute(sandbox, charge_id=invoice.payment.stripe_charge_id, amount=10_000, on_commit=capture)
    assert_ledger_equals_stripe()
    own = Order.objects.get(payment=dispute.payment, seller=tea)
    owed = SellerDebt.objects.get(dispute=dispute, seller=tea).amount

    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    try:
        page.goto(f"{live_server.url}/console/sellers/")
        row = page.get_by_test_id("seller-row").filter(has_text=tea.shop_name)
        expect(row).to_contain_text("High dispute rate")
        fits_a_phone_and_passes_axe(page)
        row.get_by_role("link", name=tea.shop_name).click()
        disputes = page.get_by_test_id("seller-disputes")
        expect(page.get_by_test_id("dispute-rate")).to_contain_text("2 disputes over 2 payments in 90 days")
        expect(page.get_by_test_id("seller-debt")).to_contain_text(format_money(owed, currency))
        whole = format_money(5_000, currency)
        expect(disputes.get_by_test_id("seller-dispute").filter(has_text="payment for several shops")).to_have_text(
            f"{format_money(PARTS[1], currency)} of order {own.pk}: its part of {whole} disputed on a payment for"
            f" several shops ({shops[0].shop_name} answers it), fraudulent · Lost"
        )
        payment = page.get_by_test_id("seller-sub-payment")
        expect(payment.get_by_test_id("sub-payment-dispute")).to_have_text("Dispute lost")
        expect(payment.get_by_role("link", name="Refund")).to_have_count(0)
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
