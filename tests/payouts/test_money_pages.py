"""The seller's money page, payouts pages, schedule, statement and API, against the sandbox over
HTTP (USD and JPY): what the seller reads is Stripe's balance and the ledger's figures, a Stripe
outage shows the last figure with a sentence, and query counts do not grow with the orders."""

from __future__ import annotations

import csv
import html
import io
import re
import socket
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.gateway.accounts import account_payout_schedule_update, account_retrieve
from marketplace.gateway.balances import balance_retrieve as account_retrieve_balance
from marketplace.gateway.events import list_events
from marketplace.gateway.types import PayoutSchedule
from marketplace.money import format_money
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from orders import services as order_services
from orders.models import Order
from payments.models import Dispute, RefundOrigin, RefundStatus, SellerDebt
from payments.services import refund_create, refund_submit
from payouts.models import ApplicationFee, BankAccount, Payout
from payouts.selectors import Amount, BalanceView, earnings_per_order, negative_balance_sentences, order_net
from sellers.models import Seller
from tests.catalog.factories import ListingFactory
from tests.e2e.test_money_before_stripe import LEAD_TO_MONEY
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.payments.helpers import assert_ledger_equals_stripe, lost_dispute_debt, stripe_balances
from tests.payouts.helpers import DAY, advance, control, paid_order, paid_out, process_connect
from tests.subscriptions.factories import subscription

pytestmark = pytest.mark.django_db
NOW = "4000000000000077"  # funds available at once


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$89.70"), ("jpy", "¥9,000")])
def test_money_page_shows_balance_payouts_chart_and_earnings(sandbox: Any, currency: str, shown: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)

    page = client.get("/sell/money/").content.decode()
    assert f'data-currency="{currency}"' in page and shown in page  # available now
    assert 'data-testid="earnings-chart"' in page and f'data-total="{9_000 if currency == "jpy" else 8_970}"' in page
    assert f"Order {order.pk}" in page and "Stripe pays your available balance out every day." in page

    payout = paid_out(sandbox, account)
    assert payout.status == "paid" and payout.reconciliation_status == "completed"
    detail = client.get(f"/sell/money/payouts/{payout.pk}/").content.decode()
    assert 'data-testid="payout-line"' in detail and f'href="/sell/orders/{order.pk}/"' in detail
    assert "Sale" in detail and shown in detail

    api = client.get(f"/api/v1/seller/payouts/{payout.pk}").json()
    assert api["status"] == "paid" and [line["order_id"] for line in api["lines"]] == [order.pk]
    assert client.get("/api/v1/seller/payouts").json()["items"][0]["stripe_id"] == payout.stripe_id
    cache.delete(f"payouts:balance:{account}")  # the page read it a moment ago: cached briefly
    balance = client.get("/api/v1/seller/balance").json()
    assert balance["available"] == [{"amount": 0, "currency": currency}] and balance["stale"] is False


def test_stripe_down_shows_the_last_balance_with_its_time_and_a_sentence(sandbox: Any, settings: Any) -> None:
    seller = active_seller(sandbox)
    paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    assert "$89.70" in client.get("/sell/money/").content.decode()

    cache.delete(f"payouts:balance:{seller.stripe_account_id}")  # the brief cache ran out
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_NETWORK_RETRIES = f"http://127.0.0.1:{_closed_port()}", 0
    response = client.get("/sell/money/")
    page = response.content.decode()
    assert response.status_code == 200 and "$89.70" in page
    assert "Stripe cannot be reached right now, so this is the last balance we read, at" in page
    assert client.get("/api/v1/seller/balance").json()["stale"] is True


