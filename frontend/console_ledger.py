"""The ledger's monthly report in the admin console: for one calendar month of the site's time zone,
what moved on each account in each currency (debits, credits, net change), with each currency's
totals as a trial balance, and the same figures as a CSV, for an accountant.

The month links go from the first month with an entry to the later of the last one and this month
(`ledger_months`); a month outside, typed or in an old address, gets the sentence naming them
beside the box, not an empty report linking on to the next month, and so on to the year 9998.

Each page is a fixed number of queries whatever the number of accounts: the report's two
(`ledger_monthly_report`), one for the months the ledger spans and one for the names of the shops
whose accounts moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from frontend.decorators import platform_admin_required
from frontend.downloads import csv_response
from frontend.form_focus import focus_first_error
from marketplace.errors import InvalidInput
from marketplace.ledger.chart import CHART, AccountKind
from marketplace.ledger.selectors import MonthlyReport, ReportLine, ledger_monthly_report, ledger_months
from marketplace.text import spreadsheet_text
from sellers.models import Seller

KIND_LABELS = {
    AccountKind.ASSET: "Asset",
    AccountKind.REVENUE: "Revenue",
    AccountKind.CONTRA_REVENUE: "Contra-revenue",
    AccountKind.EXPENSE: "Expense",
    AccountKind.CONTRA_EXPENSE: "Contra-expense",
}
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only: `\d` reads other scripts' digits too
MALFORMED = "Write the month as year and month, for example 2026-11."


class MonthForm(forms.Form):
    """The month picker: `?month=YYYY-MM`, empty for the current month. Only the shape is checked
    here; which months exist is the selector's to say (its sentence goes beside the box)."""

    month = forms.CharField(
        label="Month",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def clean_month(self) -> tuple[int, int] | None:
        text = self.cleaned_data["month"]
        if not text:
            return None
        found = _MONTH.fullmatch(text)
        if found is None:
            raise forms.ValidationError(MALFORMED)
        return int(found[1]), int(found[2])


@dataclass(frozen=True)
class Row:
    """One account's line, named as the chart names it and, for a shop's account, by its shop."""

    line: ReportLine
    name: str  # the chart's; "Stripe balance — platform" for the platform's own of an account each side has
    kind: str
    stripe_account: str  # "" for the platform's
    seller_id: int | None  # None for the platform's, or an account no shop of ours has (any more)
    shop_name: str


@dataclass(frozen=True)
class Section:
    currency: str
    rows: list[Row]

    @property
    def debits(self) -> int:
        return sum(row.line.debits for row in self.rows)

    @property
    def credits(self) -> int:
        return sum(row.line.credits for row in self.rows)

    @property
    def difference(self) -> int:
        """Debits less credits: 0, since Postgres refuses an unbalanced entry; shown if it ever is not."""
        return self.debits - self.credits


def _sections(report: MonthlyReport) -> list[Section]:
    accounts = {line.account.stripe_account for line in report.lines} - {""}
    shops = {
        account: (pk, name)
        for account, pk, name in Seller.objects.filter(stripe_account_id__in=accounts).values_list(
            "stripe_account_id", "id", "shop_name"
        )
    }
    sections: dict[str, list[Row]] = {}
    for line in report.lines:  # by currency, then kind and name
        ref = line.account
        seller_id, shop_name = shops.get(ref.stripe_account, (None, ""))
        sections.setdefault(line.currency, []).append(
            Row(
                line=line,
                name=CHART[ref.code].name if ref.stripe_account else ref.name,
                kind=KIND_LABELS[ref.kind],
                stripe_account=ref.stripe_account,
                seller_id=seller_id,
                shop_name=str(shop_name),
            )
        )
    return [Section(currency, rows) for currency, rows in sections.items()]


Month = tuple[int, int]  # (year, month)


def _month_name(month: Month) -> str:
    return f"{datetime(month[0], month[1], 1):%B %Y}"


def _outside(first: Month, last: Month) -> str:
    if first == last:
        return f"Pick {_month_name(first)}: the ledger has no entries in other months."
    return f"Pick a month from {_month_name(first)} to {_month_name(last)}: the ledger has no entries in other months."


def _neighbour(start: datetime, step: int, months: tuple[Month, Month]) -> str | None:
    """`?month=` of the month before (-1) or after (+1), None past the months the ledger spans."""
    year, month = divmod(start.year * 12 + start.month - 1 + step, 12)
    return f"{year:04d}-{month + 1:02d}" if months[0] <= (year, month + 1) <= months[1] else None


def _report(request: HttpRequest) -> tuple[MonthForm, MonthlyReport | None, tuple[Month, Month]]:
    """The month asked for, its report and the months the ledger spans; None and the form with its
    sentence when the month is not one, or is outside them (the page then says so beside the box,
    and shows no figures)."""
    form = MonthForm(request.GET)
    today = timezone.localtime(timezone.now(), timezone.get_default_timezone())
    months = ledger_months(current=(today.year, today.month))
    if not form.is_valid():
        focus_first_error(form)
        return form, None, months
    asked = form.cleaned_data["month"] or (today.year, today.month)
    try:
        report = ledger_monthly_report(year=asked[0], month=asked[1])  # first: it says what is not a month
    except InvalidInput as exc:
        form.add_error("month", exc.message)
        focus_first_error(form)
        return form, None, months
    if not months[0] <= asked <= months[1]:
        form.add_error("month", _outside(*months))
        focus_first_error(form)
        return form, None, months
    return form, report, months


def _page(
    request: HttpRequest, form: MonthForm, report: MonthlyReport | None, months: tuple[Month, Month]
) -> HttpResponse:
    context: dict[str, object] = {"form": form, "report": report, "time_zone": timezone.get_default_timezone_name()}
    if report is not None:
        month = f"{report.start:%Y-%m}"
        context |= {
            "form": MonthForm(initial={"month": month}),  # the month shown, the current one included
            "month": month,
            "sections": _sections(report),
            "previous": _neighbour(report.start, -1, months),
            "next": _neighbour(report.start, +1, months),
        }
    return render(request, "console/ledger.html", context)


@platform_admin_required
@require_GET
def console_ledger(request: HttpRequest) -> HttpResponse:
    return _page(request, *_report(request))


@platform_admin_required
@require_GET
def console_ledger_csv(request: HttpRequest) -> HttpResponse:
    """The page's figures in minor units, one line per account and currency; a month that is not one
    gets the page and its sentence, as the page itself does."""
    form, report, months = _report(request)
    if report is None:
        return _page(request, form, report, months)
    header = ["month", "currency", "account", "kind", "stripe_account", "shop", "debits", "credits", "net_change"]
    lines = [
        [
            f"{report.start:%Y-%m}",
            row.line.currency,
            row.name,
            row.line.account.kind.value,
            row.stripe_account,
            spreadsheet_text(row.shop_name),
            row.line.debits,
            row.line.credits,
            row.line.net,
        ]
        for section in _sections(report)
        for row in section.rows
    ]
    return csv_response([header, *lines], filename=f"ledger-{report.start:%Y-%m}.csv")


urlpatterns = [
    path("console/ledger/", console_ledger, name="console_ledger"),
    path("console/ledger.csv", console_ledger_csv, name="console_ledger_csv"),
]
