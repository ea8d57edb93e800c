"""The seller's money pages: balance, payouts and what each contains, the payout schedule,
earnings per order and per week (chart), the monthly recurring revenue of subscriptions (the
same figures as the Subscribers page), and a statement for any dates, on a page and as a CSV, each
line naming the order it stems from (`payouts.selectors.statement_named`).

Every page works on the signed-in user's own shop; another shop's payout is a 404 like one that
does not exist. A shop without its Stripe account is led to onboarding (`_to_money_without_account`).
Balance and schedule come from Stripe through short caches, and a Stripe outage shows the last
figure with a sentence (`payouts.selectors`), never an error page.
"""

from __future__ import annotations

import csv
import functools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import ParamSpec
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from frontend.charts import Bar, bar_chart
from frontend.form_focus import focus_first_error
from marketplace.errors import DomainError, NotFound
from marketplace.money import format_money
from marketplace.text import spreadsheet_text
from payments.selectors import seller_debts_outstanding
from payouts import selectors, services
from payouts.failures import failure_sentence
from payouts.services import WEEKDAYS
from sellers.models import Seller
from sellers.selectors import seller_for_user
from subscriptions.selectors import recurring_revenue_of_seller

EARNINGS_PER_PAGE = 25
PAYOUTS_PER_PAGE = 25
STATEMENT_MAX_DAYS = 3660
STATEMENT_PER_PAGE = 50
P = ParamSpec("P")


class _NoStripeAccount(Exception):
    """The shop's Stripe account was never made (Stripe was unreachable when the shop opened)."""


def _seller(request: HttpRequest) -> Seller:
    try:
        seller = seller_for_user(user=request.user)
    except NotFound:
        raise Http404("You don't have a shop yet.") from None
    if not seller.stripe_account_id:
        raise _NoStripeAccount
    return seller


