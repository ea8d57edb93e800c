"""The console's revenue (from the ledger) and payment health, with paid orders through the
sandbox in USD and JPY: 10% + 30¢ on $100.00 less Stripe's $3.20 leaves $7.10; 10% on ¥10,000 less
Stripe's ¥360 leaves ¥640. Query counts do not grow with orders; only admins see any of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.ledger.chart import APPLICATION_FEES, bank_payouts, stripe_balance
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.reports import revenue_by_month
from marketplace.ledger.selectors import ledger_balance
from marketplace.ledger.services import Leg, ledger_post
from marketplace.money import format_money
from orders import services as order_services
from payments.health import NEGATIVE_SHOWN, payment_health
from payments.models import RefundOrigin, RefundStatus, SellerDebt
from payments.services import refund_create, refund_submit
from payouts.models import AvailableBalance
from payouts.tasks import reread_balances
from sellers.models import Seller
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, signed_in
from tests.payments.helpers import (
    assert_ledger_equals_stripe,
    lose_dispute,
    lost_dispute_debt,
    new_events,
    process,
    stripe_balances,
)
from tests.payments.test_disputes import control, disputed_order
from tests.payouts.helpers import paid_order
from tests.payouts.test_money_pages import NOW, account_balance_parts
from tests.subscriptions.test_shop_ends import subscribe_synced
from tests.subscriptions.test_subscriptions import seller_with_plan

pytestmark = pytest.mark.django_db


def test_revenue_by_month_and_currency_chart_csv_and_api(sandbox: Any) -> None:
    usd, jpy = active_seller(sandbox), active_seller(sandbox, currency="jpy", shop="Kyoto Paper")
    paid_order(sandbox, usd, 10_000)
    paid_order(sandbox, jpy, 10_000)
    admin = signed_in(make_platform_admin(email="root@example.com"))

    page = admin.get("/console/revenue/").content.decode()
    assert 'data-currency="usd" data-total="710"' in page and 'data-currency="jpy" data-total="640"' in page
    assert "$100.00" in page and "¥10,000" in page  # gross volume

    rows = list(csv.DictReader(io.StringIO(admin.get("/console/revenue.csv").content.decode())))
    figures = {r["currency"]: r for r in rows}
    assert figures["usd"]["application_fees"] == "1030" and figures["usd"]["stripe_fees"] == "320"
    assert figures["jpy"]["net_revenue"] == "640"

    # The month Stripe dated the JPY payment, not the clock's: a run across a month's end stays green.
    paid_at = LedgerTransaction.objects.filter(kind="charge", legs__currency="jpy").distinct().get().occurred_at
    month = paid_at.astimezone(UTC).strftime("%Y-%m")
    api = admin.get("/api/v1/console/revenue", {"month": month, "currency": "jpy"}).json()
    assert (api["gross_volume"], api["application_fees"], api["stripe_fees"], api["net_revenue"]) == (
        10_000,
        1_000,
        360,
        640,
    )
    usd_month = LedgerTransaction.objects.filter(kind="charge", legs__currency="usd").distinct().get().occurred_at
    if usd_month.astimezone(UTC).strftime("%Y-%m") == datetime.now(tz=UTC).strftime("%Y-%m"):
        assert admin.get("/api/v1/console/revenue").json()["net_revenue"] == 710  # this month, USD by default
    assert admin.get("/api/v1/console/revenue", {"month": "2024-13"}).status_code == 422
    assert admin.get("/api/v1/console/revenue", {"month": "1999-01"}).json()["error"]["code"] == "invalid_month"
    assert signed_in(UserFactory()).get("/api/v1/console/revenue").status_code == 403
    assert signed_in(UserFactory()).get("/console/revenue/").status_code == 404


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_payment_health_counts_checkouts_declines_and_rates(sandbox: Any, currency: str) -> None:
    seller = active_seller(sandbox, currency=currency)
    paid_order(sandbox, seller, 2_000)
    declined = paid_order(sandbox, seller, 3_000, card="4000000000000002")
    assert declined.payment_error.endswith(".")  # the bank's sentence
    admin = signed_in(make_platform_admin(email="root@example.com"))
    page = admin.get("/console/revenue/").content.decode()
    assert 'data-testid="success-rate">50%' in page
    # "Your card was declined.: 1" read as a typo: the count follows the sentence in brackets.
    assert f"<li>{declined.payment_error} (1 order)</li>" in page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_checkout_still_open_is_neither_a_success_nor_a_failure(sandbox: Any, currency: str) -> None:
    """A buyer on Stripe's payment page who has not paid yet read as a failed checkout: one paid and
    one open showed "Success rate 50%". Only checkouts that ended unpaid (declined, payment failed,
    session expired) count against the rate; the open one is shown apart."""
    seller = active_seller(sandbox, currency=currency)
    paid_order(sandbox, seller, 2_000)
    buyer = UserFactory()
    order_services.checkout_start(
        buyer=buyer,
        cart=cart_with(buyer, (listing_of(seller, price=3_000), 1)),
        seller_id=seller.pk,
        currency=currency,
        **URLS,
    )
    page = signed_in(make_platform_admin(email="root@example.com")).get("/console/revenue/").content.decode()
    row = page.split('data-testid="health-row">', 1)[1].split("</tr>", 1)[0]
    # Month, checkouts, paid, failed, open, success rate, payments, refund rate, dispute rate.
    assert re.sub(r"<[^>]+>", " ", row).split()[2:] == ["2", "1", "0", "1", "100%", "1", "0%", "0%"]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_payment_health_shows_the_payments_its_refund_and_dispute_rates_are_of(sandbox: Any, currency: str) -> None:
    """One order paid, then refunded, and one subscription payment (no order, no checkout of the cart):
    the month read "1 checkout, 1 paid, refund rate 50%", a rate of a count the page did not show. The
    row now shows the 2 payments the rates are of."""
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 2_000)
    refund = refund_create(payment=order.payment, amount=500, origin=RefundOrigin.SELLER, order_id=order.pk)
    assert refund_submit(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
    _, plan = seller_with_plan(sandbox, currency, 1_500, 1_000)
    subscribe_synced(sandbox, plan)
    page = signed_in(make_platform_admin(email="root@example.com")).get("/console/revenue/").content.decode()
    assert '<th scope="col">Payments</th><th scope="col">Refund rate</th>' in page
    row = page.split('data-testid="health-row">', 1)[1].split("</tr>", 1)[0]
    assert re.sub(r"<[^>]+>", " ", row).split() == [
        *timezone.now().strftime("%b %Y").split(),
        "1",
        "1",
        "0",
        "0",
        "100%",
        "2",
        "50%",
        "0%",
    ]


def test_revenue_page_queries_do_not_grow_with_orders(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    admin = signed_in(make_platform_admin(email="root@example.com"))
    counts = []
    for n in (1, 4):
        while seller.orders.count() < n:
            paid_order(sandbox, seller, 1_500)
        with CaptureQueriesContext(connection) as queries:
            assert admin.get("/console/revenue/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def _owing_seller(shop: str, currency: str, *debts: tuple[int, int], settled: bool = False) -> Any:
    """A seller with lost disputes whose debts (amount, collected so far) are outstanding, or settled."""
    seller = Seller.objects.create(
        user=UserFactory(), shop_name=shop, default_currency=currency, stripe_account_id=f"acct_{shop.replace(' ', '')}"
    )
    for amount, collected in debts:
        lost_dispute_debt(seller, currency, amount, collected, settled=settled)
    return seller


def test_payment_health_lists_sellers_with_debts_usd_and_jpy() -> None:
    kiln = _owing_seller("Kiln Co", "usd", (5_000, 0), (1_200, 1_000))
    paper = _owing_seller("Kyoto Paper", "jpy", (3_000, 0))
    _owing_seller("Paid Up", "usd", (900, 900), settled=True)
    # A seller's Stripe balance below zero in the ledger (a payout larger than what it held) is not
    # what the panel lists: the available balance at Stripe is (the next test).
    ledger_post(
        source_id="po_negative",
        kind="payout",
        description="payout",
        legs=[
            Leg(account=stripe_balance(str(paper.stripe_account_id)), amount=-700, currency="jpy"),
            Leg(account=bank_payouts(str(paper.stripe_account_id)), amount=700, currency="jpy"),
        ],
        occurred_at=timezone.now(),
    )
    health = payment_health(start=timezone.now() - timedelta(days=30), end=timezone.now() + timedelta(days=1))
    assert [(d.shop_name, d.currency, d.outstanding, d.debts) for d in health.debts] == [
        ("Kyoto Paper", "jpy", 3_000, 1),
        ("Kiln Co", "usd", 5_200, 2),
    ]
    assert health.negative_balances == []

    page = signed_in(make_platform_admin(email="root@example.com")).get("/console/revenue/").content.decode()
    assert "Sellers with a negative balance or debts" in page
    assert f'href="/console/sellers/{kiln.pk}/">Kiln Co</a>: $52.00 owed (2 disputes)' in page
    assert "Kyoto Paper</a>: ¥3,000 owed (1 dispute)" in page and 'data-testid="negative-balances"' not in page
    assert "Paid Up" not in page and "No seller owes anything" not in page


def seller_after_a_lost_dispute(sandbox: Any, currency: str, shop: str, on_commit: Any) -> tuple[Seller, int]:
    """A seller who lost a dispute over half of a 10,000 sale whose funds are still pending: the
    recovery is taken from the available balance, which goes below zero while the total stays
    positive. Returns the seller and its available balance at Stripe.
    `on_commit`: pytest-django's `django_capture_on_commit_callbacks`."""
    seller = active_seller(sandbox, currency=currency, shop=shop)
    order = paid_order(sandbox, seller, 10_000)  # pending for days
    assert order.payment is not None
    lose_dispute(sandbox, charge_id=order.payment.stripe_charge_id, amount=5_000, on_commit=on_commit)
    available, pending = account_balance_parts(str(seller.stripe_account_id), currency)
    assert available < 0 < available + pending  # the ledger's total is positive
    return seller, available


