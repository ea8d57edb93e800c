"""The attack on the demo, replayed against its embedded SQLite over HTTP (`run_demo`, the `demo`
fixture): the demo buyer asks for a refund of a seeded order, then four sessions of its shop approve
it at the same moment; and the shop's refund form is posted twice with the same hidden token. Each
makes one refund, in the demo's database and at its sandbox. SQLite has no row locks
(`select_for_update` does nothing there): the approval's claim is a conditional UPDATE, which
`BEGIN IMMEDIATE` serializes."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from marketplace.management.commands.seed_demo import DEMO_PASSWORD
from tests.demo.conftest import Demo
from tests.demo.test_sqlite_races import _post, run_together, sandbox, signed_in

pytestmark = pytest.mark.slow

BUYER = "buyer@marketplace.test"
SELLERS = {"jpy": "seller.active@marketplace.test", "usd": "seller.active.us@marketplace.test"}


def log_in(demo: Demo, email: str) -> requests.Session:
    return signed_in(demo, "/accounts/login/", {"login": email, "password": DEMO_PASSWORD})


def api_post(demo: Demo, browser: requests.Session, path: str, body: dict[str, Any]) -> requests.Response:
    headers = {"X-CSRFToken": browser.cookies.get("csrftoken") or ""}
    return browser.post(f"{demo.url}/api/v1{path}", json=body, headers=headers, timeout=60)


def seeded_order(demo: Demo, currency: str) -> int:
    """The demo buyer's paid order from the demo's active shop in `currency` (one shop, one payment)."""
    rows = demo.query(
        "SELECT o.id FROM orders_order o JOIN sellers_seller s ON s.id = o.seller_id "
        "JOIN marketplace_user u ON u.id = s.user_id WHERE u.email = ? AND o.status = 'paid' "
        "AND o.checkout_group_id IS NULL ORDER BY o.id",
        (SELLERS[currency],),
    )
    assert rows, f"the demo seeds a paid {currency} order"
    return int(rows[0][0])


def stripe_refunds(demo: Demo, order_id: int) -> list[tuple[int, str]]:
    charge = demo.query(
        "SELECT p.stripe_charge_id FROM orders_order o JOIN payments_payment p ON p.id = o.payment_id WHERE o.id = ?",
        (order_id,),
    )[0][0]
    found = sandbox(
        demo, "GET", "/v1/refunds", params={"charge": charge}, headers={"Authorization": "Bearer sk_test_sandbox"}
    )
    return [(r["amount"], r["status"]) for r in found["data"]]


def test_four_approvals_of_one_request_at_once_make_one_refund_on_sqlite(demo: Demo) -> None:
    order_id = seeded_order(demo, "jpy")
    buyer = log_in(demo, BUYER)
    asked = api_post(demo, buyer, f"/orders/{order_id}/refund-requests", {"reason": "damaged", "note": "race"})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    sellers = [log_in(demo, SELLERS["jpy"]) for _ in range(4)]

    answers = run_together(
        [
            lambda s=s: api_post(  # type: ignore[misc]
                demo, s, f"/seller/refund-requests/{request_id}/approve", {"amount": 400, "note": "ok"}
            )
            for s in sellers
        ]
    )

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    assert [a.json()["error"]["code"] for a in answers if a.status_code == 409] == ["request_answered"] * 3
    assert demo.query("SELECT amount, token FROM payments_refund WHERE order_id = ?", (order_id,)) == [
        (400, f"request:{request_id}:1")
    ]
    assert stripe_refunds(demo, order_id) == [(400, "succeeded")]
    assert "database is locked" not in demo.output


def test_the_sellers_refund_form_posted_twice_makes_one_refund_on_sqlite(demo: Demo) -> None:
    order_id = seeded_order(demo, "usd")
    seller = log_in(demo, SELLERS["usd"])
    page = seller.get(f"{demo.url}/sell/orders/{order_id}/", timeout=60).text
    token = re.search(r'name="form_token" value="([0-9a-f]{32})"', page)
    assert token, page[:3000]
    form = {"amount": "1.00", "reason": "dbl", "form_token": token.group(1)}
    url = f"{demo.url}/sell/orders/{order_id}/refund/"

    answers = run_together([lambda: _post(seller, url, form), lambda: _post(seller, url, form)])

    assert [a.status_code for a in answers] == [302, 302], [a.text[:2000] for a in answers]
    assert demo.query("SELECT amount FROM payments_refund WHERE order_id = ?", (order_id,)) == [(100,)]
    assert stripe_refunds(demo, order_id) == [(100, "succeeded")]
    page = seller.get(f"{demo.url}/sell/orders/{order_id}/", timeout=60).text
    assert page.count("$1.00 refunded to the buyer.") >= 1, page[:3000]