def test_the_seller_changes_the_payout_schedule_through_the_platform(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    client = signed_in(seller.user)
    form = {"interval": "weekly", "weekly_anchor": "friday", "monthly_anchor": "", "form_token": "t1"}
    for _ in range(2):  # a double submit: one change at Stripe
        assert client.post("/sell/money/schedule/", form).status_code == 302
    schedule = account_retrieve(str(seller.stripe_account_id)).payout_schedule
    assert schedule is not None and (schedule.interval, schedule.weekly_anchor) == ("weekly", "friday")
    assert "every Friday" in client.get("/sell/money/").content.decode()

    # A refused day says what is wrong and comes back as typed, not as the schedule Stripe still has.
    bad = {"interval": "monthly", "monthly_anchor": "40", "form_token": "t2"}
    refused = client.post("/sell/money/schedule/", bad)
    page = refused.content.decode()
    assert refused.status_code == 422 and "Choose a day of the month between 1 and 31." in page
    assert '<option value="monthly" selected>' in page and 'name="monthly_anchor" value="40"' in page
    page = client.get("/sell/money/").content.decode()  # once: a later visit shows Stripe's schedule
    assert '<option value="weekly" selected>' in page and 'name="monthly_anchor" value="40"' not in page
    bad = {"interval": "fortnightly", "form_token": "t3"}
    page = client.post("/sell/money/schedule/", bad).content.decode()
    assert "Choose daily, weekly, monthly or manual payouts." in page
    weekly = {"interval": "weekly", "weekly_anchor": "", "form_token": "t4"}  # the service's refusal, by its box
    page = client.post("/sell/money/schedule/", weekly).content.decode()
    assert re.search(r'id="id_weekly_anchor_error"[^>]*>\s*<li>Choose the day of the week your payouts are sent', page)
    assert "every Friday" in client.get("/sell/money/").content.decode()


@pytest.mark.parametrize(("currency", "available"), [("usd", 8_970), ("jpy", 9_000)])
def test_a_seller_on_manual_payouts_pays_the_available_balance_out(sandbox: Any, currency: str, available: int) -> None:
    """On a manual schedule Stripe pays out nothing until the platform asks for each payout, and no
    page asked: the seller who chose "Manual" could never have the money sent to the bank."""
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    assert 'data-testid="payout-now-form"' not in client.get("/sell/money/").content.decode()  # daily
    manual = {"interval": "manual", "form_token": "m1"}
    assert client.post("/sell/money/schedule/", manual).status_code == 302

    debt = lost_dispute_debt(seller, currency, 500)
    refused = client.post("/sell/money/payout/", {"currency": currency, "form_token": "d1"}, follow=True)
    assert "You owe the platform for a lost dispute" in refused.content.decode()  # collected from it first
    assert not Payout.objects.exists()
    SellerDebt.objects.filter(pk=debt.pk).update(collected=500, settled_at=timezone.now())

    page = client.get("/sell/money/").content.decode()
    assert 'data-testid="payout-now-form"' in page
    payout_form = page.split('data-testid="payout-now-form"')[1].split("</form>")[0]
    [token] = re.findall(r'name="form_token" value="([0-9a-f]{32})"', payout_form)
    assert (
        f'<option value="{currency}">{currency.upper()} ({format_money(available, currency)} available)' in payout_form
    )
    crafted = client.post("/sell/money/payout/", {"currency": f"{currency}x", "form_token": token}, follow=True)
    assert "Choose the currency to pay out." in crafted.content.decode()  # not read as {currency}
    assert not Payout.objects.exists()
    form = {"currency": currency, "form_token": token}
    first = client.post("/sell/money/payout/", form, follow=True).content.decode()
    again = client.post("/sell/money/payout/", form, follow=True).content.decode()  # a double click
    [payout] = Payout.objects.filter(account=account)
    assert (payout.amount, payout.currency, payout.automatic) == (available, currency, False)
    assert f"{format_money(available, currency)} is on its way to your bank account" in first
    assert f"{format_money(available, currency)} is on its way to your bank account" in again  # the same one
    assert stripe_balances(account) == {}
    after = client.get("/sell/money/").content.decode()  # no form offering a currency with nothing in it
    assert 'data-testid="payout-now-form"' not in after and 'data-testid="nothing-to-pay-out"' in after
    assert_ledger_equals_stripe()
    assert "failed" not in process_connect(account, set())  # its payout.* events find it recorded and posted
    assert_ledger_equals_stripe()
    assert (
        "Nothing is available to pay out"
        in client.post("/sell/money/payout/", {"currency": currency, "form_token": "n2"}, follow=True).content.decode()
    )
    assert Payout.objects.count() == 1


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_pay_out_now_is_offered_only_for_a_currency_with_something_available(sandbox: Any, currency: str) -> None:
    """With nothing available (sales still pending), the page offered "Pay out now" for "(0 available)",
    and every press was refused with "Nothing is available to pay out"; it now says so instead."""
    seller = active_seller(sandbox, currency=currency)
    paid_order(sandbox, seller, 10_000)  # pending for days
    client = signed_in(seller.user)
    assert client.post("/sell/money/schedule/", {"interval": "manual", "form_token": "m1"}).status_code == 302
    page = client.get("/sell/money/").content.decode()
    assert 'data-testid="payout-now-form"' not in page
    assert "Nothing is available to pay out yet: sales become available a few days after payment." in page

    paid_order(sandbox, seller, 10_000, card=NOW)
    cache.clear()  # the page reads the balance at most every minute
    page = client.get("/sell/money/").content.decode()
    assert 'data-testid="payout-now-form"' in page
    assert "Nothing is available to pay out yet" not in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_pay_out_now_with_no_currency_asks_for_one(sandbox: Any, currency: str) -> None:
    """A form sent without its currency (or with a made-up one) read "Nothing is available to pay out in
    right now" (a blank where the currency goes, or whatever was sent, in capitals): it asks for one."""
    seller = active_seller(sandbox, currency=currency)
    paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    assert client.post("/sell/money/schedule/", {"interval": "manual", "form_token": "m1"}).status_code == 302
    for sent in ("", "  ", "$", "1e3", "ü"):
        page = client.post("/sell/money/payout/", {"currency": sent, "form_token": "c1"}, follow=True)
        assert "Choose the currency to pay out." in page.content.decode(), sent
        assert "Nothing is available" not in page.content.decode()
    assert not Payout.objects.exists()
    page = client.post("/sell/money/payout/", {"currency": currency.upper(), "form_token": "c2"}, follow=True)
    assert f"{format_money(9_000 if currency == 'jpy' else 8_970, currency)} is on its way" in page.content.decode()


def test_pay_out_now_is_refused_on_an_automatic_schedule(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    page = client.post("/sell/money/payout/", {"currency": "usd", "form_token": "a1"}, follow=True).content.decode()
    assert "Stripe pays your balance out on your schedule" in page
    assert not Payout.objects.exists()


def test_a_failed_payout_shows_its_sentence_and_a_banner_until_a_later_one_is_paid(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    account = str(seller.stripe_account_id)
    paid_order(sandbox, seller, 10_000, card=NOW)
    seen: set[str] = set()
    advance(sandbox, DAY)
    process_connect(account, seen)
    payout = Payout.objects.get()
    control(sandbox, f"payouts/{payout.stripe_id}/fail", failure_code="no_account")
    process_connect(account, seen)
    client = signed_in(seller.user)
    # Said once: the banner's "Your payout of $89.70 failed:" is not followed by "This payout failed:".
    banner = "failed:</strong> no bank account could be found with these details."
    for url in ("/sell/", "/sell/money/"):
        page = client.get(url).content.decode()
        assert banner in page and "This payout failed" not in page, url
    detail = client.get(f"/sell/money/payouts/{payout.pk}/").content.decode()
    assert "This payout failed: no bank account could be found with these details." in detail
    control(sandbox, f"accounts/{account}/bank_account")
    advance(sandbox, 2 * DAY)
    process_connect(account, seen)
    assert 'data-testid="payout-failed-banner"' not in client.get("/sell/").content.decode()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_failed_payout_errors_the_bank_account_until_the_seller_updates_it(sandbox: Any, currency: str) -> None:
    """Stripe disables the bank account with a failed payout (`account.external_account.updated`,
    status errored) and sends no payout until the details are updated: the banner says so and asks
    for the update; once the seller updated them it says the money goes with the next payout, and
    it is gone when that payout is paid. The events are handled (not ignored), in either order."""
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    paid_order(sandbox, seller, 10_000, card=NOW)
    seen: set[str] = set()
    advance(sandbox, DAY)
    process_connect(account, seen)
    payout = Payout.objects.get()
    control(sandbox, f"payouts/{payout.stripe_id}/fail", failure_code="no_account")
    events = [e for e in list_events(created_gte=0, account=account) if e["id"] not in seen]
    assert {e["type"] for e in events} == {"payout.failed", "account.external_account.updated"}
    assert process_connect(account, seen) == ["processed", "processed"]
    assert BankAccount.objects.get(account=account).status == "errored"
    client = signed_in(seller.user)
    amount = format_money(payout.amount, currency)
    for url in ("/sell/", "/sell/money/"):
        page = client.get(url).content.decode()
        assert f"Your payout of {amount} failed:</strong>" in page and 'role="alert"' in page
        assert "Update your bank account in your Stripe Express dashboard" in page
        assert "Stripe sends no payout until then." in page
    # A failed payout never arrives: its page does not send the seller back "after its arrival date" for
    # a list of what it contains that never comes, but says where the money is, as the balance shows.
    assert stripe_balances(account) == {currency: payout.amount}
    detail = client.get(f"/sell/money/payouts/{payout.pk}/").content.decode()
    assert "look again after its arrival date" not in detail
    assert f"This payout did not reach your bank: its {amount} went back to your Stripe balance." in detail
    # The status card under the banner does not say the opposite ("can ... receive payouts").
    home = client.get("/sell/").content.decode()
    assert "receive payouts" not in home
    assert "Your shop can take payments; Stripe sends no payout until your bank account works again." in home
    # Nor when Stripe needs more information while the account still works ("Action required"): it said
    # "can take payments and receive payouts for now" under the banner.
    for deadline in (timezone.now() + timedelta(days=10), None):
        Seller.objects.filter(pk=seller.pk).update(
            requirements={"currently_due": ["individual.id_number"]}, current_deadline=deadline
        )
        home = client.get("/sell/").content.decode()
        assert "Stripe needs more information" in home and "receive payouts" not in home
        assert "Your shop can take payments for now; Stripe sends no payout until your bank account works" in home
    Seller.objects.filter(pk=seller.pk).update(requirements={}, current_deadline=None)
    # The API says what the home page says: it answered "can take payments and receive payouts".
    assert_api_says_as_the_home_page(client, payout, bank_errored=True)
    advance(sandbox, DAY)  # a payout day: nothing goes to an errored bank account
    process_connect(account, seen)
    assert Payout.objects.count() == 1

    control(sandbox, f"accounts/{account}/bank_account")  # the seller updates its bank details
    [updated] = [e for e in list_events(created_gte=0, account=account) if e["id"] not in seen]
    assert updated["type"] == "account.external_account.updated"
    assert process_connect(account, seen) == ["processed"]
    assert BankAccount.objects.get(account=account).status == "new"
    page = client.get("/sell/").content.decode()
    assert f"Your payout of {amount} failed:</strong>" in page and 'role="alert"' not in page
    assert "Your bank details have been updated since: Stripe sends this money with your next payout." in page
    assert "Stripe sends no payout until then." not in page
    assert "Your shop can take payments and receive payouts." in page
    assert_api_says_as_the_home_page(client, payout, bank_errored=False)

    # Delivered again, late (after a newer state): the read of the account keeps Stripe's latest.
    failed_again = next(e for e in events if e["type"] == "account.external_account.updated")
    replay = {**failed_again, "id": "evt_external_account_again"}
    webhook_event_store(payload=replay, source="connect")
    assert webhook_event_process(event_id=replay["id"]).status == "processed"
    assert BankAccount.objects.get(account=account).status == "new"

    # The next payout day sends the money again: the banner no longer says it goes "with your next payout"
    # while that payout is on its way (Pay out now read the same).
    advance(sandbox, DAY)
    process_connect(account, seen)
    [again] = Payout.objects.filter(status__in=["pending", "in_transit"])
    assert again.amount == payout.amount
    for url in ("/sell/", "/sell/money/"):
        page = client.get(url).content.decode()
        assert f"Your payout of {amount} failed:</strong>" in page
        assert (
            f"Your bank details have been updated since, and a payout of {amount} is on its way to your bank." in page
        )
        assert "Stripe sends this money with your next payout" not in page

    advance(sandbox, 2 * DAY)  # arrived
    process_connect(account, seen)
    assert Payout.objects.filter(status="paid").exists()
    assert 'data-testid="payout-failed-banner"' not in client.get("/sell/").content.decode()
    api = client.get("/api/v1/seller/").json()
    assert (api["bank_errored"], api["failed_payout"]) == (False, None)
    assert_ledger_equals_stripe()


def assert_api_says_as_the_home_page(client: Any, payout: Payout, *, bank_errored: bool) -> None:
    """`GET /api/v1/seller/` and the seller home, read now: the same status sentence, and the home's
    failed-payout banner as `failed_payout` (its payout, amount and sentence) with `bank_errored`."""
    home = html.unescape(client.get("/sell/").content.decode())
    api = client.get("/api/v1/seller/").json()
    assert api["bank_errored"] is bank_errored
    failed = api["failed_payout"]
    assert (failed["id"], failed["amount"], failed["currency"]) == (payout.pk, payout.amount, payout.currency)
    assert failed["bank_updated"] is not bank_errored
    amount = format_money(payout.amount, payout.currency)
    assert f"Your payout of {amount} failed:</strong> {failed['sentence']}</p>" in home
    explanation = re.search(r'data-testid="status-explanation">([^<]*)<', home)
    assert explanation is not None and api["status_explanation"] == explanation.group(1)


def test_statement_csv_lists_every_movement_of_the_range(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    today = date.today()
    span = {"start": str(today - timedelta(days=3)), "end": str(today + timedelta(days=3))}
    response = client.get("/sell/money/statement.csv", span)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted((r["kind"], int(r["amount_minor"])) for r in rows) == [
        ("application_fee", -1_030),
        ("transfer", 10_000),
    ]
    bad = client.get("/sell/money/statement.csv", {"start": "2024-02-01", "end": "2024-01-01"})
    assert bad.status_code == 422 and "The end date must be on or after the start date." in bad.content.decode()


@pytest.mark.parametrize("span", [("9999-12-30", "9999-12-31"), ("9999-12-31", "9999-12-31")])
def test_statement_to_the_last_day_of_the_calendar_is_refused_in_words(sandbox: Any, span: tuple[str, str]) -> None:
    """The range ends the day after `end`: the last date a date field takes has no day after it, and
    the statement was a 500 instead of the sentence any other wrong date gets."""
    client = signed_in(active_seller(sandbox).user)
    response = client.get("/sell/money/statement.csv", {"start": span[0], "end": span[1]})
    assert response.status_code == 422
    assert "The end date must be before 31 December 9999." in response.content.decode()


def test_another_shops_payout_is_a_404(sandbox: Any) -> None:
    seller, other = active_seller(sandbox), active_seller(sandbox, shop="Kyoto Paper")
    paid_order(sandbox, seller, 10_000, card=NOW)
    advance(sandbox, DAY)
    process_connect(str(seller.stripe_account_id), set())
    payout = Payout.objects.get()
    client = signed_in(other.user)
    assert client.get(f"/sell/money/payouts/{payout.pk}/").status_code == 404
    assert client.get(f"/api/v1/seller/payouts/{payout.pk}").status_code == 404


def test_money_page_queries_do_not_grow_with_orders_or_subscribers(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    box = ListingFactory(seller=seller, title="Coffee box", price=2_000)
    client = signed_in(seller.user)
    counts = []
    for n in (1, 4):
        while seller.orders.count() < n:
            paid_order(sandbox, seller, 2_000, card=NOW)
            subscription(UserFactory(), box)
            subscription(UserFactory(), box, amount=24_000, interval="year", status="past_due")
        client.get("/sell/money/")  # the balance and schedule come from the cache from now on
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/sell/money/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_money_page_shows_recurring_revenue_per_currency_and_subscriber_counts(sandbox: Any) -> None:
    """The same figures as the Subscribers page: live subscriptions only, a yearly one a twelfth."""
    seller = active_seller(sandbox)
    usd = ListingFactory(seller=seller, title="Coffee box", price=2_000)
    jpy = ListingFactory(seller=seller, title="Tea", price=12_000, currency="jpy")
    client = signed_in(seller.user)
    assert 'data-testid="subscriber-counts">No active subscriptions yet.' in client.get("/sell/money/").content.decode()

    subscription(UserFactory(), usd)
    subscription(UserFactory(), usd, status="past_due")
    subscription(UserFactory(), usd, amount=6_001, interval="year")  # 500 a month, rounded down
    subscription(UserFactory(), usd, status="canceled", ended_for_nonpayment=True)
    subscription(UserFactory(), usd, status="incomplete")
    subscription(UserFactory(), jpy, interval="year")
    subscription(UserFactory(), jpy, status="past_due", interval="year")
    page = client.get("/sell/money/").content.decode()
    assert 'data-testid="money-mrr-usd">$45.00 per month' in page  # 2000 + 2000 + 6001 // 12
    assert 'data-testid="money-mrr-jpy">¥2,000 per month' in page  # two twelfths of ¥12,000
    assert "From 5 subscriptions: 3 active, 2 with a payment overdue." in page
    assert 'href="/sell/subscriptions/"' in page
    subscribers = client.get("/sell/subscriptions/").content.decode()
    assert 'data-testid="mrr-usd">$45.00 per month' in subscribers and 'data-testid="mrr-jpy">¥2,000' in subscribers


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_earnings_per_order_take_the_orders_own_refunds_and_fee_refunds(sandbox: Any, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    assert order.payment is not None
    row = refund_create(payment=order.payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=order.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    [earning] = list(earnings_per_order(seller_id=seller.pk))
    fee_back = ApplicationFee.objects.get(payment=order.payment).amount_refunded
    assert (earning.refunded, earning.disputed, earning.fee_refunded) == (3_000, 0, fee_back) and fee_back > 0
    fee_kept = order.application_fee_amount - fee_back
    net = 10_000 - fee_kept - 3_000
    assert earning.fee_kept == fee_kept and order_net(earning) == net
    page = signed_in(seller.user).get("/sell/money/").content.decode()
    row_html = page.split('data-testid="earnings-row">', 1)[1].split("</tr>", 1)[0]
    # The row adds up: sale - the fee kept (not the fee charged: a refund gave part of it back) - refunds = net.
    cells = [format_money(x, currency) for x in (10_000, fee_kept, 3_000, 0, net)]
    assert re.findall(r'<td data-label="[^"]+"(?: data-testid="order-net")?>([^<]+)</td>', row_html) == cells


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_earnings_per_order_leave_out_a_refund_the_platform_paid(sandbox: Any, currency: str) -> None:
    """An admin refund "without taking it from the seller" costs the seller nothing: the row shows no
    refund and the whole net, as the seller's Stripe balance does."""
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    assert order.payment is not None
    row = refund_create(
        payment=order.payment, amount=2_000, origin=RefundOrigin.ADMIN, order_id=order.pk, reverse_transfer=False
    )
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    [earning] = list(earnings_per_order(seller_id=seller.pk))
    net = 10_000 - order.application_fee_amount
    assert (earning.refunded, earning.fee_kept, order_net(earning)) == (0, order.application_fee_amount, net)
    assert stripe_balances(str(seller.stripe_account_id)) == {currency: net}


def kiln_order_paid_with_another_shop(sandbox: Any, currency: str, price: int, on_commit: Any) -> Order:
    """One payment for two shops (Kiln & Co's item of `price`, Tea House's of 5,000), recorded with the
    work its commit leaves (the transfers): Kiln & Co's order. `on_commit`:
    pytest-django's `django_capture_on_commit_callbacks`."""
    kiln, tea = (active_seller(sandbox, currency=currency, shop=name) for name in ("Kiln & Co", "Tea House"))
    buyer = UserFactory()
    cart = cart_with(buyer, (listing_of(kiln, price=price), 1), (listing_of(tea, price=5_000), 1))
    started = order_services.checkout_start_cart(buyer=buyer, cart=cart, currency=currency, **URLS)
    assert started.group is not None
    pay(sandbox, str(started.group.checkout_session_id), card=NOW)
    with on_commit(execute=True):
        order_services.order_sync_from_stripe(order=started.orders[0])
    return Order.objects.get(checkout_group=started.group, seller=kiln)


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_earnings_per_order_of_a_payment_for_several_shops_add_up_to_the_sellers_balance(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """A refund of one shop's order in a payment for several shops takes back the shop's net share and
    gives back the fee's share (no application fee object carries it): the row's fee is what is kept,
    and the rows add up to the seller's Stripe balance."""
    order = kiln_order_paid_with_another_shop(sandbox, currency, 10_000, django_capture_on_commit_callbacks)
    kiln = order.seller
    assert order.payment is not None
    with django_capture_on_commit_callbacks(execute=True):
        row = refund_create(payment=order.payment, amount=4_000, origin=RefundOrigin.SELLER, order_id=order.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED

    [earning] = list(earnings_per_order(seller_id=kiln.pk))
    balance = stripe_balances(str(kiln.stripe_account_id))[currency]
    assert order_net(earning) == balance
    assert earning.refunded == 4_000 and earning.fee_kept == 10_000 - 4_000 - balance < order.application_fee_amount
    page = signed_in(kiln.user).get("/sell/money/").content.decode()
    assert f'data-testid="order-net">{format_money(balance, currency)}</td>' in page


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_weekly_chart_ends_with_a_week_stripe_dated_after_our_clock(currency: str) -> None:
    """A test clock runs ahead of ours: a sale's share dated two weeks on is in the last of 12 weeks."""
    from django.utils import timezone

    from marketplace.ledger.chart import stripe_balance as balance_of
    from marketplace.ledger.services import Leg, ledger_post
    from payouts.selectors import weekly_earnings

    account = "acct_1Ahead"
    ahead = timezone.now() + timedelta(days=14)
    ledger_post(
        source_id="tr_ahead",
        kind="transfer",
        description="transfer",
        legs=[Leg(balance_of(""), -9_000, currency), Leg(balance_of(account), 9_000, currency)],
        occurred_at=ahead,
    )
    [series] = weekly_earnings(account=account)
    assert len(series.weeks) == 12 and series.total == 9_000
    last_start, last_amount = series.weeks[-1]
    assert last_start <= ahead < last_start + timedelta(weeks=1) and last_amount == 9_000


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payouts_refund_and_fee_refund_lines_name_their_order(sandbox: Any, currency: str) -> None:
    """A payout that paid out a sale less a partial refund lists three lines: the sale, the refund
    taken back (a `pyr_` of the seller's payment) and the part of the fee given back (`fr_`). Each is
    of one order; only the sale named it, so the seller could not tell which order a refund was of."""
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    assert order.payment is not None
    row = refund_create(payment=order.payment, amount=3_000, origin=RefundOrigin.SELLER, order_id=order.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    payout = paid_out(sandbox, account)
    assert payout.status == "paid" and payout.reconciliation_status == "completed"

    client = signed_in(seller.user)
    lines = client.get(f"/api/v1/seller/payouts/{payout.pk}").json()["lines"]
    assert sorted(line["type"] for line in lines) == ["application_fee_refund", "payment", "payment_refund"]
    assert [line["order_id"] for line in lines] == [order.pk] * 3
    assert sum(line["net"] for line in lines) == payout.amount == order_net(earnings_per_order(seller_id=seller.pk)[0])
    detail = client.get(f"/sell/money/payouts/{payout.pk}/").content.decode()
    assert detail.count(f'href="/sell/orders/{order.pk}/"') == 3
    assert stripe_balances(account) == {}
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_negative_available_balance_says_why_and_what_happens_next(sandbox: Any, currency: str) -> None:
    """A refund taken back from the seller after the sale's money was paid out is taken from what
    the seller holds, pending funds too, so Stripe shows a negative available balance. The page showed
    "-$45.00" under Available with no word: it now says why, and that Stripe covers it from the pending
    funds as they become available, paying nothing out to the bank until then."""
    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    first = paid_order(sandbox, seller, 10_000, card=NOW)
    advance(sandbox, DAY)  # midnight: Stripe pays the available balance out
    process_connect(account, set())
    assert stripe_balances(account) == {}
    paid_order(sandbox, seller, 10_000)  # pending for days
    row = refund_create(payment=first.payment, amount=5_000, origin=RefundOrigin.SELLER, order_id=first.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    assert_ledger_equals_stripe()
    cache.clear()  # the page reads the balance at most every 30 s

    balance = account_balance_parts(account, currency)
    available, pending = balance
    assert available < 0 < pending + available  # the second sale's funds cover it
    page = client_page(seller)
    sentence = html.unescape(page.split('data-testid="negative-balance"')[1].split("</p>")[0])
    assert (
        f"Your available balance in {currency.upper()} is {format_money(available, currency)}: money taken back "
        "for a refund or a lost dispute was more than your available funds, your sales' money being still pending "
        "or already paid out to your bank." in sentence
    )
    assert (
        f"Stripe covers it from your pending {format_money(pending, currency)} as it becomes available, which "
        f"leaves you {format_money(pending + available, currency)}. Nothing is paid out to your bank until then."
        in sentence
    )


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_taken_back_before_any_payout_does_not_say_the_sale_was_paid_out(sandbox: Any, currency: str) -> None:
    """Walking the demo: a shop that was never paid out refunds part of a sale whose funds are still
    pending; Stripe takes the seller's share from the available balance all the same, which goes
    negative. The page said the money was taken back "after the sale's funds had been paid out to your
    bank" above "No payouts yet": its sentence now holds whether the funds were pending or paid out."""
    seller = active_seller(sandbox, currency=currency)
    sale = paid_order(sandbox, seller, 10_000)  # pending for days, never paid out
    row = refund_create(payment=sale.payment, amount=5_000, origin=RefundOrigin.SELLER, order_id=sale.pk)
    assert refund_submit(refund_id=row.pk).status == RefundStatus.SUCCEEDED
    assert not Payout.objects.exists()
    available, pending = account_balance_parts(str(seller.stripe_account_id), currency)
    assert available < 0 < pending + available

    page = client_page(seller)
    sentence = html.unescape(page.split('data-testid="negative-balance"')[1].split("</p>")[0])
    assert "after the sale's funds had been paid out" not in sentence
    assert "your sales' money being still pending or already paid out to your bank." in sentence
    assert "No payouts yet." in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_negative_balance_beyond_the_pending_funds_is_taken_from_the_next_sales(currency: str) -> None:
    """Our refunds and debt collections never take more than the seller holds, but Stripe can (its own
    fees, an adjustment): what the pending funds cannot cover comes from the next sales."""
    view = BalanceView(available=[Amount(-4_501, currency)], pending=[Amount(1_999, currency)])
    [sentence] = negative_balance_sentences(balance=view)
    assert (
        f"Stripe covers {format_money(1_999, currency)} of it from your pending funds as they become available, "
        f"and the other {format_money(2_502, currency)} from your next sales. "
        "Nothing is paid out to your bank until then." in sentence
    )
    [nothing_pending] = negative_balance_sentences(balance=BalanceView(available=[Amount(-7, currency)]))
    assert "Stripe covers it from your next sales. Nothing is paid out to your bank until then." in nothing_pending
    assert negative_balance_sentences(balance=BalanceView(available=[Amount(0, currency)])) == []


def account_balance_parts(account: str, currency: str) -> tuple[int, int]:
    """(available, pending) of `currency` as Stripe has them for the seller."""
    balance = account_retrieve_balance(account=account)
    available = sum(p.amount for p in balance.available if p.currency == currency)
    pending = sum(p.amount for p in balance.pending if p.currency == currency)
    return available, pending


def client_page(seller: Any) -> str:
    return str(signed_in(seller.user).get("/sell/money/").content.decode())


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payouts_line_of_a_lost_dispute_is_not_called_a_refund(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Walking the demo: a lost dispute's recovery (the seller's transfer reversed, a `pyr_` on the
    seller's payment as a refund's is) was listed in the payout as "Refund" of the order, whose own
    page says no refund can be made and shows the money under "Taken by lost disputes"."""
    from tests.payments.helpers import lose_dispute

    seller = active_seller(sandbox, currency=currency)
    account = str(seller.stripe_account_id)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    assert order.payment is not None
    lose_dispute(
        sandbox,
        charge_id=str(order.payment.stripe_charge_id),
        amount=order.amount_total,
        on_commit=django_capture_on_commit_callbacks,
    )
    assert Dispute.objects.get().recovery_reversal_id
    other = paid_order(sandbox, seller, 5_000, card=NOW)  # something to pay out
    payout = paid_out(sandbox, account)
    assert payout.reconciliation_status == "completed"

    client = signed_in(seller.user)
    lines = client.get(f"/api/v1/seller/payouts/{payout.pk}").json()["lines"]
    labels = sorted((line["type"], line["label"]) for line in lines)
    assert labels == [
        ("application_fee_refund", "Marketplace fee refunded"),
        ("payment", "Sale"),
        ("payment", "Sale"),
        ("payment_refund", "Taken back for a lost dispute"),
    ]
    assert sorted(line["order_id"] for line in lines) == sorted([order.pk] * 3 + [other.pk])
    detail = html.unescape(client.get(f"/sell/money/payouts/{payout.pk}/").content.decode())
    assert "Taken back for a lost dispute" in detail and ">Refund<" not in detail
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_payouts_sale_of_a_payment_for_several_shops_shows_the_sale_and_fee_of_its_order(
    sandbox: Any, django_capture_on_commit_callbacks: Any, currency: str
) -> None:
    """Walking the demo: a shop's order in a payment for several shops reaches the shop as a transfer
    of its share less the fee, so Stripe's line is "79.00 less 8.20" written as 70.80 with no fee. The
    payout listed "Sale 70.80, fee 0.00" while the order's page says "Sale 79.00, marketplace fee
    8.20": it now shows the order's sale and fee, and the same net."""
    order = kiln_order_paid_with_another_shop(sandbox, currency, 7_900, django_capture_on_commit_callbacks)
    kiln = order.seller
    account = str(kiln.stripe_account_id)
    assert 0 < order.application_fee_amount < order.amount_total
    payout = paid_out(sandbox, account)
    assert payout.reconciliation_status == "completed"

    client = signed_in(kiln.user)
    [line] = client.get(f"/api/v1/seller/payouts/{payout.pk}").json()["lines"]
    net = order.amount_total - order.application_fee_amount
    assert (line["label"], line["order_id"]) == ("Sale", order.pk)
    assert (line["amount"], line["fee"], line["net"]) == (order.amount_total, order.application_fee_amount, net)
    assert payout.amount == net
    detail = client.get(f"/sell/money/payouts/{payout.pk}/").content.decode()
    assert f'data-label="Amount">{format_money(order.amount_total, currency)}</td>' in detail
    assert f'data-label="Fee">{format_money(order.application_fee_amount, currency)}</td>' in detail
    tea = Order.objects.exclude(pk=order.pk).get(checkout_group=order.checkout_group).seller
    process_connect(str(tea.stripe_account_id), set())  # Tea House was paid out the same days
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_balance_read_just_before_a_refund_is_not_shown_after_it(
    sandbox: Any, currency: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Walking the demo: a seller looks at the money page, refunds an order in full from its page and
    comes back within 30 s: the balance still showed the sale's money available (cached), while the
    earnings below had the refund. Money taken back from the seller (a reversal, a fee refund) forgets
    the cached balance, so the next page reads Stripe's."""
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    sold = format_money(order.amount_total - order.application_fee_amount, currency)
    assert f'data-testid="available">{sold}</td>' in client.get("/sell/money/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sell/orders/{order.pk}/refund/", {"reason": "Out of stock", "form_token": "t1"})
    order.refresh_from_db()
    assert order.amount_refunded == order.amount_total
    page = client.get("/sell/money/").content.decode()
    assert f'data-testid="available">{format_money(0, currency)}</td>' in page
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_seller_stripe_pays_nothing_out_to_is_told_so_beside_the_schedule(sandbox: Any, currency: str) -> None:
    """A restricted (or not yet onboarded) seller's money page said "Stripe pays your available balance
    out every day" while their home page said payouts were paused: Stripe pays nothing out to an
    account without payouts enabled, whatever its schedule."""
    from sellers.models import Seller

    seller = active_seller(sandbox, currency=currency)
    client = signed_in(seller.user)
    assert 'data-testid="payouts-disabled"' not in client.get("/sell/money/").content.decode()

    Seller.objects.filter(pk=seller.pk).update(payouts_enabled=False, status="restricted")
    page = client.get("/sell/money/").content.decode()
    assert 'data-testid="payouts-disabled"' in page
    assert "Stripe pays nothing out to your bank until payouts are enabled on your account" in page
    assert 'href="/sell/"' in page


@pytest.mark.parametrize("token", ["\uff11\uff12", "\u0663", "\u202eevil", "t-1"])
def test_a_schedule_form_whose_token_is_no_token_is_refused_as_expired(sandbox: Any, token: str) -> None:
    """The form's hidden token becomes part of Stripe's idempotency key, a request header: one with
    letters a header cannot carry (full-width digits) never reached Stripe, and the page said Stripe could not be
    reached. It is refused as an out-of-date form, as Pay out now refuses it, and nothing changes."""
    seller = active_seller(sandbox)
    client = signed_in(seller.user)
    form = {"interval": "weekly", "weekly_anchor": "friday", "form_token": token}
    refused = client.post("/sell/money/schedule/", form)
    page = refused.content.decode()
    assert refused.status_code == 422 and "This form has expired: reload the page and try again." in page
    assert "cannot be reached" not in page
    schedule = account_retrieve(str(seller.stripe_account_id)).payout_schedule
    assert schedule is None or schedule.interval != "weekly"


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_weekly_earnings_say_the_dispute_debt_they_do_not_count_yet(sandbox: Any, currency: str) -> None:
    """The chart counts what moved the Stripe balance: a lost dispute the balance could not cover is owed,
    not taken yet, so "after fees, refunds and disputes" read higher than the earnings per order by that
    debt. The caption names it, in the chart's currency only."""
    seller = active_seller(sandbox, currency=currency)
    paid_order(sandbox, seller, 10_000, card=NOW)
    lost_dispute_debt(seller, currency, 5_000, collected=1_000)
    page = html.unescape(signed_in(seller.user).get("/sell/money/").content.decode())
    net = format_money(9_000 if currency == "jpy" else 8_970, currency)
    owed = format_money(4_000, currency)
    assert (
        f"Last 12 weeks in {currency.upper()}: {net} after fees, refunds and disputes, before the {owed} you owe "
        "from lost disputes: it counts when it is taken from your funds." in page
    )
    SellerDebt.objects.update(collected=5_000, settled_at=timezone.now())
    page = html.unescape(signed_in(seller.user).get("/sell/money/").content.decode())
    assert f"{net} after fees, refunds and disputes." in page and "you owe" not in page


SELLER_LISTS = (
    "/api/v1/seller/payouts",
    "/api/v1/seller/orders",
    "/api/v1/seller/listings",
    "/api/v1/seller/refund-requests",
    "/api/v1/seller/disputes",
)


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_a_shop_without_a_stripe_account_has_no_balance_and_no_payouts(currency: str, country: str) -> None:
    """A shop whose Stripe account was never made (Stripe unreachable when it opened): its payouts
    and balance answered 404 `stripe_account_not_found` while its orders answered an empty page, two
    answers to one situation, and a 404 reads as a wrong address. Every list of the shop is an empty
    page, its balance holds nothing and says why and what to do, as `GET /seller/` does."""
    seller = Seller.objects.create(user=UserFactory(), shop_name="Not Yet", country=country, default_currency=currency)
    client = signed_in(seller.user)
    for path in SELLER_LISTS:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        assert response.json() == {"items": [], "count": 0, "page": 1, "pages": 1}, path
    balance = client.get("/api/v1/seller/balance")
    assert balance.status_code == 200, balance.content
    assert balance.json() == {
        "available": [],
        "pending": [],
        "as_of": None,
        "stale": False,
        "message": "Your shop has no Stripe account yet, so it has no balance: set up payments with Stripe "
        "(POST /api/v1/seller/onboarding-link) to take payments and receive payouts.",
    }
    missing = client.get("/api/v1/seller/payouts/1")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "payout_not_found"
    dashboard = client.post("/api/v1/seller/dashboard-link")
    assert dashboard.status_code == 409 and dashboard.json()["error"]["code"] == "onboarding_incomplete"
    status = client.get("/api/v1/seller/").json()
    assert (status["status"], status["status_headline"]) == ("onboarding", "Set up payments to start selling")


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_the_money_pages_of_a_shop_without_a_stripe_account_lead_to_onboarding(currency: str, country: str) -> None:
    """The nav shows Money to every seller; for a shop whose Stripe account was never made the money
    pages answered a bare 404. The Money page says why and offers onboarding; the others lead to it,
    and its forms (schedule, pay out now) change nothing and call no one."""
    seller = Seller.objects.create(user=UserFactory(), shop_name="Not Yet", country=country, default_currency=currency)
    client = signed_in(seller.user)
    money = client.get("/sell/money/")
    assert money.status_code == 200
    text = money.content.decode()
    assert 'data-testid="money-no-account"' in text and "Set up payments with Stripe" in text
    for path in LEAD_TO_MONEY:
        assert client.get(path).url == "/sell/money/", path
    schedule = {"interval": "weekly", "weekly_anchor": "friday", "monthly_anchor": "", "form_token": "t1"}
    for path, form in (("/sell/money/schedule/", schedule), ("/sell/money/payout/", {"form_token": "t2"})):
        response = client.post(path, form)
        assert (response.status_code, response.url) == (302, "/sell/money/"), path
    seller.refresh_from_db()
    assert seller.stripe_account_id is None


@pytest.mark.parametrize(("currency", "interval", "anchor"), [("usd", "weekly", "friday"), ("jpy", "manual", "")])
def test_a_schedule_change_while_stripe_is_down_comes_back_as_chosen_with_a_sentence(
    sandbox: Any, stripe_down: Any, currency: str, interval: str, anchor: str
) -> None:
    """Stripe down and the schedule no longer cached (it is kept 5 minutes): the page cannot say the
    schedule, and hid its form, so a refused change came back as a 422 with neither the sentence nor
    what the seller chose. The form comes back as sent, with Stripe's outage beside it; sent again
    once Stripe is back, it is one change at Stripe."""
    seller = active_seller(sandbox, currency=currency)
    client = signed_in(seller.user)
    form = {"interval": interval, "weekly_anchor": anchor, "monthly_anchor": "", "form_token": "down1"}

    cache.delete(f"payouts:schedule:{seller.stripe_account_id}")
    stripe_down(True)
    refused = client.post("/sell/money/schedule/", form)
    page = html.unescape(refused.content.decode())
    assert refused.status_code == 422
    assert "Our payment provider could not be reached; please try again in a moment." in page
    assert 'data-testid="schedule-form"' in page and f'<option value="{interval}" selected>' in page
    assert 'name="form_token" value="down1"' in page  # the same form again is the same change at Stripe

    stripe_down(False)
    assert client.post("/sell/money/schedule/", form).status_code == 302
    schedule = account_retrieve(str(seller.stripe_account_id)).payout_schedule
    assert schedule is not None and schedule.interval == interval
    assert (schedule.weekly_anchor or "") == anchor


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_with_redis_down_the_money_page_reads_stripe_not_this_process_s_memory(
    sandbox: Any, redis_down: Any, stripe_down: Any, currency: str
) -> None:
    """While Redis is down each process caches in its own memory, which no other process's change
    reaches: a schedule changed through another web process (here: at Stripe, as that process did)
    was shown as before for up to 5 minutes, beside "Payout schedule saved". The page reads Stripe
    then; and with Stripe down as well, it does not say the balance was never read."""
    seller = active_seller(sandbox, currency=currency)
    paid_order(sandbox, seller, 10_000, card=NOW)
    client = signed_in(seller.user)
    assert "every day" in client.get("/sell/money/").content.decode()  # read, and kept in Redis

    redis_down(True)
    assert "every day" in client.get("/sell/money/").content.decode()  # read again, kept in this process
    wanted = PayoutSchedule(interval="weekly", weekly_anchor="friday")
    account_payout_schedule_update(
        account_id=str(seller.stripe_account_id), seller_id=seller.pk, schedule=wanted, form_token="elsewhere"
    )
    page = client.get("/sell/money/").content.decode()
    assert "Stripe pays your available balance out every Friday." in page

    cache.clear()  # this process never read the balance while Redis is down
    stripe_down(True)
    page = html.unescape(client.get("/sell/money/").content.decode())
    assert "we have not read your balance before" not in page
    assert "Stripe cannot be reached right now, and the last balance we read cannot be fetched now either." in page
