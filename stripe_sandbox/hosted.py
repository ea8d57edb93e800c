"""Stripe's hosted pages, plain server-rendered HTML: Express onboarding, Checkout, 3-D Secure, Express dashboard.

No JavaScript, no CDN; every input has a label so browser tests can drive them by role and name.
"""

from __future__ import annotations

import html
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from . import money
from .core import Core, Route
from .errors import StripeError
from .resources import accounts, checkout, methods, payments
from .store import PLATFORM, Obj

Response = tuple[int, str, bytes, dict[str, str]]
TEST_CARDS = [
    ("4242424242424242", "succeeds"),
    ("4000000000000077", "succeeds, funds available immediately"),
    ("4000000000000002", "is declined (generic_decline)"),
    ("4000000000009995", "is declined (insufficient_funds)"),
    ("4000002500003155", "asks for authentication (3-D Secure) unless saved for later"),
    ("4000002760003184", "always asks for authentication (3-D Secure)"),
    ("4000000000000341", "can be saved, but every payment with it is declined"),
    ("4000000000000259", "succeeds, then is disputed"),
    ("4000000000002685", "succeeds, then is disputed: product not received"),
    ("4000000000001976", "succeeds, then an inquiry opens"),
]
_CSS = """body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}
td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left;overflow-wrap:anywhere}
button{background:#635bff;color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font-size:1rem;
cursor:pointer}button.secondary{background:#697386}[role=alert]{color:#b3093c;font-weight:600}input[type=text],
input[type=email]{padding:.4rem;width:100%;box-sizing:border-box}.note{color:#697386;font-size:.9rem}
body.wide{max-width:72rem}.scroll{overflow-x:auto;position:relative}code{overflow-wrap:anywhere}
td form{display:inline;margin:0}select,input{padding:.4rem;max-width:100%}
button.small{padding:.25rem .6rem;font-size:.85rem}[role=status]{font-weight:600}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"""


def page(title: str, body: str, status: int = 200, *, wide: bool = False) -> Response:
    body_class = ' class="wide"' if wide else ""
    doc = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_CSS}</style>'
        # No icon: without this line the browser asks for /favicon.ico and logs the 404 as an error.
        '<link rel="icon" href="data:,"></head>'
        f'<body{body_class}><main><p class="note">Stripe sandbox (test mode)</p>{body}</main></body></html>'
    )
    # Every page shows live state: Back must fetch it again, not show a stale form (e.g. a paid checkout).
    return status, "text/html; charset=utf-8", doc.encode(), {"Cache-Control": "no-store"}


def wants_html(req: BaseHTTPRequestHandler) -> bool:
    """A browser navigating (a link, a form) asks for HTML; the SDK, curl and urllib do not."""
    return "text/html" in (req.headers.get("Accept") or "")


def error_page(exc: StripeError, extra: str = "") -> Response:
    title = "Something went wrong" if exc.status >= 500 else "That did not work"
    return page(title, f'<h1>{title}</h1><p role="alert">{html.escape(exc.message)}</p>{extra}', exc.status)


def redirect(url: str) -> Response:
    return 303, "text/plain; charset=utf-8", b"", {"Location": url}


def form(body: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(body.decode(errors="replace"), keep_blank_values=True).items()}


def esc(value: Any) -> str:
    return html.escape(str(value))


# -- onboarding ----------------------------------------------------------------------------------------------------
def onboarding(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, token: str) -> Response:
    with core.store.lock:
        rec, state = accounts.link_state(core, token)
        if rec is None:
            return page("Link not found", "<h1>This link is not valid</h1>", 404)
        if state != "valid" or (req.command == "GET" and rec.get("opened")):
            rec["used"] = True
            core.store.save()
            return redirect(rec["refresh_url"])
        acct = core.store.get(rec["account"], "account", PLATFORM)
        if req.command == "POST":
            data = form(body)
            rec["used"] = True
            accounts.onboarding_complete(core, acct["id"], requirements_due=data.get("requirements_due") == "true")
            core.store.save()
            return redirect(rec["return_url"])
        rec["opened"] = True
        core.store.save()
    due = "".join(f"<li>{esc(code)}</li>" for code in acct["requirements"]["currently_due"])
    return page(
        "Set up payouts",
        f"""<h1>Set up your account</h1>
<p>Platform account <code>{esc(acct["id"])}</code> ({esc(acct["email"] or "no email")}), {esc(acct["country"])}.</p>
<details><summary>Information Stripe needs</summary><ul>{due}</ul></details>
<form method="post">
<p><label for="legal_name">Legal name</label>
<input type="text" id="legal_name" name="legal_name" value="Jenny Rosen"></p>
<p><label><input type="checkbox" name="requirements_due" value="true"> Leave identity verification for later
(requirements stay due)</label></p>
<p><button type="submit">Agree and submit</button></p>
</form>""",
    )


