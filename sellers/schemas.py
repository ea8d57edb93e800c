from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from marketplace.schemas import InputSchema, Text
from sellers.services import SUPPORTED_COUNTRIES


def _currency_rule() -> str:
    """The API's words for the rule `services.seller_create` applies, from its table of countries."""
    own = ", ".join(f"{currencies[0]} for {code}" for code, (_, currencies) in SUPPORTED_COUNTRIES.items())
    others = "; ".join(
        f"{code}: {' or '.join(currencies[1:])}"
        for code, (_, currencies) in SUPPORTED_COUNTRIES.items()
        if len(currencies) > 1
    )
    return (
        'Lowercase ISO 4217 currency for prices and payouts. Leave it out (or send "") for the country\'s '
        f"own, as the Start selling form's \"The country's own currency\" does: {own}. A country's other "
        f"payout currencies are taken too ({others}); any other is a 422 `currency_unsupported` naming it "
        "and the country."
    )


class SellerIn(InputSchema):
    shop_name: Text = Field(
        max_length=120, description="As buyers read it; refused when another shop's reads or looks alike."
    )
    country: Text = Field(
        max_length=2, description=f"ISO 3166-1 alpha-2 of the business: {', '.join(SUPPORTED_COUNTRIES)}."
    )
    default_currency: Text = Field(default="", max_length=3, description=_currency_rule())


class RequirementsOut(Schema):
    currently_due: list[str]
    past_due: list[str]
    eventually_due: list[str]
    pending_verification: list[str]
    current_deadline: datetime | None
    sentences: list[str]
    errors: list[str]


class FailedPayoutOut(Schema):
    """The shop's last failed payout while no later one was paid: the seller home's banner."""

    id: int = Field(description="The payout, as `GET /api/v1/seller/payouts/{id}` reads it.")
    amount: int = Field(description="In the currency's minor units.")
    currency: str
    sentence: str = Field(description="Why it failed and the way out, as the seller home says it.")
    bank_updated: bool = Field(description="The bank details were updated since: the money goes with the next payout.")


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
    bank_errored: bool = Field(
        description="A payout failed and the bank account is still disabled by it: Stripe sends no payout "
        "until the seller updates it in the Stripe Express dashboard (`POST /api/v1/seller/dashboard-link`); "
        "`status_explanation` says so, as the seller home does."
    )
    failed_payout: FailedPayoutOut | None


class LinkOut(Schema):
    url: str
    expires_at: datetime | None = None
