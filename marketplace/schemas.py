"""API shapes shared by every router: the one error body, the one page of a list, and the text type
of every string input.

Why `Page` and `PageOut`: the lists answered three ways (a bare list, 100 a page; `{items, count, page,
pages}` whose page was clamped to the last, so a client looping until an empty page never stopped; the
first 100 and no way to the rest). Every list is now `PageOut`'s envelope, the shape the public
listings' clients already read, which alone tells a client how many there are and when to stop; its
`page` is `Page` (from 1, anything else a 422), and a page past the end is empty, never another page.

Why `Text`: Postgres refuses NUL characters in text, so a JSON string carrying `\\u0000` reached the
database as a 500. Its pattern refuses NUL with a 422 in the project's error shape, and the OpenAPI
document states it, so clients and schemathesis know such strings are not valid input. (A lone
surrogate such as `\\ud800`, which cannot be encoded to UTF-8, is refused by pydantic itself.)

Why `Id`: a number beyond the database's integers (`?seller=99999999999999999999999`) reached SQLite
(the demo) as an OverflowError, a 500; every row id fits in a signed 64-bit integer, so a larger
one is a 422 that says so, in the OpenAPI document too.

Why `Whole`: pydantic's integers take `true` as 1 and "12" or 12.0 as 12, so a client's mistake in a
price, a stock or a refund's amount changed it (`"stock": true` left one unit) instead of a 422. Amounts
and counts a person's money or stock rides on take JSON integers only.

Why `InputSchema`: ninja drops a body's unknown fields, and a field left out takes its default, which
for several means "everything" (a refund's `amount` and `lines`, a checkout's `seller_id`) or "cleared"
(dispute evidence): a misspelt `amout` refunded the whole order. Every request body refuses them (422).
"""

from __future__ import annotations

from collections.abc import Callable
from math import ceil
from typing import Annotated, Any, TypeVar

from django.db.models import QuerySet
from ninja import Schema
from pydantic import ConfigDict, Field, Strict

NO_NUL_PATTERN = "^[^\\x00]*$"

Text = Annotated[str, Field(pattern=NO_NUL_PATTERN)]

Whole = Annotated[int, Strict()]

MAX_ID = 2**63 - 1  # BigAutoField's largest, and SQLite's INTEGER's
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# A list operation's `?page=`: far past any list, and small enough that its OFFSET never overflows.
Page = Annotated[
    int, Field(ge=1, le=1_000_000, description="1 for the first page, 2 for the next; past the last: no items")
]


def page_slice(page: int, per_page: int) -> slice:
    """The rows of `page` (1-based) of a list `per_page` long, for a queryset's `[...]`."""
    start = (page - 1) * per_page
    return slice(start, start + per_page)


class PageOut(Schema):
    """The envelope of every list (see the module); each list's schema adds `items: list[ItsOut]`."""

    count: int = Field(description="How many the whole list holds.")
    page: int = Field(description="This page's number, as asked: past the last, `items` is empty.")
    pages: int = Field(description="How many pages the list has (1 when it is empty).")


Row = TypeVar("Row")
Item = TypeVar("Item")


# Every list's page size but where an operation says why another (the storefront's listings). The lists
# answered 24, 25, 100 or 200 a page, each the size its page or its author chose, with nothing in the
# API that needed it: a client had to learn each. 100, the size most of them had, keeps reading a
# whole list to few requests and a page's answer small.
PER_PAGE = 100


def paged(
    rows: QuerySet[Any, Row], page: int, out: Callable[[Row], Item], *, per_page: int = PER_PAGE
) -> dict[str, Any]:
    """`page` of `rows`, `per_page` a page, each row through `out`: the fields of a `PageOut`."""
    count = rows.count()
    return {
        "items": [out(row) for row in rows[page_slice(page, per_page)]],
        "count": count,
        "page": page,
        "pages": max(1, ceil(count / per_page)),
    }


class InputSchema(Schema):
    """A request body: an unknown field is a 422 naming it, never silently dropped (see the module)."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(Schema):
    code: str = Field(description="Stable, machine-readable reason, e.g. `not_found`, `invalid_input`.")
    message: str = Field(description="A sentence for a person.")
    fields: list[dict[str, Any]] | None = Field(
        default=None, description="With `invalid_input` from validation: one entry per invalid field."
    )


class ErrorOut(Schema):
    """Every 4xx and 5xx answer of the API: `{"error": {"code", "message"}}`."""

    error: ErrorBody


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """Response entries for the domain errors an operation can answer, e.g. `{200: X, **errors(404)}`."""
    return dict.fromkeys(statuses, ErrorOut)
