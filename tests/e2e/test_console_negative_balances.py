"""An admin on a 375 px phone sees, under "Sellers with a negative balance or debts", a seller whose
available balance at Stripe went below zero after a lost dispute while the sale's pending funds kept
the total positive (the console said "No seller owes anything"), with the amount the seller's Money
page shows, and follows it to the seller. Chromium, the live server and the sandbox, USD and JPY."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from marketplace.money import format_money
from payments.health import NEGATIVE_SHOWN
from tests.e2e.browser import log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.payments.test_revenue import _owing_seller, below_zero, seller_after_a_lost_dispute

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
def test_with_redis_down_an_admin_still_finds_the_seller_who_owes(
    axe_js: Path,
    live_server: Any,
    page: Page,
    sandbox: Any,
    clean_cache: None,
    redis_down: Any,
    currency: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The figures were kept in Redis, and the page could only say they could not be listed while it
    was down; they are in Postgres now."""
    _, available = seller_after_a_lost_dispute(sandbox, currency, "Owing Pottery", django_capture_on_commit_callbacks)
    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)

    redis_down(True)
    page.goto(f"{live_server.url}/console/revenue/")
    listed = page.get_by_test_id("negative-balances").get_by_role("listitem")
    expect(listed).to_have_text(f"Owing Pottery: {format_money(available, currency)} available")
    expect(page.get_by_text("No seller owes anything")).to_have_count(0)
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert_ledger_equals_stripe()


def test_an_admin_follows_and_n_more_to_the_paged_list_of_every_seller_below_zero_on_a_phone(
    axe_js: Path, live_server: Any, page: Page, clean_cache: None
) -> None:
    """Many sellers below zero: the revenue page lists the first few and links to the others, paged,
    the least negative last (in JPY, then USD)."""
    for i in range(NEGATIVE_SHOWN + 2):
        currency = "jpy" if i % 2 else "usd"
        below_zero(_owing_seller(f"Below {i:02}", currency), currency, -1_000 - i)
    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/revenue/")
    expect(page.get_by_test_id("negative-balances").get_by_role("listitem")).to_have_count(NEGATIVE_SHOWN)
    phone.check()
    page.get_by_role("link", name="2 more sellers with a negative balance").click()
    expect(page).to_have_url(f"{live_server.url}/console/negative-balances/")
    listed = page.get_by_test_id("negative-balances").get_by_role("listitem")
    expect(listed).to_have_count(NEGATIVE_SHOWN + 2)
    expect(listed.first).to_have_text("Below 11: -¥1,011 available")
    expect(listed.last).to_have_text("Below 00: -$10.00 available")
    phone.check()
    listed.last.get_by_role("link", name="Below 00").click()
    expect(page).to_have_url(re.compile(r"/console/sellers/\d+/$"))
    assert [str(c) for c in phone.checks if not c.ok] == []
