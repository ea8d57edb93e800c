"""On a 375 px phone the console's revenue tables (eleven columns, in a box that scrolls sideways) broke
their amounts across lines: "¥38,80" over "0". An amount in those tables now stays on one line and the box
scrolls instead; the page stays 375 px wide. Chromium, the live server and the sandbox, USD and JPY."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.orders.conftest import active_seller
from tests.payouts.helpers import paid_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each table cell of the scrolling boxes with the number of lines its text takes (a line box per top).
LINES_PER_CELL = """() => [...document.querySelectorAll('.scroll td')].map(td => {
  const range = document.createRange(); range.selectNodeContents(td);
  return [td.textContent.trim(), new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
})"""


def test_the_revenue_tables_keep_each_amount_on_one_line_on_a_phone(
    axe_js: Path, live_server: Any, page: Page, sandbox: Any, clean_cache: None
) -> None:
    for currency, amount in (("usd", 3_880_000), ("jpy", 3_880_000)):
        paid_order(sandbox, active_seller(sandbox, currency=currency), amount)
    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/revenue/")
    expect(page.get_by_text("¥3,880,000").first).to_be_visible()
    cells = page.evaluate(LINES_PER_CELL)
    assert any(text == "$38,800.00" for text, _ in cells) and any(text == "¥3,880,000" for text, _ in cells)
    assert [(text, lines) for text, lines in cells if lines != 1] == []
    phone.check()
    assert [str(c) for c in phone.checks if not c.ok] == []
