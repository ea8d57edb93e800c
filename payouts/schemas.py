"""API shapes of the seller's money: balance, payouts and their lines. Amounts in minor units."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema

from marketplace.schemas import PageOut


class AmountOut(Schema):
    amount: int
    currency: str


class BalanceOut(Schema):
    available: list[AmountOut]
    pending: list[AmountOut]
    as_of: datetime | None
    stale: bool
    message: str


class PayoutOut(Schema):
    id: int
    stripe_id: str
    amount: int
    currency: str
    status: str
    automatic: bool
    arrival_date: datetime
    created_at: datetime
    failure_code: str
    failure_sentence: str


class PayoutPageOut(PageOut):
    items: list[PayoutOut]


class PayoutLineOut(Schema):
    stripe_id: str
    type: str
    label: str
    amount: int
    fee: int
    net: int
    currency: str
    source: str
    order_id: int | None


class PayoutDetailOut(PayoutOut):
    lines: list[PayoutLineOut]
    lines_message: str