def _to_money_without_account(view: Callable[P, HttpResponseBase]) -> Callable[P, HttpResponseBase]:
    """A money page or form of a shop without its Stripe account leads to the Money page, which says
    why there is nothing to show and offers onboarding, changing nothing: the nav shows Money to
    every seller, and a bare 404 there was a dead end."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        try:
            return view(*args, **kwargs)
        except _NoStripeAccount:
            return redirect("sell_money")

    return wrapped


def _refusal(name: str) -> dict[str, str]:
    """Whatever is wrong with box `name`, the sentence the service says of it (`SCHEDULE_REFUSALS`)."""
    said = services.SCHEDULE_REFUSALS[name]
    return dict.fromkeys(("required", "invalid", "invalid_choice", "min_value", "max_value", "max_length"), said)


class ScheduleForm(forms.Form):
    interval = forms.ChoiceField(
        choices=[("daily", "Every day"), ("weekly", "Every week"), ("monthly", "Every month"), ("manual", "Manual")],
        label="How often Stripe pays you out",
        error_messages=_refusal("interval"),
    )
    weekly_anchor = forms.ChoiceField(
        choices=[(d, d.title()) for d in WEEKDAYS],
        required=False,
        label="Day of the week (weekly payouts)",
        error_messages=_refusal("weekly_anchor"),
    )
    monthly_anchor = forms.IntegerField(
        min_value=1,
        max_value=31,
        required=False,
        label="Day of the month (monthly)",
        error_messages=_refusal("monthly_anchor"),
    )
    form_token = forms.CharField(max_length=64, widget=forms.HiddenInput, error_messages=_refusal("form_token"))


SCHEDULE_SHOWN = ("interval", "weekly_anchor", "monthly_anchor")  # the boxes a refusal can point at


class StatementForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                self.add_error("end", "The end date must be on or after the start date.")
            elif end == date.max:  # the range ends the day after `end`, which this one has not
                self.add_error("end", f"The end date must be before {date.max:%d %B %Y}.")
            elif (end - start).days > STATEMENT_MAX_DAYS:
                self.add_error("end", "A statement covers ten years at most.")
        return data


def _chart_context(account: str, owed: dict[str, int]) -> list[dict[str, object]]:
    """The weekly charts, each with what the seller owes from lost disputes in its currency (`owed`): the
    chart counts what moved the Stripe balance, and a debt its balance could not cover has not moved it yet,
    so the caption names it, where the earnings per order already take it."""
    charts = []
    for series in selectors.weekly_earnings(account=account):
        bars = [Bar(start.strftime("%d %b"), amount) for start, amount in series.weeks]
        charts.append(
            {
                "currency": series.currency,
                "total": series.total,
                "owed": owed.get(series.currency, 0),
                "weeks": series.weeks,
                "svg": bar_chart(
                    chart_id=f"earnings-{series.currency}",
                    title=f"Net earnings per week, last 12 weeks, {series.currency.upper()}",
                    bars=bars,
                    currency=series.currency,
                ),
            }
        )
    return charts


@login_required
@require_GET
def sell_money(request: HttpRequest) -> HttpResponse:
    try:
        seller = _seller(request)
    except _NoStripeAccount:
        return render(request, "sell/money_no_account.html")
    return _money_page(request, seller)


def _money_page(
    request: HttpRequest,
    seller: Seller,
    *,
    schedule_form: ScheduleForm | None = None,
    statement_form: StatementForm | None = None,
) -> HttpResponse:
    """The money page; with a refused schedule or statement form, that form as it was sent, its error
    beside the wrong box and the cursor in it (a 422): the seller sees which box of which form the
    sentence means, where a redirect put it at the top of the page."""
    account = str(seller.stripe_account_id)
    schedule = selectors.seller_payout_schedule(account=account)
    banner = selectors.payout_failure_banner(account=account)
    orders = Paginator(selectors.earnings_per_order(seller_id=seller.pk), EARNINGS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    earnings = [(order, selectors.order_net(order)) for order in orders.object_list]
    sub_payments = Paginator(
        selectors.subscription_payments_with_earnings(seller_id=seller.pk), EARNINGS_PER_PAGE
    ).get_page(request.GET.get("sub_page"))
    today = datetime.now(tz=UTC).date()
    if schedule_form is None:
        schedule_form = ScheduleForm(
            initial={
                "interval": schedule.interval if schedule else "daily",
                "weekly_anchor": (schedule.weekly_anchor if schedule else None) or "monday",
                "monthly_anchor": (schedule.monthly_anchor if schedule else None) or 1,
                "form_token": uuid.uuid4().hex,
            }
        )
    if statement_form is None:
        statement_form = StatementForm(initial={"start": today - timedelta(days=30), "end": today})
    for form in (schedule_form, statement_form):
        focus_first_error(form)
    balance = selectors.seller_balance(account=account)
    # Pay out now, for what Stripe has available: a currency at 0 was offered and every press refused.
    # A balance Stripe could not give now keeps the form (what it holds is not known).
    payable = balance.available if balance.stale else [part for part in balance.available if part.amount > 0]
    refused = schedule_form.is_bound or statement_form.is_bound  # only a refused form comes back bound
    debts = seller_debts_outstanding(seller=seller)
    return render(
        request,
        "sell/money.html",
        {
            "seller": seller,
            "balance": balance,
            "negative_sentences": selectors.negative_balance_sentences(balance=balance),
            "payable": payable,
            "schedule": schedule,
            "schedule_sentence": selectors.schedule_sentence(schedule),
            "schedule_form": schedule_form,
            "payout_token": uuid.uuid4().hex,  # the Pay out now form's (see `services.seller_payout_request`)
            "banner": banner,
            "payouts": list(selectors.payouts_for_account(account=account)[:5]),
            "earnings": earnings,
            "orders_page": orders,
            "sub_payments": list(sub_payments.object_list),
            "sub_payments_page": sub_payments,
            "charts": _chart_context(account, debts),
            "statement_form": statement_form,
            "debts": debts,
            "revenue": recurring_revenue_of_seller(seller=seller),
        },
        status=422 if refused else 200,
    )


@login_required
@require_POST
@_to_money_without_account
def sell_payout_schedule(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _money_page(request, seller, schedule_form=form)
    data = form.cleaned_data
    try:
        schedule = services.seller_payout_schedule_set(
            account=str(seller.stripe_account_id),
            seller_id=seller.pk,
            interval=data["interval"],
            weekly_anchor=data.get("weekly_anchor") or None,
            monthly_anchor=data.get("monthly_anchor"),
            form_token=data["form_token"],
        )
    except DomainError as exc:
        # The box the service refused, by its sentence; Stripe's refusal is the form's own error.
        wrong = next((name for name, said in services.SCHEDULE_REFUSALS.items() if said == exc.message), None)
        form.add_error(wrong if wrong in SCHEDULE_SHOWN else None, exc.message)
        return _money_page(request, seller, schedule_form=form)
    messages.success(request, "Payout schedule saved. " + selectors.schedule_sentence(schedule))
    return redirect("sell_money")


@login_required
@require_POST
@_to_money_without_account
def sell_payout_now(request: HttpRequest) -> HttpResponse:
    """Manual payouts: the available balance of one currency, to the bank now."""
    seller = _seller(request)
    try:
        payout = services.seller_payout_request(
            account=str(seller.stripe_account_id),
            seller_id=seller.pk,
            currency=request.POST.get("currency", "").strip().lower(),
            form_token=request.POST.get("form_token", "").strip(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sell_money")
    amount = format_money(payout.amount, payout.currency)
    arrival = payout.arrival_date.strftime("%-d %B %Y")
    messages.success(request, f"{amount} is on its way to your bank account; Stripe expects it to arrive by {arrival}.")
    return redirect("sell_money")


@login_required
@require_GET
@_to_money_without_account
def sell_payouts(request: HttpRequest) -> HttpResponse:
    seller = _seller(request)
    page = Paginator(selectors.payouts_for_account(account=str(seller.stripe_account_id)), PAYOUTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "sell/payouts.html", {"seller": seller, "page": page})


@login_required
@require_GET
@_to_money_without_account
def sell_payout_detail(request: HttpRequest, payout_id: int) -> HttpResponse:
    seller = _seller(request)
    payout = selectors.payout_for_account(account=str(seller.stripe_account_id), payout_id=payout_id)
    if payout is None:
        raise Http404("No such payout.")
    contents = selectors.payout_contents(payout=payout, seller_id=seller.pk)
    return render(
        request,
        "sell/payout_detail.html",
        {
            "seller": seller,
            "payout": payout,
            "contents": contents,
            "failed_sentence": failure_sentence(payout.failure_code) if payout.status == "failed" else "",
        },
    )


def _statement_span(form: StatementForm) -> tuple[datetime, datetime]:
    """The form's dates as [start, end) in UTC: `end` is the day after the last one included."""
    start = datetime.combine(form.cleaned_data["start"], time.min, tzinfo=UTC)
    end = datetime.combine(form.cleaned_data["end"] + timedelta(days=1), time.min, tzinfo=UTC)
    return start, end


