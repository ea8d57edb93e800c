"""Helpers shared by the sandbox and contract tests: an SDK client, control calls and a webhook receiver."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import stripe

from stripe_sandbox import Sandbox

# Confirming a PaymentIntent through the API needs a return_url since 2023-08-16 (automatic payment methods).
RETURN_URL = "https://shop.example/return"


def client_for(sb: Sandbox, key: str = "sk_test_x") -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": sb.url, "files": sb.url, "connect": sb.url}, max_network_retries=0
    )


def control(sb: Sandbox, path: str, **data: Any) -> Any:
    """POST to the control API (form-encoded, like a shell script with curl would)."""
    req = urllib.request.Request(f"{sb.url}/_sandbox/{path}", data=urlencode(data).encode(), method="POST")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def get_json(sb: Sandbox, path: str) -> Any:
    with urllib.request.urlopen(f"{sb.url}{path}") as resp:
        return json.loads(resp.read())


def raw(
    sb: Sandbox, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """A bare HTTP call (for what the SDK refuses to send, e.g. no API key); returns status, JSON, headers."""
    req = urllib.request.Request(
        f"{sb.url}{path}", data=body.encode() if body else None, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_no_redirect(url: str, data: bytes | None = None) -> tuple[int, str | None, str]:
    """GET/POST a hosted page without following redirects: (status, Location, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")) as r:
            return r.status, r.headers.get("Location"), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location"), exc.read().decode()


def browser_post(url: str, **data: Any) -> tuple[int, str]:
    """POST a form as a browser does (``Accept: text/html``): (status, page)."""
    req = urllib.request.Request(
        url, data=urlencode(data).encode(), method="POST", headers={"Accept": "text/html,*/*;q=0.8"}
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def onboarded_account(
    client: stripe.StripeClient, sb: Sandbox, country: str = "US", email: str = "s@example.com"
) -> str:
    acct = client.v1.accounts.create(
        params={
            "type": "express",
            "country": country,
            "email": email,
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        }
    )
    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "type": "account_onboarding",
            "refresh_url": "http://app/r",
            "return_url": "http://app/ok",
        }
    )
    control(sb, f"account_links/{link.url.rsplit('/', 1)[-1]}/complete")
    return acct.id


def destination_session(
    client: stripe.StripeClient, seller: str, amount: int, fee: int, currency: str = "usd", **extra: Any
) -> Any:
    return client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "http://app/success?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app/cancel",
            "line_items": [
                {
                    "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": "Mug"}},
                    "quantity": 1,
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": fee,
                "transfer_data": {"destination": seller},
                "metadata": {"order": "42"},
            },
            **extra,
        }
    )


def balances(client: stripe.StripeClient, account: str | None = None, currency: str = "usd") -> tuple[int, int]:
    """(available, pending) in ``currency`` for the platform or a connected account."""
    options: Any = {"stripe_account": account} if account else {}
    bal = client.v1.balance.retrieve(options=options)
    avail = sum(r.amount for r in bal.available if r.currency == currency)
    pend = sum(r.amount for r in bal.pending if r.currency == currency)
    return avail, pend


class Receiver:
    """A local webhook endpoint that records every request and answers from a scripted list of statuses."""

    def __init__(self, statuses: list[int] | None = None, fail: dict[str, int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.fail = dict(fail or {})  # event type -> how many times to answer 500 first
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                with outer.lock:
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    event_type = json.loads(body).get("type", "")
                    if outer.fail.get(event_type, 0) > 0:
                        outer.fail[event_type] -= 1
                        status = 500
                    outer.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "signature": self.headers.get("Stripe-Signature"),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, secret: str, path: str | None = None) -> list[Any]:
        """Every received event that verifies with ``secret`` via the SDK (raises on a bad signature)."""
        out = []
        for r in list(self.requests):
            if path is None or r["path"] == path:
                out.append(stripe.Webhook.construct_event(r["body"], r["signature"], secret))
        return out