def test_a_negative_available_balance_is_listed_though_pending_makes_the_total_positive(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Walking the demo: a seller's Money page showed an available balance of -¥7,380 after a lost
    dispute while the console said "No seller owes anything", as it read the ledger's total, which
    the sale's pending funds kept positive. Stripe takes the recovery from the available balance, pays
    nothing out while it is negative and the platform answers for it: the console lists the available
    balance per currency, the very figure the Money page shows, without the seller opening it."""
    admin, owing, queries_per_page = signed_in(make_platform_admin(email="root@example.com")), {}, []
    for currency in ("usd", "jpy"):
        seller, available = seller_after_a_lost_dispute(
            sandbox, currency, f"Owing {currency}", django_capture_on_commit_callbacks
        )
        assert ledger_balance(account=stripe_balance(str(seller.stripe_account_id)))[currency] > 0
        owing[currency] = (seller, available)
        with CaptureQueriesContext(connection) as queries:
            assert admin.get("/console/revenue/").status_code == 200
        queries_per_page.append(len(queries))
    assert queries_per_page[0] == queries_per_page[1], queries_per_page  # not one more per owing seller
    paid_up = active_seller(sandbox, currency="usd", shop="Paid Up")
    paid_order(sandbox, paid_up, 10_000, card=NOW)
    paid_up_available = account_balance_parts(str(paid_up.stripe_account_id), "usd")[0]
    assert paid_up_available > 0
    money_page = signed_in(paid_up.user).get("/sell/money/").content.decode()  # its balance is read
    assert format_money(paid_up_available, "usd") in money_page
    assert_ledger_equals_stripe()

    health = payment_health(start=timezone.now() - timedelta(days=30), end=timezone.now() + timedelta(days=1))
    assert [(b.seller_id, b.currency, b.balance) for b in health.negative_balances] == [
        (owing["jpy"][0].pk, "jpy", owing["jpy"][1]),
        (owing["usd"][0].pk, "usd", owing["usd"][1]),
    ]
    page = admin.get("/console/revenue/").content.decode()
    assert "No seller owes anything" not in page and "Paid Up" not in page
    for currency, (seller, available) in owing.items():
        shown = format_money(available, currency)
        assert f'href="/console/sellers/{seller.pk}/">{seller.shop_name}</a>: {shown} available' in page
        assert shown in signed_in(seller.user).get("/sell/money/").content.decode()  # the same figure


def test_a_seller_whose_balance_was_never_read_is_listed_after_the_beat_rereads_balances(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The console lists what Stripe last said: a seller not read since the figures were kept (the
    table is new after the migration) is missing until the beat job reads every seller's balance again."""
    admin = signed_in(make_platform_admin(email="root@example.com"))
    owing = {
        currency: seller_after_a_lost_dispute(
            sandbox, currency, f"Unread {currency}", django_capture_on_commit_callbacks
        )
        for currency in ("usd", "jpy")
    }
    AvailableBalance.objects.all().delete()
    cache.clear()
    assert "No seller owes anything" in admin.get("/console/revenue/").content.decode()

    assert reread_balances() == 2
    page = admin.get("/console/revenue/").content.decode()
    for currency, (seller, available) in owing.items():
        assert f"{seller.shop_name}</a>: {format_money(available, currency)} available" in page
    assert_ledger_equals_stripe()


def test_payment_health_queries_do_not_grow_with_owing_sellers() -> None:
    """1 seller in debt and below zero, then 50 of each: the revenue page is the same queries."""
    admin = signed_in(make_platform_admin(email="root@example.com"))
    counts = []
    for n in (1, 50):
        while SellerDebt.objects.count() < n:
            seller = _owing_seller(f"Owing {SellerDebt.objects.count():02}", "usd", (1_000, 0))
            below_zero(seller, "usd", -1_000 - seller.pk)
        with CaptureQueriesContext(connection) as queries:
            page = admin.get("/console/revenue/").content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert page.count("available</li>") == NEGATIVE_SHOWN and "And <a" in page


def below_zero(seller: Seller, currency: str, amount: int) -> None:
    """What Stripe's read of a seller below zero leaves (`payouts.selectors.seller_balance`)."""
    AvailableBalance.objects.create(
        account=seller.stripe_account_id, currency=currency, amount=amount, read_at=timezone.now()
    )


@pytest.mark.parametrize(("currency", "held_text"), [("usd", "$100.00"), ("jpy", "¥10,000")])
def test_an_open_dispute_is_held_not_lost_until_it_is_lost(
    sandbox: Any, currency: str, held_text: str, django_capture_on_commit_callbacks: Any
) -> None:
    """Stripe withdraws 10000 and a 1500 fee for a dispute. While it is open the report counts the
    fee and shows the 10000 as held by the bank, not as a dispute loss; once lost, it is a loss."""
    _, _, events = disputed_order(sandbox, currency)
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(events)
    admin = signed_in(make_platform_admin(email="root@example.com"))
    months = revenue_by_month(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(9999, 1, 1, tzinfo=UTC))
    assert (sum(m.dispute_losses for m in months), sum(m.dispute_fees for m in months)) == (0, 1_500)
    page = admin.get("/console/revenue/").content.decode()
    assert f'data-testid="disputes-held">Held by banks for open disputes: <strong>{held_text}</strong>' in page

    dispute_id = next(e for e in events if e["type"] == "charge.dispute.created")["data"]["object"]["id"]
    seen = {e["id"] for e in new_events(set())}
    control(sandbox, f"disputes/{dispute_id}/resolve", outcome="lost")
    with django_capture_on_commit_callbacks(execute=True):
        assert "failed" not in process(new_events(seen))
    months = revenue_by_month(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(9999, 1, 1, tzinfo=UTC))
    assert (sum(m.dispute_losses for m in months), sum(m.dispute_fees for m in months)) == (10_000, 1_500)
    assert 'data-testid="disputes-held"' not in admin.get("/console/revenue/").content.decode()
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_money_stripe_dates_after_our_clock_is_in_the_report(currency: str) -> None:
    """Stripe's clock dates the postings; a test clock runs ahead of ours (the demo's sandbox clock, Stripe's
    test clocks). A fee dated next month is in the page and the CSV, which end with that month then."""
    ahead = timezone.now() + timedelta(days=40)
    ledger_post(
        source_id="fee_ahead",
        kind="application_fee",
        description="fee",
        legs=[
            Leg(account=stripe_balance(""), amount=1_000, currency=currency),
            Leg(account=APPLICATION_FEES, amount=-1_000, currency=currency),
        ],
        occurred_at=ahead,
    )
    admin = signed_in(make_platform_admin(email="root@example.com"))
    assert f'data-currency="{currency}" data-total="1000"' in admin.get("/console/revenue/").content.decode()
    rows = list(csv.DictReader(io.StringIO(admin.get("/console/revenue.csv").content.decode())))
    assert [(r["month"], r["net_revenue"]) for r in rows] == [(ahead.strftime("%Y-%m"), "1000")]


def test_a_month_with_a_trailing_newline_is_refused() -> None:
    admin = signed_in(make_platform_admin(email="root@example.com"))
    answer = admin.get("/api/v1/console/revenue", {"month": "2026-11\n"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_month"


@pytest.mark.parametrize("currency", ["xyz", "abc", "usd\n", "us", "ZZZ"])
def test_a_currency_the_marketplace_does_not_support_is_refused_naming_the_field(currency: str) -> None:
    """A made-up code answered a month of zeros, as if the platform had earned nothing in it."""
    admin = signed_in(make_platform_admin(email="root@example.com"))
    answer = admin.get("/api/v1/console/revenue", {"currency": currency})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["fields"][0]["loc"] == ["query", "currency"]
    assert "usd" in error["fields"][0]["msg"] and "jpy" in error["fields"][0]["msg"]


@pytest.mark.parametrize("currency", ["usd", "JPY", "eur"])
def test_a_supported_currency_in_any_case_is_answered(currency: str) -> None:
    admin = signed_in(make_platform_admin(email="root@example.com"))
    answer = admin.get("/api/v1/console/revenue", {"currency": currency})
    assert answer.status_code == 200 and answer.json()["currency"] == currency.lower()


def test_someone_not_admin_gets_the_consoles_one_403_whatever_they_send() -> None:
    """The console's revenue answered a signed-in non-admin 404 `not_found`, its disputes 403
    `forbidden`: one console, one answer, before the input is read (a bad currency is not a 422)."""
    client = signed_in(UserFactory())
    revenue = client.get("/api/v1/console/revenue", {"currency": "xyz"})
    disputes = client.get("/api/v1/console/disputes")
    assert revenue.status_code == disputes.status_code == 403
    assert revenue.json() == disputes.json()
    assert revenue.json() == {"error": {"code": "forbidden", "message": "Only platform admins can use the console."}}


def test_a_currency_the_ledger_holds_is_answered_though_nobody_lists_in_it() -> None:
    """The revenue page shows every currency of the ledger (a fee Stripe settled in CHF, say); the API
    answers for it too rather than refusing a currency the page shows."""
    ledger_post(
        source_id="fee_chf",
        kind="application_fee",
        description="fee",
        legs=[
            Leg(account=stripe_balance(""), amount=700, currency="chf"),
            Leg(account=APPLICATION_FEES, amount=-700, currency="chf"),
        ],
        occurred_at=timezone.now(),
    )
    admin = signed_in(make_platform_admin(email="root@example.com"))
    assert 'data-currency="chf"' in admin.get("/console/revenue/").content.decode()
    answer = admin.get("/api/v1/console/revenue", {"currency": "CHF"})
    assert answer.status_code == 200 and answer.json()["application_fees"] == 700
    assert admin.get("/api/v1/console/revenue", {"currency": "sek"}).status_code == 422


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_refund_the_platform_paid_is_a_cost_of_net_revenue(sandbox: Any, currency: str) -> None:
    """An admin's refund "without taking it back from the seller" leaves the platform's balance and
    nothing comes back for it: net revenue left it out (only the fees and Stripe's fee counted), so
    the admin read the sale's whole margin as earned while the platform had paid the buyer from it.
    A refund the seller gave back stays out of it (its fee refund is the platform's only cost)."""
    seller = active_seller(sandbox, currency=currency)
    order = paid_order(sandbox, seller, 10_000, card="4000000000000077")
    assert order.payment is not None
    taken = refund_create(payment=order.payment, amount=2_000, origin=RefundOrigin.SELLER, order_id=order.pk)
    assert refund_submit(refund_id=taken.pk).status == RefundStatus.SUCCEEDED
    paid = refund_create(
        payment=order.payment, amount=3_000, origin=RefundOrigin.ADMIN, order_id=order.pk, reverse_transfer=False
    )
    assert refund_submit(refund_id=paid.pk).status == RefundStatus.SUCCEEDED
    assert_ledger_equals_stripe()

    months = list(revenue_by_month(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(9000, 1, 1, tzinfo=UTC)))
    ours = [m for m in months if m.currency == currency]
    assert sum(m.refunds_paid_by_platform for m in ours) == 3_000
    assert sum(m.refunds_to_buyers for m in ours) == 5_000
    assert sum(m.net_revenue for m in ours) == stripe_balances()[currency]  # the platform's balance, to the unit
    admin = signed_in(make_platform_admin(email="root@example.com"))
    rows = list(csv.DictReader(io.StringIO(admin.get("/console/revenue.csv").content.decode())))
    assert sum(int(r["refunds_paid_by_platform"]) for r in rows if r["currency"] == currency) == 3_000
    assert sum(int(r["net_revenue"]) for r in rows if r["currency"] == currency) == stripe_balances()[currency]
    page = admin.get("/console/revenue/").content.decode()
    assert "Refunds paid by the platform" in page
    assert f'data-currency="{currency}" data-total="{stripe_balances()[currency]}"' in page


def test_with_redis_down_the_console_still_lists_the_sellers_who_owe(
    sandbox: Any, redis_down: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The figures were the Money page's last reads, kept in Redis: with Redis down the page could only
    say they cannot be listed. They are rows in Postgres now (`AvailableBalance`), listed whatever Redis
    does, beside the debts."""
    admin = signed_in(make_platform_admin(email="root@example.com"))
    owing = {
        currency: seller_after_a_lost_dispute(
            sandbox, currency, f"Owing {currency}", django_capture_on_commit_callbacks
        )
        for currency in ("usd", "jpy")
    }
    redis_down(True)
    page = admin.get("/console/revenue/").content.decode()
    assert "No seller owes anything" not in page
    for currency, (seller, available) in owing.items():
        assert f"{seller.shop_name}</a>: {format_money(available, currency)} available" in page
    assert_ledger_equals_stripe()
