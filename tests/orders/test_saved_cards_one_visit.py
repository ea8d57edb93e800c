"""The cards page's forms share one visit token (`attempt`): on one visit (one page, or Back to it)
a buyer makes Mastercard the default, then Visa, then Mastercard again. Keyed by the customer, the
card, the card replaced and the visit, the third change had the first's key: Stripe replayed the
first answer within its 24 hours of keys, nothing changed, and the page said "Mastercard ending
4444 is now your default card." while Visa stayed the default and paid the subscription.

Through the sandbox over HTTP and the Django test client, the forms posted as the page draws them.
Stripe's requests are counted by a recording proxy in front of the sandbox (the gateway is not
touched): a double post of one form is one change at Stripe, and a retry after Stripe failed sends
the failed request's key again. USD and JPY; after the renewal the ledger equals Stripe."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from orders.services.checkout import buyer_customer_ensure
from tests.factories import UserFactory
from tests.orders.conftest import signed_in
from tests.orders.test_races import run_together
from tests.orders.test_saved_cards import saved_card
from tests.orders.test_saved_cards_and_subscriptions import VISA, card_of, plans, renew, subscribe
from tests.payments.helpers import assert_ledger_equals_stripe
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)

CURRENCIES = [("usd", 1_400), ("jpy", 1_400)]


@dataclass
class Sent:
    path: str
    key: str
    status: int
    replayed: bool


@dataclass
class StripeLog:
    """A proxy in front of the sandbox that writes down every POST the app sends (its path,
    Idempotency-Key, Stripe's status and whether Stripe replayed an earlier answer); `fail` holds
    path prefixes whose next POST gets a 500 from here without reaching Stripe."""

    upstream: str
    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    fail: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def changes(self, path: str) -> list[Sent]:
        """The POSTs to `path` Stripe carried out (answered 200, not a replay)."""
        return [s for s in self.sent if s.path == path and s.status == 200 and not s.replayed]

    def keys(self, path: str) -> list[str]:
        return [s.key for s in self.sent if s.path == path]


@pytest.fixture
def stripe_log(sandbox: Any, settings: Any) -> Iterator[StripeLog]:
    log = StripeLog(upstream=sandbox.url)
    upstream = urlsplit(sandbox.url)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            key = self.headers.get("Idempotency-Key", "")
            if self.command == "POST":
                with log.lock:
                    failing = next((p for p in log.fail if path.startswith(p)), None)
                    if failing is not None:
                        log.fail.remove(failing)
                        log.sent.append(Sent(path, key, 500, False))
                if failing is not None:
                    answer = b'{"error": {"type": "api_error", "message": "Something went wrong on Stripe\'s end."}}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            if self.command == "POST":
                replayed = reply.getheader("Idempotent-Replayed") == "true"
                with log.lock:
                    log.sent.append(Sent(path, key, reply.status, replayed))
            self.send_response(reply.status)
            for name, value in reply.getheaders():
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_API_BASE = log.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # a failure reaches the buyer, whose retry is the one counted
    try:
        yield log
    finally:
        server.shutdown()
        server.server_close()


def a_visit(client: Client) -> str:
    """The cards page drawn once: its visit token, which every form on it carries."""
    page = client.get("/account/cards/").content.decode()
    tokens = set(re.findall(r'name="attempt" value="([0-9a-f]{32})"', page))
    assert len(tokens) == 1, "the page's forms share one visit token"
    return tokens.pop()


def make_default(client: Client, card: str, attempt: str) -> list[str]:
    """What the page says after the form is posted (and the redirect back to it followed)."""
    answer = client.post(f"/account/cards/{card}/default/", {"attempt": attempt}, follow=True)
    assert answer.redirect_chain == [("/account/cards/", 302)]
    return [str(m) for m in answer.context["messages"]]


def visa_paying_a_box_and_mastercard(sandbox: Any, currency: str, price: int) -> tuple[Any, str, str, Any]:
    """A buyer subscribed to "Coffee box" with Visa on Checkout (the subscription's own card, made
    the default by the cards page) who saved Mastercard since: the buyer, Visa's and Mastercard's
    ids (the ones the page's forms name) and the subscription."""
    [box] = plans(sandbox, currency, price, "Coffee box")
    buyer = UserFactory()
    sub = subscribe(sandbox, buyer, box, VISA)
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    visa = client_for(sandbox).v1.subscriptions.retrieve(sub.stripe_subscription_id).default_payment_method
    return buyer, str(visa), mastercard, sub


def default_of(sandbox: Any, buyer: Any) -> str:
    customer = client_for(sandbox).v1.customers.retrieve(buyer_customer_ensure(user=buyer))
    return str(customer.invoice_settings.default_payment_method)


@pytest.mark.parametrize(("currency", "price"), CURRENCIES)
def test_mastercard_visa_mastercard_on_one_visit_ends_on_mastercard_and_the_renewal_charges_it(
    sandbox_webhooks: Any, currency: str, price: int
) -> None:
    buyer, visa, mastercard, sub = visa_paying_a_box_and_mastercard(sandbox_webhooks, currency, price)
    client = signed_in(buyer)
    attempt = a_visit(client)  # Visa becomes the default as the page is drawn
    assert default_of(sandbox_webhooks, buyer) == visa

    steps = [
        (mastercard, "4444", "Mastercard ending 4444 is now your default card. It now pays for Coffee box too."),
        (visa, "4242", "Visa ending 4242 is now your default card. It now pays for Coffee box too."),
        (mastercard, "4444", "Mastercard ending 4444 is now your default card. It now pays for Coffee box too."),
    ]
    for card, last4, said in steps:
        assert make_default(client, card, attempt) == [said]
        assert (default_of(sandbox_webhooks, buyer), card_of(sandbox_webhooks, sub)) == (card, last4)

    page = client.get("/account/cards/").content.decode()
    assert re.search(r"Mastercard ending 4444.*?<strong>Default</strong>", page, re.S)
    charge = renew(sandbox_webhooks, sub, paid=2)
    assert (charge.amount, charge.currency, charge.payment_method_details.card.last4) == (price, currency, "4444")
    assert_ledger_equals_stripe()


@pytest.mark.parametrize("together", [False, True], ids=["one-after-the-other", "at-the-same-moment"])
@pytest.mark.parametrize(("currency", "price"), CURRENCIES)
def test_one_form_posted_twice_is_one_change_at_stripe_and_the_next_change_is_made(
    sandbox: Any, stripe_log: StripeLog, currency: str, price: int, together: bool
) -> None:
    buyer, visa, mastercard, sub = visa_paying_a_box_and_mastercard(sandbox, currency, price)
    client = signed_in(buyer)
    attempt = a_visit(client)
    customer = f"/v1/customers/{buyer_customer_ensure(user=buyer)}"
    subscription = f"/v1/subscriptions/{sub.stripe_subscription_id}"
    before = len(stripe_log.changes(customer))

    if together:
        clients = [Client() for _ in range(2)]
        for each in clients:
            each.cookies = client.cookies  # the same browser
        answers = run_together([lambda c=c: make_default(c, mastercard, attempt) for c in clients])  # type: ignore[misc]
    else:
        answers = [make_default(client, mastercard, attempt) for _ in range(2)]

    assert all(said and said[0].startswith("Mastercard ending 4444 is now your default card.") for said in answers)
    assert (default_of(sandbox, buyer), card_of(sandbox, sub)) == (mastercard, "4444")
    assert len(stripe_log.changes(customer)) - before == 1
    assert len(stripe_log.changes(subscription)) == 1
    assert len(set(stripe_log.keys(subscription))) == 1  # a second post sent nothing, or the same request

    # Back to Visa and to Mastercard again from the same page: each is made.
    for card, last4 in [(visa, "4242"), (mastercard, "4444")]:
        make_default(client, card, attempt)
        assert (default_of(sandbox, buyer), card_of(sandbox, sub)) == (card, last4)
    assert len(stripe_log.changes(customer)) - before == 3
    assert len(stripe_log.changes(subscription)) == 3


@pytest.mark.parametrize(("currency", "price"), CURRENCIES)
def test_a_change_stripe_failed_is_sent_again_under_the_same_key(
    sandbox: Any, stripe_log: StripeLog, currency: str, price: int
) -> None:
    buyer, _, mastercard, sub = visa_paying_a_box_and_mastercard(sandbox, currency, price)
    client = signed_in(buyer)
    attempt = a_visit(client)
    subscription = f"/v1/subscriptions/{sub.stripe_subscription_id}"
    stripe_log.fail.append(subscription)

    said = make_default(client, mastercard, attempt)
    assert len(said) == 1 and "is now your default card" not in said[0]
    assert card_of(sandbox, sub) == "4242"

    assert make_default(client, mastercard, attempt) == [
        "Mastercard ending 4444 is now your default card. It now pays for Coffee box too."
    ]
    assert (default_of(sandbox, buyer), card_of(sandbox, sub)) == (mastercard, "4444")
    sent = [s for s in stripe_log.sent if s.path == subscription]
    assert [(s.status, s.replayed) for s in sent] == [(500, False), (200, False)]
    assert sent[0].key == sent[1].key
