"""Pay out now, as a seller does it on a phone: the Money page's schedule form switched to manual,
then the "Pay out now" form, its sentence and the payout row it leaves (USD and JPY), each page at
375 px with no serious axe-core violation, and Stripe's balance paid out to 0 with the ledger equal
to it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from marketplace.money import format_money
from payouts.models import Payout
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.orders.conftest import active_seller
from tests.payments.helpers import assert_ledger_equals_stripe, stripe_balances
from tests.payouts.helpers import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
NOW = "4000000000000077"  # funds available at once


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_seller_switches_to_manual_and_pays_out_now(
    live_server: Any, browser: Browser, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    # The sale less the platform's fee (the fee rule in force: a transactional test before this one
    # may have flushed the seeded one); Stripe's own fee is the platform's on a destination charge.
    available = order.amount_total - order.application_fee_amount
    assert stripe_balances(account) == {currency: available}
    shown = format_money(available, currency)
    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)

    page.goto(live_server.url + "/sell/money/")
    expect(page.get_by_test_id("payout-now-form")).to_have_count(0)  # Stripe pays out daily
    schedule = page.get_by_test_id("schedule-form")
    schedule.get_by_label("How often Stripe pays you out").select_option(label="Manual")
    schedule.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_text(re.compile("Payout schedule saved"))).to_be_visible()
    form = page.get_by_test_id("payout-now-form")
    expect(form.get_by_label("Pay out the available balance in")).to_have_text(
        f"{currency.upper()} ({shown} available)"
    )
    fits_a_phone_and_passes_axe(page)

    form.get_by_role("button", name="Pay out now").click()
    expect(page.get_by_text(f"{shown} is on its way to your bank account")).to_be_visible()
    payout = Payout.objects.get(account=account)
    arrival = payout.arrival_date.strftime("%-d %B %Y")
    expect(page.get_by_text(f"Stripe expects it to arrive by {arrival}.")).to_be_visible()
    row = page.get_by_test_id("payout-row")
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(1)).to_have_text(shown)
    expect(row.get_by_test_id("payout-status")).to_have_text(re.compile("Pending|In transit"))
    expect(page.get_by_test_id("payout-now-form")).to_have_count(0)  # nothing left to pay out
    expect(page.get_by_test_id("nothing-to-pay-out")).to_be_visible()
    fits_a_phone_and_passes_axe(page)
    assert (payout.amount, payout.currency, payout.automatic) == (available, currency, False)
    assert stripe_balances(account) == {}
    assert_ledger_equals_stripe()
    page.context.close()
