"""The demo's embedded SQLite under the race the issue saw: buyers coming back from the hosted Checkout,
and sellers from the hosted onboarding, while the webhooks of their payments and accounts are taken
in and processed (eager tasks, in the same requests).

Everything goes over HTTP to `run_demo` (the `demo` fixture): buyers sign up, fill a cart and check
out through the pages, sellers open a shop; the sandbox's control API pays the sessions and
completes the onboardings while its webhook deliveries are held. Then, all at once: every buyer
opens the success page, every seller the onboarding return page, copies of each payment's
`checkout.session.completed` are posted to the webhook endpoint from several threads, and the
sandbox releases its own deliveries. Before WAL, a busy timeout and BEGIN IMMEDIATE (see
config/settings/base.py), some of these requests failed with "database is locked".
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from stripe_sandbox.webhooks import sign
from tests.demo.conftest import STUCK_EVENT, Demo
from tests.webhooks.broker import wait_for

pytestmark = pytest.mark.slow

BUYERS = 8
SELLERS = 3
PASSWORD = "a-long-demo-password-9"


def _post(session: requests.Session, url: str, data: dict[str, Any]) -> requests.Response:
    token = session.cookies.get("csrftoken")
    if token is None:  # no form page seen yet: any page with a form sets the cookie
        session.get(url)
        token = session.cookies["csrftoken"]
    return session.post(url, data={"csrfmiddlewaretoken": token, **data}, allow_redirects=False, timeout=60)


def signed_in(demo: Demo, path: str, data: dict[str, str]) -> requests.Session:
    """A new browser session after posting allauth's form at `path` (sign-up or login) with `data`."""
    browser = requests.Session()
    page = browser.get(f"{demo.url}{path}", timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = browser.post(
        f"{demo.url}{path}",
        data={"csrfmiddlewaretoken": token.group(1), **data},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 302, answer.text[:2000]
    return browser


def sign_up(demo: Demo, email: str) -> requests.Session:
    return signed_in(demo, "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def check_out(demo: Demo, browser: requests.Session, listing: dict[str, Any]) -> str:
    """Add one unit to the cart and press Pay: the id of the Checkout Session it sends us to."""
    added = _post(
        browser, f"{demo.url}/cart/add/", {"listing": listing["id"], "quantity": 1, "attempt": uuid.uuid4().hex}
    )
    assert added.status_code == 302 and added.headers["Location"] == "/cart/", added.text[:2000]
    currency = listing["price"]["currency"]
    started = _post(browser, f"{demo.url}/checkout/", {"seller_id": listing["seller"]["id"], "currency": currency})
    assert started.status_code == 303 and started.headers["Location"].startswith(demo.sandbox_url), started.text[:2000]
    return str(started.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def start_selling(demo: Demo, browser: requests.Session, shop: str) -> str:
    """Open a shop and press on to Stripe's hosted onboarding: the account link's token."""
    form = {"shop_name": shop, "country": "US", "default_currency": "usd"}
    started = _post(browser, f"{demo.url}/sell/start/", form)
    assert started.status_code == 302 and started.headers["Location"].startswith(demo.sandbox_url), started.text[:2000]
    return str(started.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def sandbox(demo: Demo, method: str, path: str, **kwargs: Any) -> Any:
    answer = requests.request(method, f"{demo.sandbox_url}{path}", timeout=30, **kwargs)
    answer.raise_for_status()
    return answer.json()


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Every call at the same moment (a barrier), each in its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_buyers_and_sellers_returning_from_stripe_while_webhooks_arrive_all_land_on_their_page(demo: Demo) -> None:
    listings = requests.get(f"{demo.url}/api/v1/listings", timeout=60).json()["items"]
    listings = [item for item in listings if item["stock"] >= BUYERS and item["subscription_interval"] is None]
    assert listings, "the demo seeds listings in stock"
    stamp = int(time.time() * 1000)
    buyers = [sign_up(demo, f"racer{stamp}.{n}@example.com") for n in range(BUYERS)]
    sessions = [check_out(demo, browser, listings[n % len(listings)]) for n, browser in enumerate(buyers)]
    sellers = [sign_up(demo, f"maker{stamp}.{n}@example.com") for n in range(SELLERS)]
    links = [start_selling(demo, browser, f"Race Shop {n}") for n, browser in enumerate(sellers)]

    sandbox(demo, "POST", "/_sandbox/deliveries/hold")
    paid = [
        sandbox(demo, "POST", f"/_sandbox/checkout/sessions/{cs}/pay", json={"card": "4242424242424242"})
        for cs in sessions
    ]
    assert all(p["status"] == "succeeded" for p in paid), paid
    onboarded = [sandbox(demo, "POST", f"/_sandbox/account_links/{token}/complete", json={}) for token in links]
    key = {"Authorization": "Bearer sk_test_sandbox"}
    completed = sandbox(
        demo, "GET", "/v1/events", params={"type": "checkout.session.completed", "limit": 100}, headers=key
    )
    ours = [e for e in completed["data"] if e["data"]["object"]["id"] in sessions]
    assert len(ours) == BUYERS
    delivered_before = len(sandbox(demo, "GET", "/_sandbox/deliveries")["data"])

    def come_back(browser: requests.Session, url: str) -> tuple[int, str, str]:
        answer = browser.get(url, allow_redirects=False, timeout=60)
        landing = browser.get(f"{demo.url}{answer.headers.get('Location', '/')}", timeout=60)
        return answer.status_code, answer.headers.get("Location", ""), landing.text

    def deliver_copy(event: dict[str, Any]) -> int:
        body = json.dumps(event)
        headers = {"Stripe-Signature": sign(body, "whsec_demo_platform"), "Content-Type": "application/json"}
        return requests.post(f"{demo.url}/webhooks/stripe/", data=body, headers=headers, timeout=60).status_code

    returns = [*zip(buyers, paid, strict=True), *zip(sellers, onboarded, strict=True)]
    calls: list[Callable[[], Any]] = [(lambda b=b, r=r: come_back(b, r["redirect_url"])) for b, r in returns]
    calls += [(lambda e=event: deliver_copy(e)) for event in ours for _copy in range(2)]
    calls.append(lambda: sandbox(demo, "POST", "/_sandbox/deliveries/release")["released"])
    results = run_together(calls)

    back, posted, released = results[: len(returns)], results[len(returns) : -1], results[-1]
    for status, location, order_page in back[:BUYERS]:
        assert status == 302 and re.fullmatch(r"/orders/\d+/", location), (status, location, order_page[:3000])
        assert re.search(r'data-testid="order-status">Paid<', order_page), order_page[:3000]
    for status, location, shop_page in back[BUYERS:]:
        assert (status, location) == (302, "/sell/"), shop_page[:3000]
        assert "Race Shop" in shop_page
    assert posted == [200] * len(posted)

    def attempts_after_release() -> list[dict[str, Any]]:
        return list(sandbox(demo, "GET", "/_sandbox/deliveries")["data"][delivered_before:])

    wait_for(
        lambda: len({a["event"] for a in attempts_after_release() if a["succeeded"]}) >= released,
        60,
        lambda: f"the sandbox's held deliveries did not all succeed: {attempts_after_release()}",
    )
    assert all(a["succeeded"] for a in attempts_after_release()), "no delivery needs a retry"
    orders = demo.query(
        f"SELECT status FROM orders_order WHERE checkout_session_id IN ({', '.join('?' * BUYERS)})",
        tuple(sessions),
    )
    assert sorted(orders) == [("paid",)] * BUYERS
    shops = demo.query("SELECT status, charges_enabled FROM sellers_seller WHERE shop_name LIKE 'Race Shop %'")
    assert shops == [("active", 1)] * SELLERS
    unfinished = demo.query(
        "SELECT id, type, status FROM webhooks_webhookevent WHERE status IN ('pending', 'failed', 'dead') AND id != ?",
        (STUCK_EVENT,),  # left by the fixture for the beat's test
    )
    assert unfinished == []
    assert "database is locked" not in demo.output and "OperationalError" not in demo.output


def test_add_to_cart_sent_four_times_at_once_adds_one_unit_on_sqlite(demo: Demo) -> None:
    """A double (or quadruple) click on Add to cart: the demo's SQLite has no row locks, its IMMEDIATE
    transactions make the posts take turns, and each after the first finds the first's token."""
    listing = next(
        item
        for item in requests.get(f"{demo.url}/api/v1/listings", timeout=60).json()["items"]
        if item["stock"] >= 2 and item["subscription_interval"] is None
    )
    browser = sign_up(demo, f"clicker{int(time.time() * 1000)}@example.com")
    page = browser.get(f"{demo.url}/listing/{listing['id']}/", timeout=60).text
    attempt = re.search(r'name="attempt" value="([0-9a-f]{32})"', page)
    assert attempt, page[:2000]
    form = {"listing": listing["id"], "quantity": 1, "attempt": attempt.group(1)}

    answers = run_together([lambda: _post(browser, f"{demo.url}/cart/add/", form) for _ in range(4)])

    assert [(a.status_code, a.headers.get("Location")) for a in answers] == [(302, "/cart/")] * 4
    cart = browser.get(f"{demo.url}/api/v1/cart", timeout=60).json()
    assert [(line["listing_id"], line["quantity"]) for g in cart["groups"] for line in g["lines"]] == [
        (listing["id"], 1)
    ]


def test_a_visitors_first_add_to_cart_sent_four_times_at_once_opens_one_cart_on_sqlite(demo: Demo) -> None:
    """A visitor (no session yet) clicking Add to cart four times: each post comes before any answer
    brought the session's cookie, so each is a new session, and each opened a cart of its own. On the
    demo's SQLite the posts take turns (IMMEDIATE transactions) and the later ones join the cart the
    first opened on the form's token: what one session adds, every other sees."""
    listings = [
        item
        for item in requests.get(f"{demo.url}/api/v1/listings", timeout=60).json()["items"]
        if item["stock"] >= 2 and item["subscription_interval"] is None
    ]
    first = listings[0]
    second = next(item for item in listings[1:] if item["price"]["currency"] == first["price"]["currency"])
    visit = requests.Session()
    page = visit.get(f"{demo.url}/listing/{first['id']}/", timeout=60).text
    attempt = re.search(r'name="attempt" value="([0-9a-f]{32})"', page)
    assert attempt and "sessionid" not in visit.cookies, page[:2000]
    form = {"listing": first["id"], "quantity": 1, "attempt": attempt.group(1)}
    clicks = [requests.Session() for _ in range(4)]
    for click in clicks:  # the same browser: its CSRF cookie, no session yet
        click.cookies.update(visit.cookies)

    answers = run_together([lambda click=click: _post(click, f"{demo.url}/cart/add/", form) for click in clicks])

    assert [(a.status_code, a.headers.get("Location")) for a in answers] == [(302, "/cart/")] * 4
    assert len({click.cookies.get("sessionid") for click in clicks}) == 4  # four sessions, as a browser's race gives
    more = clicks[0].get(f"{demo.url}/listing/{second['id']}/", timeout=60).text
    again = re.search(r'name="attempt" value="([0-9a-f]{32})"', more)
    assert again, more[:2000]
    added = _post(
        clicks[0], f"{demo.url}/cart/add/", {"listing": second["id"], "quantity": 1, "attempt": again.group(1)}
    )
    assert added.status_code == 302, added.text[:2000]
    for click in clicks:
        cart = click.get(f"{demo.url}/api/v1/cart", timeout=60).json()
        lines = sorted((line["listing_id"], line["quantity"]) for g in cart["groups"] for line in g["lines"])
        assert lines == sorted([(first["id"], 1), (second["id"], 1)])