@login_required
@require_GET
@_to_money_without_account
def sell_statement_page(request: HttpRequest) -> HttpResponse:
    """The statement on a page, each line with the order it stems from as a link (or why it has
    none), a page of lines at a time; the same dates' CSV is a link away."""
    seller = _seller(request)
    form = StatementForm(request.GET)
    if not form.is_valid():
        return _money_page(request, seller, statement_form=form)
    start, end = _statement_span(form)
    page = Paginator(
        selectors.statement_rows(account=str(seller.stripe_account_id), start=start, end=end), STATEMENT_PER_PAGE
    ).get_page(request.GET.get("page"))
    lines = selectors.statement_named(rows=page.object_list, seller_id=seller.pk)
    dates = urlencode({"start": form.cleaned_data["start"], "end": form.cleaned_data["end"]})
    return render(
        request,
        "sell/statement.html",
        {
            "seller": seller,
            "lines": lines,
            "page": page,
            "dates": dates,
            "first": start,
            "last": end - timedelta(days=1),
        },
    )


@login_required
@require_GET
@_to_money_without_account
def sell_statement(request: HttpRequest) -> HttpResponseBase:
    seller = _seller(request)
    form = StatementForm(request.GET)
    if not form.is_valid():
        return _money_page(request, seller, statement_form=form)
    start, end = _statement_span(form)
    lines = selectors.statement(seller_id=seller.pk, account=str(seller.stripe_account_id), start=start, end=end)

    def rows() -> Iterator[str]:
        out = _Line()
        writer = csv.writer(out)
        writer.writerow(
            ["date_utc", "kind", "order", "stripe_object", "description", "currency", "amount_minor", "amount"]
        )
        yield out.take()
        for named in lines:
            line = named.line
            writer.writerow(
                [
                    line.occurred_at.astimezone(UTC).isoformat(),
                    line.kind,
                    spreadsheet_text(named.reference),
                    line.source_id,
                    spreadsheet_text(line.description),
                    line.currency,
                    line.amount,
                    format_money(line.amount, line.currency),
                ]
            )
            yield out.take()

    name = f"statement-{form.cleaned_data['start']}-{form.cleaned_data['end']}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _Line:
    """A file-like sink for `csv.writer` that hands back what was written since the last take."""

    def __init__(self) -> None:
        self.buffer: list[str] = []

    def write(self, text: str) -> None:
        self.buffer.append(text)

    def take(self) -> str:
        text, self.buffer = "".join(self.buffer), []
        return text


urlpatterns = [
    path("sell/money/", sell_money, name="sell_money"),
    path("sell/money/schedule/", sell_payout_schedule, name="sell_payout_schedule"),
    path("sell/money/payout/", sell_payout_now, name="sell_payout_now"),
    path("sell/money/statement/", sell_statement_page, name="sell_statement_page"),
    path("sell/money/statement.csv", sell_statement, name="sell_statement"),
    path("sell/money/payouts/", sell_payouts, name="sell_payouts"),
    path("sell/money/payouts/<int:payout_id>/", sell_payout_detail, name="sell_payout_detail"),
]
