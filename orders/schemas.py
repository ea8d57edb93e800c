from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from marketplace.schemas import Text


class CheckoutIn(Schema):
    seller_id: int | None = Field(
        default=None, description="Pay this one shop; omitted: everything in the cart in `currency`, at once."
    )
    currency: Text


class CheckoutOut(Schema):
    order_id: int
    order_ids: list[int] = Field(description="Every order this one payment pays: one per shop.")
    url: str


class OrderLineOut(Schema):
    title: str
    listing_id: int
    unit_amount: int
    quantity: int
    amount: int
    fee_amount: int


class OrderOut(Schema):
    id: int
    status: str
    status_label: str
    status_message: str
    payment_error: str
    shop_name: str
    currency: str
    amount_total: int
    amount_total_display: str
    application_fee_amount: int
    seller_net: int
    tracking_number: str
    carrier: str
    created_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    lines: list[OrderLineOut]


class FulfilIn(Schema):
    tracking_number: Text
    carrier: Text = ""
