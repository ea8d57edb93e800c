"""On a phone, a refund form's note longer than its field, and units of one item refused, are said
beside their box, which comes back focused, marked invalid and described by the sentence, with what
was typed kept. Before, the end of a note sent past the browser's `maxlength` was cut off without a
word, and units refused were flashed at the top of the page, out of sight at 375 px. The browser's
limits (`maxlength`, `max`) are taken off in the page, as a post made without them (or a browser that
counts otherwise) would be. A line break counts one character, as the text area counts it, though
the browser sends it as two. USD and JPY, the sandbox over HTTP; each page passes axe-core at 375 px;
the form then typed right goes through, and the ledger equals Stripe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from marketplace.money import format_money
from orders.models import RefundRequest
from payments.models import Refund
from tests.e2e.browser import log_in, on_a_phone
from tests.e2e.test_refund_forms_refused import _ledger_settled, _said_beside
from tests.orders.conftest import default_fees  # noqa: F401 - autouse
from tests.orders.test_refunds import _paid_two_lines

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _without(page: Page, box_id: str, attribute: str) -> None:
    page.evaluate("([id, name]) => document.getElementById(id).removeAttribute(name)", [box_id, attribute])


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_buyers_note_too_long_and_units_refused_are_said_beside_their_boxes(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox_webhooks, currency)
    vase = order.lines.get(title="Vase")
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, live_server.url, order.buyer.email)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    form = page.get_by_test_id("refund-request-form")
    note = form.get_by_label("What happened (needed for “Other”)")
    ask = form.get_by_role("button", name="Ask for a refund")
    form.get_by_label("Reason").select_option("Other")

    # 526 characters as the text area counts them, 10 of them line breaks (536 as the browser sends them).
    typed = ("The glaze is cracked along the rim of the mug." + " " * 5 + "\n") * 10 + "Sorry."
    assert len(typed) == 526
    _without(page, "refund-note", "maxlength")
    note.fill(typed)
    ask.click()
    _said_beside(page, phone, note, "The note can be at most 500 characters long; this one has 526.")
    expect(note).to_have_value(typed)
    expect(form.get_by_label("Reason")).to_have_value("other")
    assert not RefundRequest.objects.exists()

    # Shortened to what the browser allows, line breaks and all; one vase more than was bought.
    shortened = typed[:500]
    note.fill(shortened)
    form.get_by_label("Some items:").check()
    vase_box = form.get_by_label("Vase (", exact=False)
    _without(page, f"qty-{vase.pk}", "max")
    vase_box.fill("2")
    ask.click()
    _said_beside(page, phone, vase_box, "At most 1 of “Vase” can be refunded (asked: 2).")
    expect(vase_box).to_have_value("2")
    expect(note).to_have_value(shortened)
    expect(form.get_by_label("Some items:")).to_be_checked()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not RefundRequest.objects.exists()

    vase_box.fill("1")
    ask.click()
    expect(page.locator(".messages")).to_contain_text("Your refund request is with the seller.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    asked = RefundRequest.objects.get()
    assert (asked.amount, asked.note) == (4_000, shortened.strip())
    _ledger_settled(sandbox_webhooks)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_units_refused_and_reason_too_long_are_said_beside_their_boxes(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox_webhooks, currency)
    mug = order.lines.get(title="Mug")
    phone = on_a_phone(page, axe_js, "seller")
    log_in(page, live_server.url, order.seller.user.email)
    page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
    form = page.get_by_test_id("seller-refund-form")
    mugs = form.get_by_label("Mug: units to refund (up to 2)")
    reason = form.get_by_label("Reason (the buyer reads it)")
    refund = form.get_by_role("button", name="Refund", exact=True)

    _without(page, f"sqty-{mug.pk}", "max")
    mugs.fill("3")
    reason.fill("Out of stock")
    refund.click()
    _said_beside(page, phone, mugs, "At most 2 of “Mug” can be refunded (asked: 3).")
    expect(mugs).to_have_value("3")
    expect(reason).to_have_value("Out of stock")

    mugs.fill("1")
    _without(page, "refund-reason", "maxlength")
    reason.fill("Out of stock. " * 25)  # 349 characters once its last space is stripped
    refund.click()
    _said_beside(page, phone, reason, "The reason can be at most 300 characters long; this one has 349.")
    expect(reason).to_have_value("Out of stock. " * 25)
    expect(mugs).to_have_value("1")
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not Refund.objects.exists()

    reason.fill("Out of stock")
    refund.click()
    expect(page.locator(".messages")).to_contain_text(f"{format_money(3_000, currency)} refunded to the buyer.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    assert list(Refund.objects.values_list("amount", "reason")) == [(3_000, "Out of stock")]
    _ledger_settled(sandbox_webhooks)
