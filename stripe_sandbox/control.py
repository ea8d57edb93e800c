"""The control API (JSON) and page that tests, scripts and the demo use to play the roles Stripe's users play:
the seller finishing onboarding, the buyer paying, the bank, the card network, and time itself."""

from __future__ import annotations

import html
import json
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from . import scheduler
from .core import Core, Route
from .errors import StripeError, invalid
from .hosted import Response, page
from .params import decode_form
from .resources import accounts, balance, checkout, disputes
from .store import PLATFORM, render


def _params(req: BaseHTTPRequestHandler, query: str, body: bytes) -> dict[str, Any]:
    """JSON bodies, form bodies (``a[]=x`` lists) and query strings are all accepted."""
    out: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    ctype = req.headers.get("Content-Type") or ""
    if body and "json" in ctype:
        out.update(json.loads(body))
    elif body:
        out.update(decode_form(body.decode()))
    return out


def _ok(obj: Any, status: int = 200) -> Response:
    return status, "application/json", json.dumps(obj, indent=2).encode(), {}


def _truthy(value: Any) -> bool:
    return value in (True, "true", "1", "on", 1)


def _list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(value[k]) for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
    return [v for v in str(value).split(",") if v]


def link_complete(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, token: str) -> Response:
    p = _params(req, query, body)
    with core.store.lock:
        rec, state = accounts.link_state(core, token)
        if rec is None:
            raise StripeError(404, f"No such account link: '{token}'", code="resource_missing")
        if state != "valid":
            raise invalid(f"This account link is {state}.")
        rec["used"] = True
        acct = accounts.onboarding_complete(core, rec["account"], requirements_due=_truthy(p.get("requirements_due")))
        core.store.save()
        return _ok({"account": render(acct), "redirect_url": rec["return_url"]})


def session_pay(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, cs_id: str) -> Response:
    p = _params(req, query, body)
    with core.store.lock:
        session = core.store.get(cs_id, "checkout.session", None, label="checkout.session")
        result = checkout.pay(core, session, str(p.get("card") or "4242424242424242"), p.get("email"))
        core.store.save()
        return _ok(result)


def session_authenticate(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, cs_id: str) -> Response:
    p = _params(req, query, body)
    with core.store.lock:
        session = core.store.get(cs_id, "checkout.session", None, label="checkout.session")
        result = checkout.authenticate(core, session, p.get("outcome", "complete") == "complete")
        core.store.save()
        return _ok(result)


