"""The store's per-kind, per-account index: lists read through it page exactly as a scan of every object would.

``list_page`` finds its cursor by bisection instead of scanning, so a long history pages in time proportional to
the page; these tests hold it to the scanning ``page(find(...))`` it replaced, with objects created out of order
(a reversal dated as its transfer), filters, deleted objects, both cursors and every limit edge.
"""

from __future__ import annotations

import random

import pytest

from stripe_sandbox.errors import StripeError
from stripe_sandbox.store import Store


def _store(seed: int) -> Store:
    rng = random.Random(seed)
    store = Store()
    for n in range(120):
        kind = rng.choice(["balance_transaction", "balance_transaction", "charge"])
        owner = rng.choice(["", "acct_a", "acct_b"])
        created = 1_000 + n // 3 - (rng.randrange(5) if rng.random() < 0.2 else 0)
        obj = {"id": f"x_{n}", "object": kind, "created": created, "currency": rng.choice(["usd", "jpy"])}
        if rng.random() < 0.05:
            obj["_deleted"] = True
        store.add(obj, owner)
    return store


@pytest.mark.parametrize("seed", range(8))
def test_list_page_pages_as_a_scan_would(seed: int) -> None:
    store = _store(seed)
    rng = random.Random(seed)
    for owner in ("", "acct_a", "acct_b"):
        for match in ({}, {"currency": "jpy"}):
            everything = store.find("balance_transaction", owner, **match)
            for limit in (1, 3, 10, 100):
                params: dict[str, object] = {"limit": limit}
                expected = store.page(everything, params, "/v1/x")
                assert store.list_page("balance_transaction", owner, params, "/v1/x", **match) == expected
                for cursor in rng.sample(everything, min(4, len(everything))):
                    for side in ("starting_after", "ending_before"):
                        params = {"limit": limit, side: cursor["id"]}
                        expected = store.page(everything, params, "/v1/x")
                        assert store.list_page("balance_transaction", owner, params, "/v1/x", **match) == expected
            created = {"gte": 1_010, "lt": 1_030}
            expected = store.page(everything, {"limit": 100, "created": created}, "/v1/x")
            got = store.list_page("balance_transaction", owner, {"limit": 100, "created": created}, "/v1/x", **match)
            assert got == expected


def test_a_cursor_from_another_list_is_stripes_404() -> None:
    store = _store(0)
    charge = store.find("charge", "")[0]
    other = store.find("balance_transaction", "acct_a")[0]
    for cursor in (charge["id"], other["id"], "txn_missing"):
        with pytest.raises(StripeError) as err:
            store.list_page("balance_transaction", "", {"starting_after": cursor}, "/v1/x")
        assert err.value.status == 404
