"""The platform's revenue (by month and currency, from the ledger, with a chart and a CSV), payment
health and the reconciliation's differences, in the admin console. Each page is a fixed number of
queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from frontend.charts import Bar, bar_chart
from frontend.decorators import platform_admin_required
from frontend.downloads import csv_response
from marketplace.ledger.chart import DISPUTED_FUNDS
from marketplace.ledger.reports import FIGURES, RevenueMonth, month_start, next_month, revenue_by_month
from marketplace.ledger.selectors import ledger_balance, ledger_last_movement
from marketplace.outbox.services import outbox_add
from payments.health import negative_balances_listed, payment_health
from payouts.models import ReconciliationDifference, ReconciliationRun
from payouts.selectors import negative_balances

MONTHS_SHOWN = 12
LABELS = {
    "gross_volume": "Gross volume",
    "refunds_to_buyers": "Refunds to buyers",
    "application_fees": "Application fees",
    "fees_refunded": "Fees refunded",
    "stripe_fees": "Stripe processing fees",
    "dispute_losses": "Dispute losses",
    "dispute_recoveries": "Recovered from sellers",
    "dispute_fees": "Dispute fees",
    "refunds_paid_by_platform": "Refunds paid by the platform",
    "net_revenue": "Net revenue",
}


def _window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last `MONTHS_SHOWN` calendar months (UTC), this one included; or, when Stripe dated money
    in a later month (its clock dates postings, and a test clock runs ahead of ours), up to that one."""
    now = now or datetime.now(tz=UTC)
    latest = ledger_last_movement()
    if latest is not None and latest > now:
        now = latest
    end = next_month(month_start(now.year, now.month))
    start = end
    for _ in range(MONTHS_SHOWN):
        start = month_start(start.year - (start.month == 1), (start.month - 2) % 12 + 1)
    return start, end


def _months_between(start: datetime, end: datetime) -> list[datetime]:
    months, when = [], start
    while when < end:
        months.append(when)
        when = next_month(when)
    return months


@platform_admin_required
def console_revenue(request: HttpRequest) -> HttpResponse:
    start, end = _window()
    rows = revenue_by_month(start=start, end=end)
    # Withdrawn for disputes still open: not a loss (yet), so not in the months' figures.
    held = {currency: amount for currency, amount in ledger_balance(account=DISPUTED_FUNDS).items() if amount}
    currencies = sorted({row.currency for row in rows} | set(held))
    months = _months_between(start, end)
    tables = []
    for currency in currencies:
        of_month = {row.month: row for row in rows if row.currency == currency}
        series = [of_month.get(month, RevenueMonth(month, currency)) for month in months]
        bars = [Bar(month.strftime("%b %y"), row.net_revenue) for month, row in zip(months, series, strict=True)]
        tables.append(
            {
                "currency": currency,
                "rows": [r for r in reversed(series) if r.month in of_month],
                "total": sum(r.net_revenue for r in series),
                "held": held.get(currency, 0),
                "svg": bar_chart(
                    chart_id=f"revenue-{currency}",
                    title=f"Net revenue per month, last {MONTHS_SHOWN} months, {currency.upper()}",
                    bars=bars,
                    currency=currency,
                ),
            }
        )
    return render(
        request,
        "console/revenue.html",
        {
            "tables": tables,
            "labels": LABELS,
            "health": payment_health(start=start, end=end),
            "start": start,
        },
    )


@platform_admin_required
def console_revenue_csv(request: HttpRequest) -> HttpResponse:
    start, end = _window()
    columns = ["month", "currency", *FIGURES, "refunds_paid_by_platform", "net_revenue"]
    values = [row.as_row() for row in revenue_by_month(start=start, end=end)]
    lines = [[row[c] for c in columns] for row in values]
    return csv_response([columns, *lines], filename=f"revenue-{start:%Y-%m}-{end:%Y-%m}.csv")


NEGATIVE_PAGE_SIZE = 50


@platform_admin_required
@require_GET
def console_negative_balances(request: HttpRequest) -> HttpResponse:
    """Every seller whose available balance at Stripe is below zero, paged: the revenue page lists the
    first few and links here for the others. Two queries a page (the count, the page) whatever the
    number of sellers."""
    page = Paginator(negative_balances(), NEGATIVE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "console/negative_balances.html",
        {"page": page, "balances": negative_balances_listed(page.object_list)},
    )


urlpatterns = [
    path("console/revenue/", console_revenue, name="console_revenue"),
    path("console/revenue.csv", console_revenue_csv, name="console_revenue_csv"),
    path("console/negative-balances/", console_negative_balances, name="console_negative_balances"),
]


@platform_admin_required
def console_reconciliation(request: HttpRequest) -> HttpResponse:
    """What the last reconciliation runs found: each difference with the Stripe object, both sides'
    amounts and our order. Two queries, whatever the count (the table shows 200 at most)."""
    differences = list(ReconciliationDifference.objects.select_related("order").order_by("-occurred_at", "-id")[:200])
    runs = list(ReconciliationRun.objects.order_by("-started_at", "-id")[:5])
    context = {"differences": differences, "runs": runs, "attempt": uuid.uuid4().hex}
    return render(request, "console/reconciliation.html", context)


@platform_admin_required
@require_POST
def console_reconciliation_run(request: HttpRequest) -> HttpResponse:
    """ "Check again now": a full run through the outbox (`payouts.reconcile_now`), so the page never
    waits on Stripe and a broker outage delays it without losing it. The form's token makes a double
    click one run."""
    attempt = (request.POST.get("attempt") or "").strip()
    if not attempt or len(attempt) > 64 or not (attempt.isascii() and attempt.isalnum()):
        messages.error(request, "The form is out of date: reload the page and try again.")
    else:
        outbox_add("payouts.reconcile_now", key=f"reconcile-now:{attempt}")
        messages.success(request, "A check of every account is on its way: its result shows under Last runs.")
    return redirect("console_reconciliation")


urlpatterns += [
    path("console/reconciliation/", console_reconciliation, name="console_reconciliation"),
    path("console/reconciliation/run/", console_reconciliation_run, name="console_reconciliation_run"),
]