# -- checkout ------------------------------------------------------------------------------------------------------
# Stripe's Checkout page takes any number of attempts on one session: a declined card or a failed 3-D Secure step
# leaves the session open with the error shown, and the buyer tries again with any card. Every POST answers with a
# redirect or a page; once the session is complete or expired, every URL of it shows where to go next.


def _session(core: Core, cs_id: str) -> Obj | None:
    obj = core.store.objects.get(cs_id)
    return obj if obj and obj.get("object") == "checkout.session" else None


def _checkout_url(core: Core, session: Obj) -> str:
    return f"{core.base_url}/hosted/checkout/{session['id']}"


def _session_not_found() -> Response:
    return page("Not found", "<h1>Checkout session not found</h1><p>This payment link is not valid.</p>", 404)


def checkout_page(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, cs_id: str) -> Response:
    with core.store.lock:
        session = _session(core, cs_id)
        if session is None:
            return _session_not_found()
        if session["status"] != "open":
            return _closed_session(session)
        if req.command == "GET":
            return _render_checkout(core, session, _last_error(core, session))
        data = form(body)
        email = _customer_email(core, session) or data.get("email") or None  # the customer's is not editable
        result = checkout.pay(core, session, data.get("cardNumber", ""), email)
        core.store.save()
        if result["redirect_url"]:  # the 3-D Secure step, or success_url once paid
            return redirect(result["redirect_url"])
        if result["status"] == "succeeded":
            return _closed_session(session)
        if result["code"] == "invalid_number":  # never reached the PaymentIntent: nothing to show after a redirect
            return _render_checkout(core, session, result["error"], data.get("email"))
        return redirect(_checkout_url(core, session))  # declined: the page shows why and takes another card


def _customer_email(core: Core, session: Obj) -> str:
    """The session's Customer's email: Stripe prefills it and does not let it be edited ("if the
    Customer already has a valid email set, the email will be prefilled and not editable")."""
    customer = core.store.objects.get(session.get("customer") or "") or {}
    return str(customer.get("email") or "")


def _last_error(core: Core, session: Obj) -> str | None:
    """Why the last attempt failed (a declined card, a failed 3-D Secure step): each redirects here after."""
    if session["mode"] == "setup":
        seti = core.store.objects.get(session["setup_intent"] or "") or {}
        err = seti.get("last_setup_error") or {}
        return str(err["message"]) if seti.get("status") == "requires_payment_method" and err.get("message") else None
    pi = core.store.objects.get(session["payment_intent"] or session.get("_pi") or "")
    if pi is None or pi["status"] != "requires_payment_method":
        return None
    return payments.buyer_message(pi)


