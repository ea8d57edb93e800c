"""Search ignores case beyond ASCII on the demo's SQLite as on Postgres. Walking the demo: a shop
listed a "Crème brûlée dish" and a buyer searching "CRÈME BRÛLÉE" found nothing, while Postgres
(whose `icontains` compares `UPPER()`s) finds it: SQLite's own LIKE folds the case of ASCII letters
only. A shop's name finds what the shop sells there too, and `%`, `_` are searched for as themselves.
The storefront's search and the API's, through the running demo."""

from __future__ import annotations

import re
import uuid

import requests

from tests.demo.conftest import Demo
from tests.demo.test_sqlite_races import _post
from tests.demo.test_sqlite_refund_races import log_in

SELLER = "seller.active.us@marketplace.test"


def test_a_search_in_other_letters_case_finds_an_accented_title_on_sqlite(demo: Demo) -> None:
    seller = log_in(demo, SELLER)
    [(category,)] = demo.query("SELECT id FROM catalog_category WHERE name = 'Ceramics'")
    form = {
        "title": "Crème brûlée dish",
        "description": "Fluted porcelain, oven safe. Hand-painted in Évora.",
        "price": "18.50",
        "stock": "4",
        "category": str(category),
        "form_token": uuid.uuid4().hex,
    }
    made = _post(seller, f"{demo.url}/sell/listings/new/", form)
    assert made.status_code == 302, made.text[:2000]
    [(listing,)] = demo.query("SELECT id FROM catalog_listing WHERE title = 'Crème brûlée dish'")
    assert _post(seller, f"{demo.url}/sell/listings/{listing}/publish/", {}).status_code == 302

    for query in ("Crème brûlée", "CRÈME BRÛLÉE", "crème", "ÉVORA", "dish BRÛLÉE"):
        page = requests.get(f"{demo.url}/search/", params={"q": query}, timeout=60).text
        assert re.search(r"Crème brûlée dish", page), query
        found = requests.get(f"{demo.url}/api/v1/listings", params={"q": query}, timeout=60).json()["items"]
        assert [item["id"] for item in found] == [listing], query
    # The words still must all appear: folding case finds no more than Postgres would.
    assert requests.get(f"{demo.url}/api/v1/listings", params={"q": "CRÈME brulee"}, timeout=60).json()["items"] == []


def _found(demo: Demo, query: str) -> tuple[str, list[int]]:
    """The search page and the ids the public API finds for `query`, through the running demo."""
    page = requests.get(f"{demo.url}/search/", params={"q": query}, timeout=60)
    assert page.status_code == 200, query
    items = requests.get(f"{demo.url}/api/v1/listings", params={"q": query}, timeout=60).json()["items"]
    return page.text, sorted(item["id"] for item in items)


def _published_of(demo: Demo, shop: str) -> list[int]:
    rows = demo.query(
        "SELECT l.id FROM catalog_listing l JOIN sellers_seller s ON s.id = l.seller_id"
        " WHERE s.shop_name = ? AND l.status = 'published'",
        (shop,),
    )
    return sorted(row[0] for row in rows)


def test_a_shops_name_finds_what_it_sells_but_not_a_paused_or_restricted_shops_items_on_sqlite(demo: Demo) -> None:
    """A buyer typing a demo shop's name found nothing from it: search read titles and descriptions only."""
    brooklyn = _published_of(demo, "Brooklyn Ceramics")
    assert len(brooklyn) > 1
    for query in ("Brooklyn Ceramics", "brooklyn", "BROOKLYN CERAMICS"):
        page, found = _found(demo, query)
        assert found == brooklyn, query
        assert f"{len(brooklyn)} listings found" in page and "by <a href=" in page
    # The shop's name and a title's word together: only that shop's mugs.
    [(mug,)] = demo.query(
        "SELECT l.id FROM catalog_listing l JOIN sellers_seller s ON s.id = l.seller_id"
        " WHERE s.shop_name = 'Brooklyn Ceramics' AND l.title = 'Speckled stoneware mug'"
    )
    assert _found(demo, "brooklyn mug")[1] == [mug]

    # The paused shop (Austin Leather) and the restricted one (Berlin Bikes) have published listings,
    # hidden from buyers: their names find none of them.
    for shop in ("Austin Leather", "Berlin Bikes"):
        assert _published_of(demo, shop), shop
        page, found = _found(demo, shop)
        assert found == [] and "No listing matches" in page, shop


def test_like_wildcards_nul_and_very_long_input_in_the_search_box_on_sqlite(demo: Demo) -> None:
    """SQLite's LIKE is replaced in the demo (`marketplace/sqlite.py`): `%` and `_` typed by a buyer are
    still only themselves there (no demo listing or shop has either), as on Postgres."""
    for query in ("%", "_", "%%", "m_g", "\\"):
        page, found = _found(demo, query)
        assert found == [] and "No listing matches" in page, query
    page, found = _found(demo, "brooklyn " * 3_000)
    assert found == _published_of(demo, "Brooklyn Ceramics")
    page, found = _found(demo, "b" * 20_000)
    assert found == [] and "No listing matches" in page
    refused = requests.get(f"{demo.url}/search/", params={"q": "brooklyn\x00"}, timeout=60)
    assert refused.status_code == 400 and "NUL character" in refused.text
