from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from marketplace.schemas import InputSchema, PageOut, Text, Whole


class CheckoutIn(InputSchema):
    seller_id: int | None = Field(
        default=None, description="Pay this one shop; omitted: everything in the cart in `currency`, at once."
    )
    currency: Text


class CheckoutOut(Schema):
    order_id: int
    order_ids: list[int] = Field(description="Every order this one payment pays: one per shop.")
    url: str


class RefundOut(Schema):
    id: int
    amount: int
    amount_display: str
    currency: str
    status: str
    status_label: str
    reason: str
    failure_message: str
    created_at: datetime


class OrderLineOut(Schema):
    id: int
    title: str
    listing_id: int
    unit_amount: int
    quantity: int
    amount: int
    fee_amount: int | None = Field(description="The platform's fee on this line; null to the order's buyer.")


# What the platform takes and what the shop keeps are the shop's and the platform's business: the
# buyer's own view of an order (`/orders`, `/orders/{id}` as its buyer) has them null.
FOR_THE_SHOP = "; null to the order's buyer (the shop's and the platform's business)."


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
    application_fee_amount: int | None = Field(description="The platform's fee on this order" + FOR_THE_SHOP)
    seller_net: int | None = Field(
        description="What the shop keeps of this order: the sale less the platform's fee it kept, refunds "
        "taken back from the shop (a failed refund's share too while it stays taken back) and what lost "
        "disputes took (its order and money pages show the same)" + FOR_THE_SHOP
    )
    tracking_number: str
    carrier: str
    created_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    lines: list[OrderLineOut]
    amount_refunded: int
    refunds: list[RefundOut]


class OrderPageOut(PageOut):
    items: list[OrderOut]


class FulfilIn(InputSchema):
    tracking_number: Text
    carrier: Text = ""


RefundReasonIn = Literal["not_received", "damaged", "not_as_described", "changed_mind", "other"]


class RefundLineIn(InputSchema):
    line_id: int
    quantity: Whole


class RefundRequestIn(InputSchema):
    reason: RefundReasonIn
    note: Text = Field(default="", max_length=500)
    lines: list[RefundLineIn] | None = None


class RefundRequestLineOut(Schema):
    line_id: int
    title: str
    quantity: int


class RefundRequestOut(Schema):
    id: int
    order_id: int
    status: str
    status_label: str
    reason: str
    reason_label: str
    note: str
    whole_order: bool
    lines: list[RefundRequestLineOut]
    amount: int
    currency: str
    decision_note: str
    created_at: datetime
    decided_at: datetime | None
    refund: RefundOut | None


class RefundRequestPageOut(PageOut):
    items: list[RefundRequestOut]


TAKE_WHOLE_SHARE_DOC = (
    "After refunds the platform paid itself, a refund of everything left refunds the payment in full, and "
    "Stripe then takes back all that is left of the shop's share, the part the platform paid for included. "
    "Such a refund is refused (422 `whole_share_unconfirmed`, the message naming the amount) unless this is true."
)


class RefundApproveIn(InputSchema):
    amount: Whole | None = None
    restock: bool = False
    note: Text = Field(default="", max_length=500)
    take_whole_share: bool = Field(default=False, description=TAKE_WHOLE_SHARE_DOC)


class RefundDeclineIn(InputSchema):
    reason: Text = Field(max_length=500)


class SellerRefundIn(InputSchema):
    amount: Whole | None = None
    lines: list[RefundLineIn] | None = None
    reason: Text = Field(max_length=300)
    restock: bool = False
    take_whole_share: bool = Field(default=False, description=TAKE_WHOLE_SHARE_DOC)
