"""The payout schedule changed while Stripe cannot be reached, in Chromium at 375 px with axe-core:
the page could not say the schedule any more and hid its form, so the refused change came back
with neither the seller's choice nor a sentence. Now the form comes back as chosen with Stripe's
outage said beside it, and the same press once Stripe is back makes the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from marketplace.gateway.accounts import account_retrieve
from tests.e2e.browser import log_in, on_a_phone
from tests.orders.conftest import active_seller
from tests.orders.test_stripe_outage import UNREACHABLE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_schedule_change_refused_by_an_outage_keeps_the_choice_and_says_why(
    axe_js: Path, live_server: Any, sandbox: Any, page: Page, stripe_down: Any, clean_cache: None, currency: str
) -> None:
    base = live_server.url
    seller = active_seller(sandbox, currency=currency)
    phone = on_a_phone(page, axe_js, "seller")
    log_in(page, base, seller.user.email)
    page.goto(base + "/sell/money/")
    form = page.get_by_test_id("schedule-form")
    form.get_by_label("How often Stripe pays you out").select_option("weekly")
    form.get_by_label("Day of the week (weekly payouts)").select_option("friday")

    cache.delete(f"payouts:schedule:{seller.stripe_account_id}")  # the 5 minutes it is kept ran out
    stripe_down(True)
    form.get_by_role("button", name="Save schedule").click()
    form = page.get_by_test_id("schedule-form")
    expect(form).to_contain_text(UNREACHABLE)
    expect(form.get_by_label("How often Stripe pays you out")).to_have_value("weekly")
    expect(form.get_by_label("Day of the week (weekly payouts)")).to_have_value("friday")
    phone.check()

    stripe_down(False)
    form.get_by_role("button", name="Save schedule").click()
    expect(page.locator(".messages")).to_contain_text(
        "Payout schedule saved. Stripe pays your available balance out every Friday."
    )
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
    schedule = account_retrieve(str(seller.stripe_account_id)).payout_schedule
    assert schedule is not None and (schedule.interval, schedule.weekly_anchor) == ("weekly", "friday")
