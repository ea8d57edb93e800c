"""Search ignores case beyond ASCII on the demo's SQLite as on Postgres. Walking the demo: a shop
listed a "Crème brûlée dish" and a buyer searching "CRÈME BRÛLÉE" found nothing, while Postgres
(whose `icontains` compares `UPPER()`s) finds it: SQLite's own LIKE folds the case of ASCII letters
only. The storefront's search and the API's, through the running demo."""

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
