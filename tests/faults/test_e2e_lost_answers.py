"""In Chromium at 375 px: the admin submits a dispute's evidence and Stripe's answer is lost (the
fault proxy swallows it); the page says so, keeps what was typed, and the same press again is
answered by Stripe's first submission (the same idempotency key), not refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from payments.disputes import ANSWER_LOST_SUBMISSION
from payments.models import Dispute, DisputeStatus
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import make_platform_admin
from tests.faults.conftest import PrivateSandbox
from tests.faults.test_lost_answers import at_stripe
from tests.payments.helpers import assert_ledger_equals_stripe, process
from tests.payments.test_disputes import disputed_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TYPED = "Signed for at the door on the 3rd."


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_lost_submission_answer_is_said_the_text_kept_and_the_same_press_again_is_answered(
    live_server: Any, browser: Browser, private_sandbox: PrivateSandbox, clean_cache: None, axe_js: Path, currency: str
) -> None:
    _, _, events = disputed_order(private_sandbox, currency)
    assert "failed" not in process(events)
    dispute = Dispute.objects.get()
    page = phone_signed_in(browser, axe_js, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/disputes/{dispute.pk}/")
    form = page.get_by_test_id("evidence-form")
    form.get_by_label("Anything else the bank should read").fill(TYPED)
    form.get_by_label("I have checked the evidence").check()

    private_sandbox.proxy.mode = "swallow"
    form.get_by_role("button", name="Submit evidence to the bank").click()
    expect(page.get_by_text(ANSWER_LOST_SUBMISSION)).to_be_visible()
    form = page.get_by_test_id("evidence-form")
    expect(form.get_by_label("Anything else the bank should read")).to_have_value(TYPED)
    fits_a_phone_and_passes_axe(page)

    private_sandbox.proxy.mode = "forward"
    form.get_by_label("I have checked the evidence").check()
    form.get_by_role("button", name="Submit evidence to the bank").click()
    expect(page.get_by_text("Evidence submitted to the bank.")).to_be_visible()
    expect(page.get_by_test_id("evidence-sent")).to_contain_text(TYPED)
    fits_a_phone_and_passes_axe(page)
    remote = at_stripe(private_sandbox, f"disputes/{dispute.stripe_id}")
    assert (remote["status"], remote["evidence_details"]["submission_count"]) == ("under_review", 1)
    assert Dispute.objects.get().status == DisputeStatus.UNDER_REVIEW
    assert_ledger_equals_stripe()
    page.context.close()
