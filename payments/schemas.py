"""API shapes of disputes. Evidence fields carry Stripe's names."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from marketplace.schemas import InputSchema, PageOut, Text


class DisputeFileOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    side: str
    evidence_field: str
    sent_to_stripe: bool


class DisputeOut(Schema):
    id: int
    stripe_id: str
    status: str
    status_label: str
    reason: str
    reason_text: str
    currency: str
    amount: int
    amount_display: str
    due_by: datetime | None
    days_left: int | None
    order_id: int | None
    seller_id: int | None
    shop_name: str | None
    submission_count: int
    submitted_at: datetime | None
    closed_at: datetime | None
    seller_statement: str
    files: list[DisputeFileOut]


class DisputePageOut(PageOut):
    items: list[DisputeOut]


class ConsoleDisputeOut(DisputeOut):
    evidence: dict[str, str]
    evidence_parts: int
    evidence_parts_total: int


class ConsoleDisputePageOut(PageOut):
    items: list[ConsoleDisputeOut]


class DisputeFileFieldIn(InputSchema):
    """Which of Stripe's evidence file fields a proof file fills (receipt, shipping_documentation...), or
    `not_sent`: kept here, out of the evidence (Stripe takes one file per field)."""

    evidence_field: str = Field(max_length=40)


class EvidenceIn(InputSchema):
    """Stripe's evidence text fields (only those the console edits), saved as a draft: `POST
    .../submit` sends them to the bank, once. Any other name is refused (422): the fields left out
    are cleared, so a misspelt name (or a `submit` flag) taken silently wiped the draft."""

    product_description: Text | None = Field(default=None, max_length=20_000)
    customer_name: Text | None = Field(default=None, max_length=20_000)
    customer_email_address: Text | None = Field(default=None, max_length=20_000)
    shipping_carrier: Text | None = Field(default=None, max_length=20_000)
    shipping_tracking_number: Text | None = Field(default=None, max_length=20_000)
    shipping_date: Text | None = Field(default=None, max_length=20_000)
    shipping_address: Text | None = Field(default=None, max_length=20_000)
    refund_policy_disclosure: Text | None = Field(default=None, max_length=20_000)
    refund_refusal_explanation: Text | None = Field(default=None, max_length=20_000)
    uncategorized_text: Text | None = Field(default=None, max_length=20_000)


class StatementIn(InputSchema):
    statement: Text = Field(max_length=20_000)