def _closed_session(session: Obj) -> Response:
    """A complete or expired session: a clear sentence and the way back to the merchant's site.

    Stripe: once a session expires "customers loading the Checkout Session see a message saying the Checkout
    Session is expired" (API reference, Expire a Checkout Session), and `cancel_url` is where Checkout's back
    button leads. For a complete session the link is the session's success page."""
    if session["status"] == "complete" and session["mode"] == "setup":
        back = checkout.success_url(session)
        link = _back_link(back, "Return to") if back else ""
        return page(
            "Card saved",
            f'<h1>Card saved</h1><p role="status">Your card is saved for later payments.</p>{link}',
        )
    if session["status"] == "complete" and session["mode"] == "subscription":
        amount = money.format_amount(session["amount_total"], session["currency"])
        back = checkout.success_url(session)
        link = _back_link(back, "Return to") if back else ""
        return page(
            "Subscription started",
            f'<h1>Subscription started</h1><p role="status">Your first payment of {esc(amount)} has been received. '
            f"Later payments are taken automatically.</p>{link}",
        )
    if session["status"] == "complete":
        amount = money.format_amount(session["amount_total"], session["currency"])
        back = checkout.success_url(session)
        link = _back_link(back, "Return to") if back else ""
        return page(
            "Payment complete",
            f'<h1>Payment complete</h1><p role="status">Your payment of {esc(amount)} has been received. '
            f"There is nothing more to pay on this page.</p>{link}",
        )
    back = session["cancel_url"] or _site_of(session["success_url"])
    link = _back_link(back, "Return to") if back else ""
    return page(
        "Checkout expired",
        '<h1>This checkout session has expired</h1><p role="status">Nothing was charged. Go back to the shop to '
        f"start the payment again.</p>{link}",
        410,
    )


def _back_link(url: str, verb: str) -> str:
    return f'<p><a id="back" href="{esc(url)}">{esc(verb)} {esc(urlsplit(url).netloc or url)}</a></p>'


