"""API shapes of the catalog. Money is always `amount` (integer minor units) + `currency`, with a
`display` string for people that clients must never parse back."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


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


class ListingPageOut(Schema):
    items: list[ListingOut]
    count: int
    page: int
    pages: int


class ListingIn(Schema):
    title: str = Field(min_length=1, max_length=140)
    description: str = Field(default="", max_length=10_000)
    price: int = Field(gt=0, description="Minor units of the seller's currency (cents; yen for JPY).")
    stock: int = Field(ge=0, le=1_000_000)
    category: str = Field(description="Category slug.")


class ListingPatch(Schema):
    title: str | None = Field(default=None, min_length=1, max_length=140)
    description: str | None = Field(default=None, max_length=10_000)
    price: int | None = Field(default=None, gt=0)
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    category: str | None = None


class CartItemIn(Schema):
    listing_id: int
    quantity: int = Field(default=1, ge=1, le=99)


class CartItemPatch(Schema):
    quantity: int = Field(ge=1, le=99)


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
