"""The flows a newcomer walks in the demo, replayed over HTTP against its embedded SQLite and eager
tasks (`run_demo`, the `demo` fixture), where the Postgres suite never goes: a new buyer subscribes
to each of the two listings sold by subscription; their seller refunds part of a payment (the form
sent twice) and an admin refunds more from the console; a new JPY platform fee reaches the live JPY
subscriptions at the sandbox; a refund that fails at the buyer's bank is sent again, and the
seller's pages say where its share went; a new shop's currency follows its country.

This file runs after the demo's other tests (it moves the sandbox's clock and the JPY fee, and puts
the fee back)."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.demo.conftest import Demo
from tests.demo.test_sqlite_races import _post, check_out, run_together, sandbox, sign_up
from tests.demo.test_sqlite_refund_races import log_in
from tests.webhooks.broker import wait_for

pytestmark = pytest.mark.slow

KEY = {"Authorization": "Bearer sk_test_sandbox"}
ADMIN, SELLERS = (
    "admin@marketplace.test",
    {"jpy": "seller.active@marketplace.test", "usd": "seller.active.us@marketplace.test"},
)


def eventually(check: Callable[[], Any], timeout: float = 30) -> Any:
    """What `check` returns once it is truthy (webhooks reach the demo from the sandbox's thread)."""
    found: list[Any] = []
    wait_for(lambda: found.append(check()) or found[-1], timeout, lambda: f"never happened; last seen {found[-1:]}")
    return found[-1]


def page(demo: Demo, browser: requests.Session, path: str) -> str:
    answer = browser.get(f"{demo.url}{path}", timeout=60)
    assert answer.status_code == 200, answer.text[:2000]
    return html.unescape(answer.text)


def form_token(text: str, action: str) -> str:
    form = text.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    found = re.search(r'name="form_token" value="([^"]+)"', form)
    assert found, form
    return found.group(1)


def plan_listing(demo: Demo, currency: str) -> tuple[int, str]:
    [(listing, title)] = demo.query(
        "SELECT l.id, l.title FROM subscriptions_subscriptionplan p JOIN catalog_listing l ON l.id = p.listing_id"
        " WHERE l.currency = ?",
        (currency,),
    )
    return int(listing), str(title)


def subscribed(demo: Demo, currency: str) -> tuple[requests.Session, str, int]:
    """A new buyer subscribed (Subscribe, the hosted Checkout paid, back to our page): the buyer's
    session, their email and the id of the subscription's paid invoice."""
    email = f"subscriber-{uuid.uuid4().hex[:8]}@example.com"
    buyer = sign_up(demo, email)
    listing, title = plan_listing(demo, currency)
    started = _post(buyer, f"{demo.url}/listing/{listing}/subscribe/", {})
    assert started.status_code == 303 and started.headers["Location"].startswith(demo.sandbox_url), started.text
    session = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    paid = sandbox(demo, "POST", f"/_sandbox/checkout/sessions/{session}/pay", json={"card": "4242424242424242"})
    assert paid["status"] == "succeeded", paid
    mine = page(demo, buyer, f"/account/subscriptions/started/?session_id={session}")
    assert f"You subscribed to {title}." in mine and "Active" in mine
    invoice = eventually(
        lambda: demo.query(
            "SELECT i.id FROM subscriptions_subscriptioninvoice i JOIN subscriptions_subscription s"
            " ON s.id = i.subscription_id JOIN marketplace_user u ON u.id = s.buyer_id"
            " WHERE u.email = ? AND i.payment_id IS NOT NULL",
            (email,),
        )
    )
    return buyer, email, int(invoice[0][0])


@pytest.mark.parametrize(
    "currency, paid, parts", [("jpy", "¥8,200", ("¥1,111", "¥3,111")), ("usd", "$79.00", ("$11.11", "$31.11"))]
)
def test_a_subscription_payment_refunded_by_its_seller_then_by_an_admin_on_sqlite(
    demo: Demo, currency: str, paid: str, parts: tuple[str, str]
) -> None:
    buyer, email, invoice = subscribed(demo, currency)
    seller = log_in(demo, SELLERS[currency])
    subscribers = page(demo, seller, "/sell/subscriptions/")
    assert email in subscribers and f"/sell/subscriptions/payments/{invoice}/" in subscribers

    action = f"/sell/subscriptions/payments/{invoice}/refund/"
    first = page(demo, seller, f"/sell/subscriptions/payments/{invoice}/")
    amount = "1111" if currency == "jpy" else "11.11"
    sent = {"form_token": form_token(first, action), "amount": amount, "reason": "The box came late"}
    answers = run_together([lambda: _post(seller, f"{demo.url}{action}", sent) for _ in range(2)])  # a double tap
    assert all(a.status_code in (302, 303) for a in answers), [a.text[:500] for a in answers]
    payment = demo.query("SELECT payment_id FROM subscriptions_subscriptioninvoice WHERE id = ?", (invoice,))[0][0]
    assert demo.query("SELECT amount, status FROM payments_refund WHERE payment_id = ?", (payment,)) == [
        (1_111, "succeeded")
    ]
    money = page(demo, seller, "/sell/money/")
    row = money.split(email, 1)[1].split("</tr>", 1)[0]
    assert paid in row and parts[0] in row

    admin = log_in(demo, ADMIN)
    seller_id = demo.query(
        "SELECT s.id FROM sellers_seller s JOIN marketplace_user u ON u.id = s.user_id WHERE u.email = ?",
        (SELLERS[currency],),
    )[0][0]
    detail = page(demo, admin, f"/console/sellers/{seller_id}/")
    stripe_invoice = demo.query(
        "SELECT stripe_invoice_id FROM subscriptions_subscriptioninvoice WHERE id = ?", (invoice,)
    )[0][0]
    link = f"/console/refunds/?stripe_id={stripe_invoice}"
    assert f'href="{link}"' in detail
    form = page(demo, admin, link)
    assert f'value="{stripe_invoice}"' in form
    refunded = _post(
        admin,
        f"{demo.url}/console/refunds/subscription/",
        {
            "form_token": form_token(form, "/console/refunds/subscription/"),
            "stripe_id": stripe_invoice,
            "amount": "2000" if currency == "jpy" else "20.00",
            "reason": "Goodwill",
            "from_seller": "on",
        },
    )
    assert refunded.status_code == 302, refunded.text[:2000]
    assert "refunded to the buyer." in page(demo, admin, "/console/refunds/")
    assert f"{parts[1]} refunded" in page(demo, admin, f"/console/sellers/{seller_id}/")
    assert f"{parts[0]} of your {paid} payment" in page(demo, buyer, "/account/subscriptions/")


def test_a_new_jpy_platform_fee_reaches_the_live_jpy_subscriptions_on_sqlite(demo: Demo) -> None:
    subscribed(demo, "jpy")
    subscribed(demo, "usd")
    admin = log_in(demo, ADMIN)

    def percents() -> dict[str, set[float]]:
        found: dict[str, set[float]] = {}
        for (sub,) in demo.query("SELECT stripe_subscription_id FROM subscriptions_subscription"):
            got = sandbox(demo, "GET", f"/v1/subscriptions/{sub}", headers=KEY)
            found.setdefault(got["currency"], set()).add(got["application_fee_percent"])
        return found

    def set_jpy(percent: str) -> None:
        saved = _post(admin, f"{demo.url}/console/fees/", {"currency": "jpy", "percent": percent, "fixed": "0"})
        assert saved.status_code == 302, saved.text[:2000]

    assert percents() == {"jpy": {10}, "usd": {10}}
    set_jpy("12.5")
    assert eventually(lambda: percents() == {"jpy": {12.5}, "usd": {10}}), percents()
    set_jpy("10")  # as the demo seeds it, for whatever runs next
    assert eventually(lambda: percents() == {"jpy": {10}, "usd": {10}}), percents()


@pytest.mark.parametrize("currency, amount, shown", [("jpy", "2000", "¥2,000"), ("usd", "10.00", "$10.00")])
def test_a_refund_that_failed_at_the_bank_then_sent_again_on_sqlite(
    demo: Demo, currency: str, amount: str, shown: str
) -> None:
    buyer = sign_up(demo, f"buyer-{uuid.uuid4().hex[:8]}@example.com")
    [(listing, seller_id)] = demo.query(
        "SELECT l.id, l.seller_id FROM catalog_listing l JOIN sellers_seller s ON s.id = l.seller_id"
        " JOIN marketplace_user u ON u.id = s.user_id WHERE u.email = ? AND l.currency = ? AND l.status = 'published'"
        " AND l.id NOT IN (SELECT listing_id FROM subscriptions_subscriptionplan) ORDER BY l.price DESC LIMIT 1",
        (SELLERS[currency], currency),
    )
    session = check_out(demo, buyer, {"id": listing, "price": {"currency": currency}, "seller": {"id": seller_id}})
    paid = sandbox(demo, "POST", f"/_sandbox/checkout/sessions/{session}/pay", json={"card": "4000000000005126"})
    assert paid["status"] == "succeeded", paid
    [(order,)] = eventually(
        lambda: demo.query("SELECT id FROM orders_order WHERE checkout_session_id = ? AND status = 'paid'", (session,))
    )
    seller = log_in(demo, SELLERS[currency])
    path, action = f"/sell/orders/{order}/", f"/sell/orders/{order}/refund/"

    def refund() -> None:
        shown_page = page(demo, seller, path)
        sent = {"form_token": form_token(shown_page, action), "amount": amount, "reason": "Chipped"}
        answer = _post(seller, f"{demo.url}{action}", sent)
        assert answer.status_code == 302, answer.text[:2000]

    def money_row() -> str:
        return page(demo, seller, "/sell/money/").split(f"Order {order}", 1)[1].split("</tr>", 1)[0]

    refund()
    sandbox(demo, "POST", "/_sandbox/clock/advance", json={"seconds": 120})  # the buyer's bank sends it back
    eventually(lambda: demo.query("SELECT 1 FROM payments_refund WHERE order_id = ? AND status = 'failed'", (order,)))
    failed = page(demo, seller, path)
    assert "Your share of it stays taken back: refunding again uses it" in failed
    assert f"Of it, {shown} was taken back for a refund that failed; the next refund uses it." in money_row()

    refund()
    again = page(demo, seller, path)
    assert f"{shown} refunded to the buyer." in again
    assert "refunding again uses it" not in again
    assert "Your share of it was taken back then, and a later refund or a lost dispute used it" in again
    assert "refund that failed" not in money_row()
    assert "Its amount is open again." in page(demo, buyer, f"/orders/{order}/")


@pytest.mark.parametrize("country, currency", [("JP", "jpy"), ("FR", "eur"), ("US", "usd")])
def test_a_new_shops_currency_follows_its_country_on_sqlite(demo: Demo, country: str, currency: str) -> None:
    browser = sign_up(demo, f"shop-{uuid.uuid4().hex[:8]}@example.com")
    form = page(demo, browser, f"/sell/?country={country}")
    chosen = re.search(r'<option value="([a-z]*)" selected>', form.split('name="default_currency"', 1)[1])
    assert chosen and chosen.group(1) == currency, form
    shop = f"Shop {uuid.uuid4().hex[:6]}"
    started = _post(browser, f"{demo.url}/sell/start/", {"shop_name": shop, "country": country, "default_currency": ""})
    assert started.status_code == 302 and started.headers["Location"].startswith(demo.sandbox_url), started.text[:2000]
    assert demo.query("SELECT country, default_currency FROM sellers_seller WHERE shop_name = ?", (shop,)) == [
        (country, currency)
    ]
