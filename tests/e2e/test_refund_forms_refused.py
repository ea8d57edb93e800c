"""On a phone, every refund form refused for one of its boxes says why beside that box, which comes
back focused, marked invalid and described by the sentence, with what was typed kept; before, the
sentence was flashed at the top of the page, out of sight at 375 px, the cursor nowhere (the console's
"Refund an order": tests/e2e/test_console_refund_refused.py; the site's other forms:
tests/e2e/test_form_errors_focus.py). One test per face: the console's overdue request (approve,
decline) and subscription payment forms; the seller's (a request's approval and decline, their own
refund of an order); the seller's subscription payment refund; the buyer's refund request. Each page
fits 375 px and passes axe-core; USD and JPY, the sandbox over HTTP; the form then typed right goes
through, and the ledger equals Stripe."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from marketplace.money import format_money
from orders.models import RefundRequest, RefundRequestStatus
from payments.models import Refund
from subscriptions.models import SubscriptionInvoice
from tests.e2e.browser import Phone, log_in, on_a_phone
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import default_fees, wait_until  # noqa: F401 - default_fees: autouse
from tests.orders.test_refunds import _client, _paid_two_lines, _post
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.subscriptions.test_subscriptions import seller_with_plan, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ABOVE_THE_ORDER = {"usd": "100.01", "jpy": "10001"}  # the order is 10000 minor units
WHOLE = {"usd": "$100.00", "jpy": "¥10,000"}  # what the request asks (the whole order), shown for a blank amount
PART = {"usd": "25.00", "jpy": "2500"}
PRICE = {"usd": 2_999, "jpy": 3_333}  # the subscription's payment
EXAMPLE = {"usd": "12.50", "jpy": "1250"}


def _major(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f}" if currency == "usd" else str(minor)


def _said_beside(page: Page, phone: Phone, box: Locator, said: str, *, status: int = 200) -> None:
    """The refused form as drawn again: `box` focused, in sight, marked invalid and described by
    `said`, the sentence said once and no other box marked; the page fits a phone and passes axe."""
    expect(box).to_be_focused()
    expect(box).to_be_in_viewport()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(said)
    expect(page.get_by_text(said, exact=True)).to_have_count(1)
    expect(page.get_by_text(said, exact=True)).to_be_visible()
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)
    phone.check(status=status)


def _sent(page: Page, button: Locator, url_end: str, status: int) -> None:
    with page.expect_response(lambda r: r.url.endswith(url_end) and r.request.method == "POST") as answer:
        button.click()
    assert answer.value.status == status


def _paid_subscription(sandbox: Any, currency: str) -> tuple[Any, SubscriptionInvoice]:
    seller, listing = seller_with_plan(sandbox, currency, PRICE[currency], 1_000)
    sub = subscribe(sandbox, UserFactory(), listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    return seller, SubscriptionInvoice.objects.get(subscription=sub, payment__isnull=False)


def _ledger_settled(sandbox: Any) -> None:
    assert sandbox.wait_for_webhooks(15)
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_consoles_request_and_subscription_refund_forms_say_a_refusal_beside_its_box(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox_webhooks, currency)
    assert _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    RefundRequest.objects.update(created_at=timezone.now() - timedelta(days=5))  # no seller answered
    _, invoice = _paid_subscription(sandbox_webhooks, currency)
    phone = on_a_phone(page, axe_js, "admin")
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/refunds/")
    request = RefundRequest.objects.get()
    amount = page.get_by_role("textbox", name=f"Amount for order {order.pk} (blank: {WHOLE[currency]})", exact=True)
    note = page.get_by_role("textbox", name=f"Note to the buyer of order {order.pk}", exact=True)
    approve = page.get_by_role("button", name=f"Approve and refund order {order.pk}", exact=True)
    decline_reason = page.get_by_role("textbox", name=f"Reason for declining order {order.pk}", exact=True)

    # More than the buyer asked: beside the approval's amount, the note kept.
    amount.fill(ABOVE_THE_ORDER[currency])
    note.fill("Sorry about the vase")
    _sent(page, approve, f"/console/refunds/{request.pk}/approve/", 422)
    _said_beside(
        page, phone, amount, f"At most the {format_money(10_000, currency)} asked for can be approved.", status=422
    )
    expect(amount).to_have_value(ABOVE_THE_ORDER[currency])
    expect(note).to_have_value("Sorry about the vase")

    # Blanks pass the browser's `required`, not ours: beside the reason for declining.
    decline_reason.fill("   ")
    _sent(page, page.get_by_role("button", name=f"Decline order {order.pk}"), f"/{request.pk}/decline/", 422)
    _said_beside(page, phone, decline_reason, "Say why you decline: the buyer reads it.", status=422)

    form = page.get_by_test_id("admin-sub-refund-form")
    stripe_id = form.get_by_label("Stripe invoice, charge or payment id (in_…, ch_…, pi_…)")
    sub_amount = form.get_by_label("Amount (blank: everything left)")
    refund_payment = form.get_by_role("button", name="Refund the payment")
    stripe_id.fill("in_nothing_like_it")
    sub_amount.fill(PART[currency])
    _sent(page, refund_payment, "/console/refunds/subscription/", 422)
    said = "No paid subscription payment has that Stripe id (in_…, ch_… or pi_…)."
    _said_beside(page, phone, stripe_id, said, status=422)
    expect(sub_amount).to_have_value(PART[currency])

    stripe_id.fill(invoice.stripe_invoice_id)
    sub_amount.fill(_major(PRICE[currency] + 1, currency))
    _sent(page, refund_payment, "/console/refunds/subscription/", 422)
    left, above = format_money(PRICE[currency], currency), format_money(PRICE[currency] + 1, currency)
    _said_beside(page, phone, sub_amount, f"At most {left} can still be refunded ({above} was asked).", status=422)
    expect(stripe_id).to_have_value(invoice.stripe_invoice_id)
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not Refund.objects.exists()

    # Corrected, each form goes through.
    amount.fill(PART[currency])
    approve.click()
    part = format_money(2_500, currency)
    expect(page.locator(".messages")).to_contain_text(f"Approved: {part} refunded to the buyer.")
    stripe_id.fill(invoice.stripe_invoice_id)  # the page after a success draws the forms empty
    sub_amount.fill(_major(1_000, currency))
    refund_payment.click()
    expect(page.locator(".messages")).to_contain_text(f"{format_money(1_000, currency)} refunded to the buyer.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [1_000, 2_500]
    assert RefundRequest.objects.get().status == RefundRequestStatus.APPROVED
    _ledger_settled(sandbox_webhooks)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_request_and_order_refund_forms_say_a_refusal_beside_its_box(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox_webhooks, currency)
    assert _post(_client(order.buyer), f"/api/v1/orders/{order.pk}/refund-requests", {"reason": "damaged"})
    phone = on_a_phone(page, axe_js, "seller")
    log_in(page, live_server.url, order.seller.user.email)

    # The request's approval and decline, on "Refund requests".
    page.goto(f"{live_server.url}/sell/refunds/")
    asked = page.get_by_label(f"Amount to refund (blank: {format_money(10_000, currency)})")
    note = page.get_by_label("Note to the buyer (optional)")
    asked.fill(ABOVE_THE_ORDER[currency])
    note.fill("Sorry about the vase")
    page.get_by_role("button", name="Approve and refund").click()
    _said_beside(page, phone, asked, f"At most the {format_money(10_000, currency)} asked for can be approved.")
    expect(asked).to_have_value(ABOVE_THE_ORDER[currency])
    expect(note).to_have_value("Sorry about the vase")
    decline_reason = page.get_by_label("Reason for declining")
    decline_reason.fill("   ")
    page.get_by_role("button", name="Decline").click()
    _said_beside(page, phone, decline_reason, "Say why you decline: the buyer reads it.")

    # The seller's own refund, on the order's page.
    page.goto(f"{live_server.url}/sell/orders/{order.pk}/")
    form = page.get_by_test_id("seller-refund-form")
    amount = form.get_by_label("Amount (blank: the items chosen, or everything left)")
    reason = form.get_by_label("Reason (the buyer reads it)")
    restock = form.get_by_label("Put the refunded units back on stock")
    refund = form.get_by_role("button", name="Refund", exact=True)

    amount.fill(ABOVE_THE_ORDER[currency])
    reason.fill("Out of stock")
    refund.click()
    left, above = format_money(10_000, currency), format_money(10_001, currency)
    _said_beside(page, phone, amount, f"At most {left} can still be refunded ({above} was asked).")
    expect(reason).to_have_value("Out of stock")

    amount.fill(PART[currency])
    restock.check()
    refund.click()
    said = "Choose the units to put back on stock, or untick it: this refund names no items."
    _said_beside(page, phone, restock, said)
    expect(amount).to_have_value(PART[currency])
    expect(restock).to_be_checked()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not Refund.objects.exists()

    restock.uncheck()
    refund.click()
    expect(page.locator(".messages")).to_contain_text(f"{format_money(2_500, currency)} refunded to the buyer.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)

    page.goto(f"{live_server.url}/sell/refunds/")
    # Blank now refunds what is left of the order, less than asked: the box says so.
    asked = page.get_by_label(f"Amount to refund (blank: {format_money(7_500, currency)})")
    asked.fill(_major(1_000, currency))
    page.get_by_role("button", name="Approve and refund").click()
    expect(page.locator(".messages")).to_contain_text(f"Approved: {format_money(1_000, currency)} refunded")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [1_000, 2_500]
    _ledger_settled(sandbox_webhooks)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_sellers_subscription_payment_refund_says_a_refusal_beside_its_box(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    seller, invoice = _paid_subscription(sandbox_webhooks, currency)
    phone = on_a_phone(page, axe_js, "seller")
    log_in(page, live_server.url, seller.user.email)
    page.goto(f"{live_server.url}/sell/subscriptions/payments/{invoice.pk}/")
    form = page.get_by_test_id("sub-refund-form")
    amount = form.get_by_label("Amount (blank: everything left)")
    reason = form.get_by_label("Reason (the subscriber reads it)")
    refund = form.get_by_role("button", name="Refund", exact=True)

    amount.fill(_major(PRICE[currency] + 1, currency))
    reason.fill("The box came late")
    refund.click()
    left, above = format_money(PRICE[currency], currency), format_money(PRICE[currency] + 1, currency)
    _said_beside(page, phone, amount, f"At most {left} can still be refunded ({above} was asked).")
    expect(reason).to_have_value("The box came late")

    amount.fill("abc")
    refund.click()
    _said_beside(page, phone, amount, f"Enter an amount such as {EXAMPLE[currency]}.")
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not Refund.objects.exists()

    amount.fill(_major(1_000, currency))
    refund.click()
    expect(page.locator(".messages")).to_contain_text(f"{format_money(1_000, currency)} refunded to the buyer.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    assert list(Refund.objects.values_list("amount", flat=True)) == [1_000]
    _ledger_settled(sandbox_webhooks)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_buyers_refund_request_says_a_refusal_beside_its_box(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, axe_js: Path, currency: str
) -> None:
    order, _, _ = _paid_two_lines(sandbox_webhooks, currency)
    phone = on_a_phone(page, axe_js, "buyer")
    log_in(page, live_server.url, order.buyer.email)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    form = page.get_by_test_id("refund-request-form")
    note = form.get_by_label("What happened (needed for “Other”)")
    some_items = form.get_by_label("Some items:")
    ask = form.get_by_role("button", name="Ask for a refund")

    form.get_by_label("Reason").select_option("Other")
    ask.click()
    _said_beside(page, phone, note, "Tell the seller what went wrong.")
    expect(form.get_by_label("Reason")).to_have_value("other")

    note.fill("The glaze is cracked")
    some_items.check()
    ask.click()
    _said_beside(page, phone, some_items, "Choose how many of which item, or ask for the whole order.")
    expect(note).to_have_value("The glaze is cracked")
    expect(some_items).to_be_checked()
    assert [str(c) for c in phone.checks if not c.ok] == []
    assert not RefundRequest.objects.exists()

    form.get_by_label("Mug (", exact=False).fill("1")
    ask.click()
    expect(page.locator(".messages")).to_contain_text("Your refund request is with the seller.")
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    assert RefundRequest.objects.get().amount == 3_000
    _ledger_settled(sandbox_webhooks)
