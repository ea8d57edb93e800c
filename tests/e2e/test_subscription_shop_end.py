"""The seller ends a subscriber's subscription at its period end on a phone, undoes it and ends it
again; a double-tapped button is one change at Stripe and one email; the buyer's "Your subscriptions"
says the shop ended it and when. Each page fits 375 px and passes axe-core. Through the sandbox over
HTTP, its webhooks delivered to the live server, in US dollars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Browser, expect

from subscriptions.models import Subscription, SubscriptionInvoice
from tests.e2e.browser import phone_signed_in
from tests.e2e.test_refund_flow import fits_a_phone_and_passes_axe
from tests.factories import UserFactory
from tests.orders.conftest import wait_until
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for
from tests.subscriptions.conftest import default_fees  # noqa: F401 - autouse
from tests.subscriptions.test_subscriptions import seller_with_plan, subscribe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_seller_ends_and_undoes_a_subscription_on_a_phone_and_the_buyer_reads_it(
    live_server: Any, browser: Browser, sandbox_webhooks: Any, clean_cache: None, axe_js: Path
) -> None:
    seller, listing = seller_with_plan(sandbox_webhooks, "usd", 2_999, 1_000)
    buyer = UserFactory()
    sub = subscribe(sandbox_webhooks, buyer, listing)
    assert wait_until(lambda: SubscriptionInvoice.objects.filter(subscription=sub, payment__isnull=False).exists())
    assert sub.current_period_end is not None
    date = f"{sub.current_period_end:%-d %b %Y}"

    page = phone_signed_in(browser, axe_js, live_server.url, seller.user.email)
    page.goto(live_server.url + "/sell/subscriptions/")
    page.get_by_text("End at period end").click()
    expect(page.get_by_test_id("subscriber-end-details")).to_contain_text(
        f"They keep the period they paid for until {date}, when it ends: no refund"
    )
    fits_a_phone_and_passes_axe(page)
    page.get_by_test_id("subscriber-end-confirm").dblclick()
    expect(page.get_by_text("nothing is refunded and no further payment is taken").first).to_be_visible()
    expect(page.get_by_test_id("subscriber-status")).to_have_text(f"Active: Ends on {date} (ended by you)")
    fits_a_phone_and_passes_axe(page)

    page.get_by_test_id("subscriber-keep").click()
    expect(page.get_by_text(f"goes on: its next payment is on {date}").first).to_be_visible()
    expect(page.get_by_test_id("subscriber-status")).to_have_text("Active")
    fits_a_phone_and_passes_axe(page)
    page.get_by_text("End at period end").click()
    page.get_by_test_id("subscriber-end-confirm").click()
    expect(page.get_by_test_id("subscriber-status")).to_have_text(f"Active: Ends on {date} (ended by you)")
    page.context.close()

    remote = client_for(sandbox_webhooks).v1.subscriptions.retrieve(sub.stripe_subscription_id)
    assert remote.cancel_at_period_end
    assert Subscription.objects.get(pk=sub.pk).shop_changes == 3  # end (tapped twice), keep, end
    subjects = [m.subject for m in mail.outbox if buyer.email in m.to and "subscription to Coffee box" in m.subject]
    assert len(subjects) == 3, subjects  # the shop's end, its undo, its end again (not the start's confirmation)

    page = phone_signed_in(browser, axe_js, live_server.url, buyer.email)
    page.goto(live_server.url + "/account/subscriptions/")
    expect(page.get_by_test_id("subscription-status")).to_have_text(f"Active. Ends on {date}: ended by the shop")
    expect(page.get_by_test_id("subscription-next")).to_contain_text(f"None: ends on {date}")
    fits_a_phone_and_passes_axe(page)
    page.context.close()
    assert sandbox_webhooks.wait_for_webhooks(15)
    assert_ledger_equals_stripe()
