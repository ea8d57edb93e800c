"""On a phone, the console's page of a bank inquiry (Stripe's `warning_needs_response`: the bank only
asks, no money has moved): the admin reads that nothing moved and is offered "Close the inquiry", not
"Accept the dispute"; pressing it unticked says what ticking is for, in an inquiry's words; ticked, it
closes with no money moved and no form left. The page fits 375 px and passes axe-core at each step.
USD and JPY, the sandbox over HTTP (its inquiry test card); the ledger equals Stripe after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from payments.models import Dispute
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.payments.helpers import assert_ledger_equals_stripe, process, stripe_balances
from tests.payments.test_disputes import PLATFORM_NET, disputed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

INQUIRY_CARD = "4000000000001976"  # connect-behaviour.md: the card whose payment draws an inquiry


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$100.00"), ("jpy", "¥10,000")])
def test_the_admin_reads_an_inquiry_and_closes_it_on_a_phone(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str, shown: str
) -> None:
    _, order, events = disputed_order(sandbox, currency, card=INQUIRY_CARD)
    assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    assert dispute.status == "warning_needs_response"

    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    try:
        page.goto(f"{live_server.url}/console/disputes/{dispute.pk}/")
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Dispute {shown}")
        expect(page.get_by_test_id("dispute-status")).to_have_text("Inquiry: needs response")
        expect(page.get_by_test_id("dispute-order")).to_contain_text(f"Order {order.pk}")
        expect(page.get_by_role("heading", name="Close the inquiry")).to_be_visible()
        expect(page.get_by_text("No money has moved: the buyer's bank only asks about the payment.")).to_be_visible()
        expect(page.get_by_role("heading", name="Accept the dispute")).to_have_count(0)
        expect(page.get_by_role("button", name="Submit evidence to the bank")).to_be_visible()
        fits_a_phone_and_passes_axe(page)

        page.get_by_role("button", name="Close inquiry").click()
        box = page.get_by_label("I close this inquiry without an answer; this cannot be undone.")
        expect(box).to_be_focused()
        expect(box).to_have_accessible_description("Tick the confirmation: closing an inquiry cannot be undone.")
        expect(page.get_by_text("accepting a dispute")).to_have_count(0)
        expect(page.get_by_test_id("dispute-status")).to_have_text("Inquiry: needs response")
        fits_a_phone_and_passes_axe(page)

        page.get_by_label("I close this inquiry without an answer; this cannot be undone.").check()
        page.get_by_role("button", name="Close inquiry").click()
        expect(page.locator(".messages")).to_contain_text("Inquiry closed: no money moved.")
        expect(page.get_by_test_id("dispute-status")).to_have_text("Inquiry closed")
        expect(page.get_by_test_id("accept-form")).to_have_count(0)
        expect(page.get_by_test_id("evidence-form")).to_have_count(0)
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert Dispute.objects.get().status == "warning_closed"
    assert stripe_balances() == {currency: PLATFORM_NET[currency]}
    assert_ledger_equals_stripe()
