"""An admin on a 375 px phone sees, under "Sellers with a negative balance or debts", a seller whose
available balance at Stripe went below zero after a lost dispute while the sale's pending funds kept
the total positive (the console said "No seller owes anything"), with the amount the seller's Money
page shows, and follows it to the seller. Chromium, the live server and the sandbox, USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from marketplace.money import format_money
from payments.health import UNLISTED_BALANCES
from tests.e2e.browser import log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payments.test_revenue import seller_after_a_lost_dispute

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_an_admin_finds_a_seller_whose_available_balance_is_negative_on_a_phone(
    axe_js: Path,
    live_server: Any,
    page: Page,
    sandbox: Any,
    clean_cache: None,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seller, available = seller_after_a_lost_dispute(
        sandbox, currency, "Owing Pottery", django_capture_on_commit_callbacks
    )
    assert_ledger_equals_stripe()

    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/revenue/")
    listed = page.get_by_test_id("negative-balances").get_by_role("listitem")
    expect(listed).to_have_text(f"Owing Pottery: {format_money(available, currency)} available")
    expect(page.get_by_text("No seller owes anything")).to_have_count(0)
    phone.check()
    listed.get_by_role("link", name="Owing Pottery").click()
    expect(page).to_have_url(f"{live_server.url}/console/sellers/{seller.pk}/")
    assert [str(c) for c in phone.checks if not c.ok] == []


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_with_redis_down_an_admin_reads_that_balances_cannot_be_listed_not_that_nobody_owes(
    axe_js: Path,
    live_server: Any,
    page: Page,
    sandbox: Any,
    clean_cache: None,
    redis_down: Any,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    seller_after_a_lost_dispute(sandbox, currency, "Owing Pottery", django_capture_on_commit_callbacks)
    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)

    redis_down(True)
    page.goto(f"{live_server.url}/console/revenue/")
    expect(page.get_by_test_id("balances-unlisted")).to_have_text(UNLISTED_BALANCES)
    expect(page.get_by_text("No seller owes anything")).to_have_count(0)
    phone.check()

    redis_down(False)
    page.reload()
    expect(page.get_by_test_id("negative-balances").get_by_role("listitem")).to_contain_text("Owing Pottery")
    expect(page.get_by_test_id("balances-unlisted")).to_have_count(0)
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert_ledger_equals_stripe()
