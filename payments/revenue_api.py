"""`/api/v1/console/revenue`: the platform's revenue of one month in one currency, from the
ledger (platform admins only: anyone else signed in gets the console's 403 `forbidden`, as from its
disputes; it answered 404, one console with two answers for the same caller)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import ValidationError

from marketplace.errors import InvalidInput
from marketplace.ledger.reports import RevenueMonth, month_start, next_month, revenue_by_month
from marketplace.ledger.selectors import ledger_has_currency
from marketplace.money import LISTING_CURRENCIES
from marketplace.schemas import errors
from payments.api import ADMIN_AUTH

router = Router(tags=["console"])
MONTH = re.compile(r"(\d{4})-(\d{2})")  # fullmatch: `$` would let a trailing newline in


class RevenueOut(Schema):
    month: str
    currency: str
    gross_volume: int
    refunds_to_buyers: int
    application_fees: int
    fees_refunded: int
    stripe_fees: int
    dispute_losses: int
    dispute_recoveries: int
    dispute_fees: int
    refunds_paid_by_platform: int
    net_revenue: int


@router.get("/console/revenue", auth=ADMIN_AUTH, response={200: RevenueOut, **errors(403)}, url_name="console_revenue")
def revenue(request: HttpRequest, month: str = "", currency: str = "usd") -> RevenueOut:
    """Amounts in minor units; `month` YYYY-MM (UTC; the current one when left out). A bad month
    or currency is a 422 (documented for every operation with parameters), after the admin check
    (403 `forbidden` to anyone else, whatever they send). A currency the marketplace does not sell
    in (`xyz`) answered a month of zeros, which reads as "nothing earned": it is a 422 naming
    `currency` in `error.fields`, as ninja's own validation answers (one the ledger holds is answered,
    as the revenue page shows it). 403 `mfa_required`: a session
    that has not passed the admin's authenticator app where the console requires one
    (`PlatformAdminMfaMiddleware`)."""
    now = datetime.now(tz=UTC)
    match = MONTH.fullmatch(month) if month else None
    if month and (match is None or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 9998):
        raise InvalidInput("month must be YYYY-MM, between 2000-01 and 9998-12.", code="invalid_month")
    start = month_start(int(match.group(1)), int(match.group(2))) if match else month_start(now.year, now.month)
    code = currency.lower()
    if code not in LISTING_CURRENCIES and not ledger_has_currency(currency=code):
        message = f"currency must be one of {', '.join(LISTING_CURRENCIES)}."
        raise ValidationError([{"loc": ("query", "currency"), "msg": message, "type": "value_error"}])
    rows = [r for r in revenue_by_month(start=start, end=next_month(start)) if r.currency == code]
    row = rows[0] if rows else RevenueMonth(start, code)
    return RevenueOut.model_validate(row.as_row())
