"""On a phone, the seller's page of an order the buyer's bank disputes leads to the dispute's page,
where the seller adds its side: "Add your side by <the deadline>", the words a link to the dispute.
A dispute Stripe gives no deadline reads "Add your side: what happened…", with no "by :" left
hanging. The page fits 375 px and passes axe-core each time. USD and JPY (the sale's amounts are
on the page), the sandbox over HTTP; the ledger equals Stripe after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payments.models import Dispute
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.payments.helpers import assert_ledger_equals_stripe, process
from tests.payments.test_disputes import disputed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_order_page_says_by_when_to_add_their_side_and_links_the_dispute(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seller, order, events = disputed_order(sandbox, currency)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    assert dispute.due_by is not None
    tail = ": what happened, and your proof. The platform sends it to the bank."

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    try:
        page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
        expect(page.get_by_test_id("sale-amount")).to_have_text(format_money(order.amount_total, currency))
        said = page.get_by_test_id("order-dispute-link")
        expect(said).to_have_text(
            f"The buyer's bank disputes this payment. Add your side by {dispute.due_by:%-d %B %Y}{tail}"
        )
        link = said.get_by_role("link", name="Add your side")
        expect(link).to_have_attribute("href", f"/sell/disputes/{dispute.pk}/")
        fits_a_phone_and_passes_axe(page)

        # No deadline from Stripe: the sentence goes on without one.
        Dispute.objects.filter(pk=dispute.pk).update(due_by=None)
        page.reload()
        expect(said).to_have_text(f"The buyer's bank disputes this payment. Add your side{tail}")
        expect(said).not_to_contain_text("by :")
        fits_a_phone_and_passes_axe(page)

        link.click()
        expect(page).to_have_url(f"{live_server.url}/sell/disputes/{dispute.pk}/")
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            f"Disputed: {format_money(dispute.amount, currency)}"
        )
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
