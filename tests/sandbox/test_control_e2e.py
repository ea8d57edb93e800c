"""A tester clicking through the control page in a real browser: each operation from its row, each result page
back to the control page, each effect seen through the SDK as the app would see it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import stripe
from playwright.sync_api import Locator, Page, expect

from stripe_sandbox import Sandbox

from .helpers import control, destination_session, onboarded_account

pytestmark = pytest.mark.e2e
DEADLINE = int(datetime(2031, 3, 1, 9, 30, tzinfo=UTC).timestamp())  # what "2031-03-01T09:30" (UTC) means


def _row(page: Page, object_id: str) -> Locator:
    return page.get_by_role("row").filter(has_text=object_id)


def _back(page: Page, sb: Sandbox) -> None:
    page.get_by_role("link", name="Back to the control page").click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/")


def test_click_through_every_control_form(
    page: Page, client: stripe.StripeClient, sb: Sandbox, page_is_usable: Callable[[], None]
) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 12_000, 1_200)
    control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000077")
    charge = client.v1.charges.list().data[0]
    page.goto(f"{sb.url}/_sandbox/")

    # The card network: a partial dispute, for a chosen reason.
    _row(page, charge.id).get_by_role("link", name=re.compile("^Open a dispute")).click()
    page_is_usable()
    page.get_by_label("Reason").select_option("product_unacceptable")
    page.get_by_label("Amount in the currency's minor unit").fill("4500")
    page.get_by_role("button", name="Open dispute").click()
    expect(page.get_by_role("heading", name="Dispute opened")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("$45.00 (product_unacceptable)")
    expect(page.get_by_role("listitem").filter(has_text="charge.dispute.funds_withdrawn")).to_be_visible()
    page_is_usable()
    dispute = client.v1.disputes.list().data[0]
    assert (dispute.charge, dispute.amount, dispute.reason) == (charge.id, 4_500, "product_unacceptable")
    _back(page, sb)

    # The bank decides the dispute.
    _row(page, dispute.id).get_by_role("button", name=re.compile("^Won")).click()
    expect(page.get_by_role("heading", name="Dispute won")).to_be_visible()
    assert client.v1.disputes.retrieve(dispute.id).status == "won"
    _back(page, sb)
    expect(_row(page, dispute.id).get_by_role("cell", name="won", exact=True)).to_be_visible()

    # Time: a midnight passes, the seller's available funds are paid out.
    page.get_by_label("Advance the clock by (seconds)").fill("86400")
    page.get_by_role("button", name="Advance clock").click()
    expect(page.get_by_role("heading", name="Clock advanced")).to_be_visible()
    _back(page, sb)
    page_is_usable()  # now with an account, a disputed charge, a won dispute and a payout listed
    payout = client.v1.payouts.list(options={"stripe_account": seller}).data[0]

    # The bank returns the payout.
    _row(page, payout.id).get_by_role("link", name=re.compile("^Fail")).click()
    page_is_usable()
    page.get_by_label("Failure code").select_option("account_frozen")
    page.get_by_role("button", name="Fail payout").click()
    expect(page.get_by_role("heading", name="Payout failed")).to_be_visible()
    failed = client.v1.payouts.retrieve(payout.id, options={"stripe_account": seller})
    assert (failed.status, failed.failure_code) == ("failed", "account_frozen")
    _back(page, sb)

    # The bank account is errored until the seller updates it; then the next midnight pays the returned money out
    # again, and this time the bank pays at once.
    _row(page, seller).get_by_role("button", name=re.compile("^Bank details updated")).click()
    expect(page.get_by_role("heading", name="Bank account updated")).to_be_visible()
    _back(page, sb)
    page.get_by_label("Advance the clock by (seconds)").fill("86400")
    page.get_by_role("button", name="Advance clock").click()
    _back(page, sb)
    again = client.v1.payouts.list(options={"stripe_account": seller}).data[0]
    assert again.id != payout.id and again.amount == payout.amount
    _row(page, again.id).get_by_role("button", name=re.compile("^Mark paid")).click()
    expect(page.get_by_role("heading", name="Payout paid")).to_be_visible()
    assert client.v1.payouts.retrieve(again.id, options={"stripe_account": seller}).status == "paid"
    _back(page, sb)

    # Stripe's verification: new requirements with a deadline, then past due.
    _row(page, seller).get_by_role("link", name=re.compile("^Change requirements")).click()
    page_is_usable()
    page.get_by_label("Currently due").fill("individual.verification.document")
    page.get_by_label("Eventually due").fill("individual.id_number")
    page.get_by_label("Deadline (UTC, sandbox time)").fill("2031-03-01T09:30")
    page.get_by_role("button", name="Save requirements").click()
    expect(page.get_by_role("heading", name="Requirements changed")).to_be_visible()
    req = client.v1.accounts.retrieve(seller).requirements
    assert req.currently_due == ["individual.verification.document"] and req.current_deadline == DEADLINE
    _back(page, sb)
    _row(page, seller).get_by_role("link", name=re.compile("^Change requirements")).click()
    expect(page.get_by_label("Deadline (UTC, sandbox time)")).to_have_value("2031-03-01T09:30")
    page.get_by_label("Past due").fill("individual.verification.document")
    page.get_by_label("Disabled reason").select_option("requirements.past_due")
    page.get_by_role("button", name="Save requirements").click()
    expect(page.get_by_role("status")).to_contain_text("charges and payouts disabled (requirements.past_due)")
    assert client.v1.accounts.retrieve(seller).charges_enabled is False
    _back(page, sb)
    expect(_row(page, seller).get_by_role("cell", name="requirements.past_due")).to_be_visible()
