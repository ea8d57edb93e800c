"""On a phone, the console's queue of disputes, sorted by evidence deadline: each deadline reads as the
dispute's own page and the sellers list say it ("5 December 2026, 17:04 UTC"), the nearest first, and
a dispute Stripe gave no deadline comes last, after every dated one (its row's link reads "—"), not
first as a plain ascending sort puts a null in Postgres. The page fits 375 px and passes axe-core.
USD and JPY (each row shows its amount), the sandbox over HTTP; the ledger equals Stripe after."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payments.models import Dispute
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.orders.test_multi_seller_disputes import _dispute_after_the_first_order_was_refunded
from tests.payments.helpers import assert_ledger_equals_stripe, process
from tests.payments.test_disputes import disputed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_queue_reads_each_deadline_in_words_and_utc_with_the_undated_dispute_last(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    disputes = []
    for amount in (10_000, 20_000, 30_000):
        _, _, events = disputed_order(sandbox, currency, amount=amount)
        with django_capture_on_commit_callbacks(execute=True):
            assert "failed" not in process(events)
        disputes.append(Dispute.objects.get(amount=amount))
    undated, soon, later = disputes  # the undated one first made: the lowest id, first by id
    Dispute.objects.filter(pk=undated.pk).update(due_by=None)
    due_soon = (timezone.now() + timedelta(days=2)).replace(hour=17, minute=4, second=0, microsecond=0)
    Dispute.objects.filter(pk=soon.pk).update(due_by=due_soon)
    later.refresh_from_db()
    assert later.due_by is not None and later.due_by > due_soon  # the sandbox's deadline, days ahead

    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    try:
        page.goto(f"{live_server.url}/console/disputes/")
        rows = page.get_by_test_id("dispute-row")
        expect(rows).to_have_count(3)
        for row, dispute, due in zip(rows.all(), (soon, later, undated), (due_soon, later.due_by, None), strict=True):
            expect(row.get_by_role("cell").nth(1)).to_have_text(format_money(dispute.amount, currency))
            expect(row.get_by_role("cell").nth(4)).to_have_text(f"Order {dispute.order_id}")
            deadline = row.get_by_role("cell").first
            if due is None:
                expect(deadline).to_have_text("—")
                expect(deadline.get_by_role("link", name=f"Dispute {dispute.pk}", exact=True)).to_be_visible()
            else:
                expect(deadline.locator(".muted")).to_have_text(f"{due:%-d %B %Y, %H:%M} UTC")
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_seller_filter_offers_every_shop_of_a_disputed_payment_for_several_shops(
    live_server: Any,
    browser: Browser,
    sandbox: Any,
    clean_cache: None,
    axe_js: Path,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The filter listed only the shop the Dispute names: the other shops of the payment, whose parts
    are disputed too and whose console pages list the dispute, could not be chosen, though the queue
    filtered by them (`?seller=`) shows it."""
    shops, _orders, dispute, _opened, _seen = _dispute_after_the_first_order_was_refunded(
        sandbox, django_capture_on_commit_callbacks, currency
    )
    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    try:
        page.goto(f"{live_server.url}/console/disputes/")
        choices = page.locator("#f-seller option")
        expect(choices).to_have_text(["Any", *sorted(shop.shop_name for shop in shops)])
        page.get_by_label("Seller").select_option(label=shops[2].shop_name)
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_label("Seller")).to_have_value(str(shops[2].pk))
        rows = page.get_by_test_id("dispute-row")
        expect(rows).to_have_count(1)
        expect(rows.first.get_by_role("cell").nth(1)).to_have_text(format_money(dispute.amount, currency))
        fits_a_phone_and_passes_axe(page)
    finally:
        page.context.close()
    assert_ledger_equals_stripe()
