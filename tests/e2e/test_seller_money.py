"""The seller's money in Chromium, with the sandbox delivering its webhooks to the live server: a
payout goes from in transit to paid as the sandbox clock advances, and opened it shows the order
it paid; a failed payout's sentence and the banner on the seller home; the earnings chart shows
the right totals (USD and JPY)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from marketplace.money import format_money
from orders import services as order_services
from orders.models import Order, OrderStatus
from payouts.models import Payout
from tests.e2e.browser import log_in
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DAY = 86400


def _sale(sandbox: Any, seller: Any, price: int) -> Order:
    buyer = UserFactory()
    listing = listing_of(seller, price=price)
    order = order_services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=seller.default_currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id), card="4000000000000077")  # funds available at once
    assert wait_until(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID, timeout=30)
    return order


def _advance(sandbox: Any, seconds: int) -> None:
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=30).raise_for_status()
    assert sandbox.wait_for_webhooks(timeout=30)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payout_goes_from_in_transit_to_paid_and_shows_its_order(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, currency: str
) -> None:
    sandbox = sandbox_webhooks
    seller = active_seller(sandbox, currency=currency)
    order = _sale(sandbox, seller, 10_000)
    net = order.seller_net  # the sale less the platform's fee: what Stripe pays out
    shown = format_money(net, currency)
    log_in(page, live_server.url, seller.user.email)

    page.get_by_role("link", name="Money").click()
    chart = page.get_by_test_id("earnings-chart")
    expect(chart).to_have_attribute("data-total", str(net))
    bars = page.locator(f"#earnings-{currency} rect.bar")
    expect(bars).to_have_count(12)
    assert sum(int(b.get_attribute("data-amount") or 0) for b in bars.all()) == net

    _advance(sandbox, DAY)  # midnight: Stripe pays the balance out
    assert wait_until(lambda: Payout.objects.filter(status="in_transit").exists(), timeout=30)
    page.reload()
    expect(page.get_by_test_id("payout-status").first).to_have_text("In transit")

    _advance(sandbox, DAY)  # the next midnight: it arrived
    assert wait_until(lambda: Payout.objects.filter(status="paid", reconciliation_status="completed").exists(), 30)
    page.reload()
    expect(page.get_by_test_id("payout-status").first).to_have_text("Paid")
    page.get_by_test_id("payout-row").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Payout of {shown}")
    line = page.get_by_test_id("payout-line")
    expect(line).to_have_count(1)
    line.get_by_role("link", name=f"Order {order.pk}").click()
    expect(page).to_have_url(re.compile(rf"/sell/orders/{order.pk}/$"))


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_failed_payout_shows_its_sentence_and_a_banner_until_the_next_is_paid(
    live_server: Any, page: Page, sandbox_webhooks: Any, clean_cache: None, currency: str
) -> None:
    sandbox = sandbox_webhooks
    seller = active_seller(sandbox, currency=currency)
    order = _sale(sandbox, seller, 10_000)
    _advance(sandbox, DAY)
    assert wait_until(lambda: Payout.objects.exists(), timeout=30)
    payout = Payout.objects.get()
    requests.post(
        f"{sandbox.url}/_sandbox/payouts/{payout.stripe_id}/fail", json={"failure_code": "account_closed"}, timeout=30
    ).raise_for_status()
    assert sandbox.wait_for_webhooks(timeout=30)
    assert wait_until(lambda: Payout.objects.get(pk=payout.pk).status == "failed", timeout=30)

    log_in(page, live_server.url, seller.user.email)
    page.get_by_role("link", name="Sell", exact=True).click()
    banner = page.get_by_test_id("payout-failed-banner")
    expect(banner).to_contain_text(
        f"Your payout of {format_money(order.seller_net, currency)} failed: your bank account has been closed."
    )
    expect(banner.get_by_role("button", name="Open your Stripe Express dashboard")).to_be_visible()
    banner.get_by_role("link", name="See the payout").click()
    expect(page.get_by_test_id("payout-status")).to_have_text("Failed")
    expect(page.get_by_test_id("payout-failure")).to_contain_text("Update your bank account in your Stripe Express")

    requests.post(f"{sandbox.url}/_sandbox/accounts/{seller.stripe_account_id}/bank_account", timeout=30)
    _advance(sandbox, DAY)  # the next payout day sends it again: the banner says it is on its way
    assert wait_until(lambda: Payout.objects.filter(status__in=["pending", "in_transit"]).exists(), timeout=30)
    page.get_by_role("link", name="Sell", exact=True).click()
    expect(page.get_by_test_id("payout-failed-banner")).to_contain_text(
        f"a payout of {format_money(order.seller_net, currency)} is on its way to your bank."
    )
    _advance(sandbox, 2 * DAY)  # arrived
    assert wait_until(lambda: Payout.objects.filter(status="paid").exists(), timeout=30)
    page.get_by_role("link", name="Sell", exact=True).click()
    expect(page.get_by_test_id("status-headline")).to_be_visible()
    expect(page.get_by_test_id("payout-failed-banner")).to_have_count(0)