def _site_of(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else None


def _render_checkout(core: Core, session: Obj, error: str | None, email: str | None = None) -> Response:
    if session["mode"] == "setup":
        return _render_setup(core, session, error)
    cur = session["currency"]
    rows = "".join(
        f"<tr><td>{esc(li['description'])}</td><td>{li['quantity']}</td>"
        f"<td>{esc(money.format_amount(li['amount_total'], cur))}</td></tr>"
        for li in session["_line_items"]
    )
    cards = "".join(f"<li><code>{n}</code> {esc(what)}</li>" for n, what in TEST_CARDS)
    options = "".join(f'<option value="{n}">' for n, _ in TEST_CARDS)
    alert = f'<p role="alert" id="error">{esc(error)}</p>' if error else ""
    cancel = f'<p><a href="{esc(session["cancel_url"])}">Cancel</a></p>' if session["cancel_url"] else ""
    pi = core.store.objects.get(session["payment_intent"] or "") or {}
    fixed = _customer_email(core, session)
    readonly = " readonly" if fixed else ""
    email = fixed or email or session["customer_email"] or pi.get("receipt_email") or ""
    every = ""
    if session["mode"] == "subscription":
        rec = session["_line_items"][0]["price"]["recurring"]
        every = (
            f" every {rec['interval_count']} {rec['interval']}s"
            if rec["interval_count"] > 1
            else f" per {rec['interval']}"
        )
    return page(
        "Checkout",
        f"""<h1>Pay {esc(money.format_amount(session["amount_total"], cur))}{esc(every)}</h1>
<table><thead><tr><th>Item</th><th>Qty</th><th>Amount</th></tr></thead><tbody>{rows}</tbody>
<tfoot><tr><th colspan="2">Total</th><th id="total">{esc(money.format_amount(session["amount_total"], cur))}</th></tr>
</tfoot></table>
{alert}
<form method="post" action="{esc(_checkout_url(core, session))}">
<p><label for="email">Email</label><input type="email" id="email" name="email" value="{esc(email)}"{readonly}></p>
<p><label for="cardNumber">Card number</label>
<input type="text" id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" list="test-cards"
 required></p><datalist id="test-cards">{options}</datalist>
<p><button type="submit">Pay</button></p>
</form>
<section aria-labelledby="cards-h"><h2 id="cards-h">Test cards</h2><ul>{cards}</ul></section>
{cancel}""",
    )


def _render_setup(core: Core, session: Obj, error: str | None) -> Response:
    cards = "".join(f"<li><code>{n}</code> {esc(what)}</li>" for n, what in TEST_CARDS)
    options = "".join(f'<option value="{n}">' for n, _ in TEST_CARDS)
    alert = f'<p role="alert" id="error">{esc(error)}</p>' if error else ""
    cancel = f'<p><a href="{esc(session["cancel_url"])}">Cancel</a></p>' if session["cancel_url"] else ""
    return page(
        "Save a card",
        f"""<h1>Save a card</h1><p>The card is saved for later payments; nothing is charged now.</p>
{alert}
<form method="post" action="{esc(_checkout_url(core, session))}">
<p><label for="cardNumber">Card number</label>
<input type="text" id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" list="test-cards"
 required></p><datalist id="test-cards">{options}</datalist>
<p><button type="submit">Save card</button></p>
</form>
<section aria-labelledby="cards-h"><h2 id="cards-h">Test cards</h2><ul>{cards}</ul></section>
{cancel}""",
    )


def checkout_auth(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, cs_id: str) -> Response:
    """The 3-D Secure step of a Checkout payment. Reached again after it is over (Back, reload, a second tab), it
    sends the buyer to the session's page, which shows the outcome or lets them pay."""
    with core.store.lock:
        session = _session(core, cs_id)
        if session is None:
            return _session_not_found()
        if session["status"] != "open":
            return _closed_session(session)
        intent = core.store.objects.get(
            session["payment_intent"] or session.get("_pi") or session.get("setup_intent") or ""
        )
        if intent is None or intent["status"] != "requires_action":
            return redirect(_checkout_url(core, session))
        if req.command == "GET":
            if intent["object"] == "setup_intent":
                return _auth_page(None)
            return _auth_page(money.format_amount(intent["amount"], intent["currency"]))
        result = checkout.authenticate(core, session, form(body).get("action") == "complete")
        core.store.save()
        if result["redirect_url"]:
            return redirect(result["redirect_url"])
        if result["status"] == "succeeded":
            return _closed_session(session)
        return redirect(_checkout_url(core, session))  # failed: the page shows why and takes another card


def _auth_page(amount: str | None) -> Response:
    what = f"a payment of {esc(amount)}" if amount else "saving this card for later payments"
    return page(
        "Authenticate payment",
        f"""<h1>3D Secure test page</h1><p>Authenticate {what}.</p>
<form method="post"><button type="submit" name="action" value="complete">Complete</button>
<button type="submit" name="action" value="fail" class="secondary">Fail</button></form>""",
    )


def _back_to_merchant(intent: Obj, prefix: str, outcome: str) -> Response:
    """Where Stripe.js/3-D Secure sends the buyer afterwards: the intent's ``return_url`` with
    ``{prefix}``, ``{prefix}_client_secret`` and ``redirect_status`` appended (docs.stripe.com/payments/3d-secure)."""
    url = intent.get("_return_url")
    if not url:
        return page("Done", f"<h1>Authentication finished</h1><p>Status: {esc(intent['status'])}</p>")
    query = urlencode(
        {prefix: intent["id"], f"{prefix}_client_secret": intent["client_secret"], "redirect_status": outcome}
    )
    return redirect(f"{url}{'&' if '?' in url else '?'}{query}")


def pi_auth(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, pi_id: str) -> Response:
    """``next_action.redirect_to_url`` of a PaymentIntent confirmed directly with a 3-D Secure card; afterwards the
    buyer goes back to the ``return_url`` given at confirmation."""
    with core.store.lock:
        pi = core.store.objects.get(pi_id)
        if pi is None or pi.get("object") != "payment_intent":
            return page("Not found", "<h1>Payment not found</h1><p>This authentication link is not valid.</p>", 404)
        if req.command == "POST" and pi["status"] == "requires_action":
            if form(body).get("action") == "complete":
                payments.confirm(core, pi, raise_on_decline=False, authenticated=True)
            else:
                payments.fail_authentication(core, pi)
            core.store.save()
        if req.command == "POST" or pi["status"] != "requires_action":
            return _back_to_merchant(pi, "payment_intent", "succeeded" if pi["status"] == "succeeded" else "failed")
    return _auth_page(money.format_amount(pi["amount"], pi["currency"]))


def seti_auth(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, seti_id: str) -> Response:
    """``next_action.redirect_to_url`` of a SetupIntent saving a card that asks for 3-D Secure on setup."""
    with core.store.lock:
        seti = core.store.objects.get(seti_id)
        if seti is None or seti.get("object") != "setup_intent":
            return page("Not found", "<h1>Card not found</h1><p>This authentication link is not valid.</p>", 404)
        if req.command == "POST" and seti["status"] == "requires_action":
            if form(body).get("action") == "complete":
                methods.confirm_setup(core, seti, return_url=None, raise_on_decline=False, authenticated=True)
            else:
                methods.fail_setup_authentication(core, seti)
            core.store.save()
        if req.command == "POST" or seti["status"] != "requires_action":
            return _back_to_merchant(seti, "setup_intent", "succeeded" if seti["status"] == "succeeded" else "failed")
    return _auth_page(None)


# -- express dashboard ---------------------------------------------------------------------------------------------
def express(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, token: str) -> Response:
    with core.store.lock:
        rec = core.store.tokens.get(token)
        if rec is None or rec.get("kind") != "login":
            return page("Not found", "<h1>This login link is not valid</h1>", 404)
        acct_id = rec["account"]
        bal = money.balance(core.store, acct_id)
        pays = core.store.find("charge", acct_id)[:50]
        payouts = core.store.find("payout", acct_id)[:50]

    def fmt(rows: list[dict[str, Any]]) -> str:
        return ", ".join(money.format_amount(r["amount"], r["currency"]) for r in rows)

    pay_rows = "".join(
        f"<tr><td>{esc(p['id'])}</td><td>{esc(money.format_amount(p['amount'], p['currency']))}</td>"
        f"<td>{esc(money.format_amount(p['amount_refunded'], p['currency']))}</td></tr>"
        for p in pays
    )
    payout_rows = "".join(
        f"<tr><td>{esc(p['id'])}</td><td>{esc(money.format_amount(p['amount'], p['currency']))}</td>"
        f"<td>{esc(p['status'])}</td></tr>"
        for p in payouts
    )
    return page(
        "Express dashboard",
        f"""<h1>Express dashboard</h1><p>Account <code>{esc(acct_id)}</code></p>
<h2>Balance</h2><p>Available: <span id="available">{esc(fmt(bal["available"]))}</span></p>
<p>Pending: <span id="pending">{esc(fmt(bal["pending"]))}</span></p>
<h2>Payments</h2><table><thead><tr><th>ID</th><th>Amount</th><th>Refunded</th></tr></thead>
<tbody>{pay_rows}</tbody></table>
<h2>Payouts</h2><table><thead><tr><th>ID</th><th>Amount</th><th>Status</th></tr></thead>
<tbody>{payout_rows}</tbody></table>""",
    )


def receipt(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, ch_id: str) -> Response:
    with core.store.lock:
        charge = core.store.objects.get(ch_id)
        if not charge or charge.get("object") != "charge":
            return page("Not found", "<h1>Receipt not found</h1>", 404)
        amount = money.format_amount(charge["amount"], charge["currency"])
    return page("Receipt", f"<h1>Receipt</h1><p>{esc(amount)} paid, charge <code>{esc(ch_id)}</code>.</p>")


def file_contents(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, file_id: str) -> Response:
    import base64

    with core.store.lock:
        data = core.store.files.get(file_id)
        if data is None:
            raise StripeError(404, f"No such file upload: '{file_id}'", code="resource_missing", param="id")
    return 200, "application/octet-stream", base64.b64decode(data), {}


ROUTES: list[Route] = [
    ("GET", r"/hosted/onboarding/([^/]+)", onboarding),
    ("POST", r"/hosted/onboarding/([^/]+)", onboarding),
    ("GET", r"/hosted/checkout/([^/]+)", checkout_page),
    ("POST", r"/hosted/checkout/([^/]+)", checkout_page),
    ("GET", r"/hosted/checkout/([^/]+)/authenticate", checkout_auth),
    ("POST", r"/hosted/checkout/([^/]+)/authenticate", checkout_auth),
    ("GET", r"/hosted/authenticate/([^/]+)", pi_auth),
    ("POST", r"/hosted/authenticate/([^/]+)", pi_auth),
    ("GET", r"/hosted/setup_authenticate/([^/]+)", seti_auth),
    ("POST", r"/hosted/setup_authenticate/([^/]+)", seti_auth),
    ("GET", r"/hosted/express/([^/]+)", express),
    ("GET", r"/hosted/receipts/([^/]+)", receipt),
    ("GET", r"/v1/files/([^/]+)/contents", file_contents),
]
