from __future__ import annotations

from datetime import datetime

from ninja import Schema


class RequirementsOut(Schema):
    currently_due: list[str]
    past_due: list[str]
    eventually_due: list[str]
    pending_verification: list[str]
    current_deadline: datetime | None
    sentences: list[str]
    errors: list[str]


class SellerOut(Schema):
    id: int
    shop_name: str
    country: str
    default_currency: str
    status: str
    status_label: str
    status_headline: str
    status_explanation: str
    disabled_reason: str | None
    disabled_reason_sentence: str | None
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool
    can_sell: bool
    capabilities: dict[str, str]
    requirements: RequirementsOut


class LinkOut(Schema):
    url: str
    expires_at: datetime | None = None