def clock_get(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    return _ok({"now": core.store.now(), "offset": core.store.clock_offset})


def clock_advance(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    p = _params(req, query, body)
    try:
        seconds = int(p.get("seconds", 0))
    except ValueError:
        raise invalid("seconds must be an integer", param="seconds") from None
    if seconds < 0:
        raise invalid("The sandbox clock only moves forward.", param="seconds")
    now = scheduler.advance(core, seconds)
    return _ok({"now": now, "offset": core.store.clock_offset})


def account_requirements(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, acct_id: str) -> Response:
    p = _params(req, query, body)
    with core.store.lock:
        acct = core.store.get(acct_id, "account", PLATFORM)
        deadline = p.get("current_deadline")
        accounts.set_requirements(
            core,
            acct,
            currently_due=_list(p.get("currently_due")),
            past_due=_list(p["past_due"]) if "past_due" in p else None,
            disabled_reason=p.get("disabled_reason") or None,
            current_deadline=int(str(deadline)) if deadline not in (None, "") else None,
        )
        core.store.save()
        return _ok(render(acct))


def dispute_resolve(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, dp_id: str) -> Response:
    p = _params(req, query, body)
    outcome = p.get("outcome")
    if outcome not in ("won", "lost"):
        raise invalid("outcome must be won or lost", param="outcome")
    with core.store.lock:
        dispute = core.store.get(dp_id, "dispute", None)
        if dispute["status"] in ("won", "lost"):
            raise invalid(f"This dispute is already closed ({dispute['status']}).")
        disputes.close_dispute(core, dispute, outcome)
        core.store.save()
        return _ok(render(dispute))


def payout_fail(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, po_id: str) -> Response:
    p = _params(req, query, body)
    with core.store.lock:
        payout = core.store.get(po_id, "payout", None)
        if payout["status"] not in ("pending", "in_transit", "paid"):
            raise invalid(f"Payout {po_id} is {payout['status']} and cannot fail.")
        balance.finish_payout(core, payout, "failed", p.get("failure_code") or "could_not_process")
        core.store.save()
        return _ok(render(payout))


def deliveries(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    return _ok({"data": list(core.hooks.deliveries), "held": len(core.hooks._held)})


def hold(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    core.hooks.hold()
    return _ok({"held": True})


def release(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    p = _params(req, query, body)
    count = core.hooks.release(reverse=p.get("order") == "reverse")
    return _ok({"released": count})


def redeliver(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, evt_id: str) -> Response:
    with core.store.lock:
        count = core.hooks.redeliver(evt_id)
    return _ok({"queued": count})


def configure(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    """Point deliveries somewhere else at runtime (the out-of-process twin of ``Sandbox.configure_webhooks``)."""
    p = _params(req, query, body)
    cfg = core.hooks.config
    for key, attr in (
        ("webhook_url", "url"),
        ("webhook_secret", "secret"),
        ("connect_webhook_url", "connect_url"),
        ("connect_webhook_secret", "connect_secret"),
    ):
        if key in p:
            setattr(cfg, attr, p[key] or None)
    if "max_attempts" in p:
        cfg.max_attempts = int(p["max_attempts"])
    if "retry_base" in p:
        cfg.retry_base = float(p["retry_base"])
    return _ok(
        {
            "webhook_url": cfg.url,
            "connect_webhook_url": cfg.connect_url,
            "max_attempts": cfg.max_attempts,
            "retry_base": cfg.retry_base,
        }
    )


def reset(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    with core.store.lock:
        core.hooks.clear()
        core.store.reset()
        core.store.save()
    return _ok({"reset": True})


def control_page(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    esc = html.escape
    with core.store.lock:
        accts = core.store.find("account")[:50]
        sessions = core.store.find("checkout.session", None)[:50]
        events = core.store.find("event", None)[:30]
        dels = list(core.hooks.deliveries)[-30:]
        now = core.store.now()
    acct_rows = "".join(
        f"<tr><td>{esc(a['id'])}</td><td>{esc(str(a['email']))}</td><td>{a['charges_enabled']}</td>"
        f"<td>{a['payouts_enabled']}</td><td>{len(a['requirements']['currently_due'])}</td></tr>"
        for a in accts
    )
    cs_rows = "".join(
        f'<tr><td><a href="/hosted/checkout/{esc(s["id"])}">{esc(s["id"][:24])}…</a></td><td>{esc(s["status"])}</td>'
        f"<td>{s['amount_total']} {esc(s['currency'])}</td></tr>"
        for s in sessions
    )
    ev_rows = "".join(
        f"<tr><td>{esc(e['id'])}</td><td>{esc(e['type'])}</td><td>{esc(e.get('account') or 'platform')}</td></tr>"
        for e in events
    )
    del_rows = "".join(
        f"<tr><td>{esc(d['event'])}</td><td>{esc(str(d['type']))}</td><td>{d['attempt']}</td>"
        f"<td>{esc(str(d['status'] or d['error']))}</td></tr>"
        for d in reversed(dels)
    )
    return page(
        "Sandbox control",
        f"""<h1>Stripe sandbox control</h1>
<p>Sandbox clock: <time id="clock">{now}</time></p>
<form method="post" action="/_sandbox/clock/advance"><label for="seconds">Advance clock by seconds</label>
<input type="text" id="seconds" name="seconds" value="86400"> <button type="submit">Advance</button></form>
<h2>Connected accounts</h2><table><thead><tr><th>ID</th><th>Email</th><th>Charges</th><th>Payouts</th>
<th>Due</th></tr></thead><tbody>{acct_rows}</tbody></table>
<h2>Checkout sessions</h2><table><thead><tr><th>ID</th><th>Status</th><th>Total</th></tr></thead>
<tbody>{cs_rows}</tbody></table>
<h2>Recent events</h2><table><thead><tr><th>ID</th><th>Type</th><th>Account</th></tr></thead>
<tbody>{ev_rows}</tbody></table>
<h2>Recent deliveries</h2><table><thead><tr><th>Event</th><th>Type</th><th>Attempt</th><th>Result</th></tr>
</thead><tbody>{del_rows}</tbody></table>""",
    )


ROUTES: list[Route] = [
    ("GET", r"/_sandbox", control_page),
    ("POST", r"/_sandbox/account_links/([^/]+)/complete", link_complete),
    ("POST", r"/_sandbox/checkout/sessions/([^/]+)/pay", session_pay),
    ("POST", r"/_sandbox/checkout/sessions/([^/]+)/authenticate", session_authenticate),
    ("GET", r"/_sandbox/clock", clock_get),
    ("POST", r"/_sandbox/clock/advance", clock_advance),
    ("POST", r"/_sandbox/accounts/([^/]+)/requirements", account_requirements),
    ("POST", r"/_sandbox/disputes/([^/]+)/resolve", dispute_resolve),
    ("POST", r"/_sandbox/payouts/([^/]+)/fail", payout_fail),
    ("GET", r"/_sandbox/deliveries", deliveries),
    ("POST", r"/_sandbox/deliveries/hold", hold),
    ("POST", r"/_sandbox/deliveries/release", release),
    ("POST", r"/_sandbox/events/([^/]+)/redeliver", redeliver),
    ("POST", r"/_sandbox/webhooks", configure),
    ("POST", r"/_sandbox/reset", reset),
]
