"""On a phone, the console's "Refund an order" form refused (an amount above what is left of the order,
"abc", an order number that is no order's): the page answers 422 at once, and the form comes back as it
was sent (the order number, the amount, the reason, "take it back from the seller" unticked as the admin
left it), nothing refunded. The sentence is said once, beside the box to correct, which is focused,
marked invalid and described by it: the form is the last of a long page, and at 375 px the sentence
flashed at the top was out of sight and the cursor at the top of the page (tests/e2e/
test_form_errors_focus.py: the site's other refused forms). The page fits 375 px and passes axe-core.
USD and JPY, the sandbox over HTTP; the amount then typed right refunds, and the ledger equals Stripe;
once the rest is refunded, an amount sent again is told the order was refunded already, beside its number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from marketplace.money import format_money
from payments.models import Refund
from tests.e2e.browser import Phone, log_in, on_a_phone
from tests.factories import make_platform_admin
from tests.orders.test_refunds import _paid_two_lines
from tests.payments.helpers import assert_ledger_equals_stripe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AMOUNT = "Amount (blank: everything left)"
FROM_SELLER = "Take it back from the seller (untick: the platform pays)"
ABOVE_WHAT_IS_LEFT = {"usd": "100.01", "jpy": "10001"}  # the order is 10000 minor units
PART = {"usd": "25.00", "jpy": "2500"}
EXAMPLE = {"usd": "12.50", "jpy": "1250"}


def _refused(page: Page, phone: Phone, form: Locator, order_id: str, amount: str, said: str, wrong: str) -> None:
    """Send the form as typed; it comes back 422 as sent, the box `wrong` focused and described by `said`."""
    form.get_by_label("Order number").fill(order_id)
    form.get_by_label(AMOUNT).fill(amount)
    form.get_by_label("Reason (the buyer reads it)").fill("Goodwill")
    form.get_by_label(FROM_SELLER).uncheck()
    with page.expect_response(lambda r: r.url.endswith("/console/refunds/order/")) as answer:
        form.get_by_role("button", name="Refund", exact=True).click()
    assert answer.value.status == 422
    expect(form.get_by_label("Order number")).to_have_value(order_id)
    expect(form.get_by_label(AMOUNT)).to_have_value(amount)
    expect(form.get_by_label("Reason (the buyer reads it)")).to_have_value("Goodwill")
    expect(form.get_by_label(FROM_SELLER)).not_to_be_checked()
    box = form.get_by_label(wrong)
    expect(box).to_be_focused()
    expect(box).to_be_in_viewport()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(said)
    expect(page.get_by_text(said, exact=True)).to_have_count(1)  # said once, beside its box
    expect(page.get_by_text(said, exact=True)).to_be_visible()
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)
    phone.check(status=422)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refused_refund_answers_422_saying_why_beside_the_box_to_correct_with_the_form_as_typed(
    live_server: Any, page: Page, sandbox: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox, currency)
    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/refunds/")
    form = page.get_by_test_id("admin-refund-form")
    number = str(order.pk)
    left, above = format_money(10_000, currency), format_money(10_001, currency)

    _refused(
        page,
        phone,
        form,
        number,
        ABOVE_WHAT_IS_LEFT[currency],
        f"At most {left} can still be refunded ({above} was asked).",
        AMOUNT,
    )
    _refused(page, phone, form, number, "abc", f"Enter an amount such as {EXAMPLE[currency]}.", AMOUNT)
    _refused(page, phone, form, "999999", PART[currency], "No order has that number.", "Order number")
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not Refund.objects.exists()

    # Corrected, the same form refunds what was typed, paid by the platform as left unticked.
    form.get_by_label("Order number").fill(number)
    form.get_by_role("button", name="Refund", exact=True).click()
    part = format_money(2_500, currency)
    expect(page.locator(".messages")).to_contain_text(f"Order {order.pk}: {part} refunded to the buyer.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    expect(form.get_by_label(AMOUNT)).to_have_value("")
    refund = Refund.objects.get()
    assert (refund.amount, refund.reverse_transfer) == (2_500, False)
    assert_ledger_equals_stripe()

    # The rest refunded, the form sent again with an amount (a stale form, Back and resubmit) says the
    # order was refunded already, beside its number: it said "At most $0.00 can still be refunded".
    form.get_by_label("Order number").fill(number)
    form.get_by_label(FROM_SELLER).uncheck()
    form.get_by_role("button", name="Refund", exact=True).click()
    rest = format_money(7_500, currency)
    expect(page.locator(".messages")).to_contain_text(f"Order {order.pk}: {rest} refunded to the buyer.")
    _refused(
        page, phone, form, number, PART[currency], "Everything in this order has been refunded already.", "Order number"
    )
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert Refund.objects.count() == 2
    assert_ledger_equals_stripe()
