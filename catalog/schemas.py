"""API shapes of the catalog. Money is always `amount` (integer minor units) + `currency`, with a
`display` string for people that clients must never parse back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

from catalog.models import DESCRIPTION_MAX_LENGTH, MAX_STOCK
from marketplace.schemas import InputSchema, PageOut, Text, Whole


class MoneyOut(Schema):
    amount: int
    currency: str
    display: str


class CategoryOut(Schema):
    id: int
    slug: str
    name: str


class SellerBriefOut(Schema):
    id: int
    shop_name: str


class ListingOut(Schema):
    id: int
    title: str
    description: str
    price: MoneyOut
    stock: int
    status: str
    category: CategoryOut
    seller: SellerBriefOut
    image_urls: list[str]
    published_at: datetime | None
    subscription_interval: str | None = Field(
        None,
        description='"month" or "year" when the listing is sold by subscription (subscribed to on its page, never '
        "put in a cart); null when it is bought once.",
    )


class ListingPageOut(PageOut):
    items: list[ListingOut]


ListingTitle = Annotated[Text, Field(min_length=1, max_length=140)]
ListingDescription = Annotated[Text, Field(max_length=DESCRIPTION_MAX_LENGTH)]
Price = Annotated[Whole, Field(gt=0, description="Minor units of the seller's currency (cents; yen for JPY).")]
Stock = Annotated[Whole, Field(ge=0, le=MAX_STOCK)]
CategorySlug = Annotated[Text, Field(description="Category slug.")]


class ListingIn(InputSchema):
    title: ListingTitle
    description: ListingDescription = ""
    price: Price
    stock: Stock
    category: CategorySlug


# The value of a field left out of a patch. It is never read (the view reads `dict(exclude_unset=True)`),
# and an explicit null is refused by `_not_null`, so the fields' types stay what a client may send.
LEFT_OUT: Any = None


def _without_defaults(schema: dict[str, Any]) -> None:
    """A field left out of a patch is unchanged; its Python default (None) is not a value to send."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


class ListingPatch(InputSchema):
    """Only the fields sent change. A field left out keeps its value; `null` is refused (422), since
    none of these fields can be empty: send `""` to clear the description."""

    model_config = ConfigDict(json_schema_extra=_without_defaults)

    title: ListingTitle = LEFT_OUT
    description: ListingDescription = LEFT_OUT
    price: Price = LEFT_OUT
    stock: Stock = LEFT_OUT
    category: CategorySlug = LEFT_OUT

    @field_validator("title", "description", "price", "stock", "category", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value


class CartItemIn(InputSchema):
    listing_id: Whole
    quantity: Whole = Field(default=1, ge=1, le=99)


class CartItemPatch(InputSchema):
    quantity: Whole = Field(ge=1, le=99)


class CartLineOut(Schema):
    id: int
    listing_id: int
    title: str
    quantity: int
    unit_price: MoneyOut
    line_total: MoneyOut
    problem: str | None


class CartGroupOut(Schema):
    seller: SellerBriefOut
    currency: str
    lines: list[CartLineOut]
    subtotal: MoneyOut
    payable: bool = Field(
        description="Every line can be bought now: POST /api/v1/checkout with this group's seller id and currency "
        "pays it (each group is paid by its own checkout)."
    )


class CartOut(Schema):
    groups: list[CartGroupOut]
    totals: list[MoneyOut]
    note: str
