"""In Chromium: a statement the text area lets the seller write, line breaks and all, up to its
`maxlength` as the browser counts it, is saved (the browser submits each line break as CRLF)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from payments.disputes import EVIDENCE_TEXT_MAX
from payments.models import Dispute
from tests.e2e.browser import log_in
from tests.payments.helpers import process
from tests.payments.test_disputes import disputed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_statement_at_the_text_areas_limit_with_line_breaks_is_saved(
    live_server: Any, sandbox: Any, page: Page, clean_cache: None
) -> None:
    seller, _, events = disputed_order(sandbox, "jpy")
    assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/disputes/{dispute.pk}/")
    typed = ("Delivered on the 3rd, signed by the buyer." + "." * 57 + "\n") * (EVIDENCE_TEXT_MAX // 100)
    statement = page.get_by_role("textbox", name="Your account, for the bank")
    statement.fill(typed)
    # The browser's own count: at the limit, not over it, so it lets the form go.
    assert statement.evaluate("t => [t.value.length, t.maxLength, t.validity.tooLong]") == [
        EVIDENCE_TEXT_MAX,
        EVIDENCE_TEXT_MAX,
        False,
    ]
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. The platform's team reads it before sending the evidence.")).to_be_visible()
    dispute.refresh_from_db()
    assert dispute.seller_statement == typed.strip()
    expect(statement).to_have_value(typed.strip())
