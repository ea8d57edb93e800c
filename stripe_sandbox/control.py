"""The control API that tests, scripts and the demo use to play the roles Stripe's users play: the seller finishing
onboarding, the buyer paying, the bank, the card network, and time itself.

Each operation answers JSON to scripts; to a browser (the forms of the control page, ``control_page.py``) it
answers a page saying what happened and which events Stripe sent, with a link back. What an operation does to
objects and events follows Stripe's behaviour, through the same functions the API uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from . import control_page, money, scheduler
from .core import Core, Route
from .errors import StripeError, invalid
from .hosted import Response, wants_html
from .params import decode_form
from .resources import accounts, balance, checkout, disputes
from .store import PLATFORM, Obj, render

Params = dict[str, Any]
MAX_ADVANCE = 10 * 365 * 86400
LAST_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last instant a page can show
# (heading, a sentence for the person who clicked, the JSON a script gets)
Outcome = tuple[str, str, Any]


def _params(req: BaseHTTPRequestHandler, query: str, body: bytes) -> Params:
    """JSON bodies, form bodies (``a[]=x`` lists) and query strings are all accepted."""
    out: Params = {k: v[-1] for k, v in parse_qs(query).items()}
    ctype = req.headers.get("Content-Type") or ""
    try:
        if body and "json" in ctype:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise invalid("The JSON body must be an object.")
            out.update(data)
        elif body:
            out.update(decode_form(body.decode()))
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise invalid("The request body could not be decoded.") from None
    return out


def _ok(obj: Any, status: int = 200) -> Response:
    return status, "application/json", json.dumps(obj, indent=2).encode(), {}


def operation(fn: Callable[..., Outcome]) -> Callable[..., Response]:
    """A control route: parse the parameters, run ``fn`` under the store lock, save, then answer the script with
    JSON or the person with a page listing the events the operation sent."""

    def handler(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, *ids: str) -> Response:
        p = _params(req, query, body)
        store = core.store
        with store.lock:
            mark = store.counter
            heading, sentence, result = fn(core, p, *ids)
            store.save()
            sent = [e for e in store.find("event", None) if store.seq[e["id"]] > mark]
            sent.sort(key=lambda e: store.seq[e["id"]])
        if wants_html(req):
            return control_page.result(heading, sentence, sent)
        return _ok(result)

    handler.__doc__ = fn.__doc__
    return handler


def _truthy(value: Any) -> bool:
    return value in (True, "true", "1", "on", 1)


def _list(value: Any) -> list[str]:
    """A list from JSON, ``a[]=x`` form lists, or one comma-separated string (what a text field sends)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, dict):
        items = [str(value[k]) for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
    else:
        items = str(value).split(",")
    return [item.strip() for item in items if item.strip()]


def _int(value: Any, param: str) -> int:
    if isinstance(value, bool):
        raise invalid(f"Invalid integer: {value}", param=param)
    try:
        return int(str(value).strip())
    except ValueError:
        raise invalid(f"Invalid integer: {value}", param=param) from None


def _timestamp(value: Any, param: str) -> int | None:
    """Unix seconds, or an ISO 8601 date-time read as UTC (what a ``datetime-local`` field sends); empty: none."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    bad = invalid(f"Invalid timestamp: {value} (unix seconds or YYYY-MM-DDTHH:MM, UTC)", param=param)
    if text.lstrip("-").isdigit():
        ts = int(text)
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise bad from None
        ts = int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    if not 0 <= ts <= LAST_TIMESTAMP:
        raise bad
    return ts


def _amount(obj: Obj) -> str:
    return money.format_amount(obj["amount"], obj["currency"])


# -- the seller and the buyer --------------------------------------------------------------------------------------
@operation
def link_complete(core: Core, p: Params, token: str) -> Outcome:
    """Finish Express onboarding through an account link, optionally leaving verification due."""
    rec, state = accounts.link_state(core, token)
    if rec is None:
        raise StripeError(404, f"No such account link: '{token}'", code="resource_missing")
    if state != "valid":
        raise invalid(f"This account link is {state}.")
    rec["used"] = True
    acct = accounts.onboarding_complete(core, rec["account"], requirements_due=_truthy(p.get("requirements_due")))
    result = {"account": render(acct), "redirect_url": rec["return_url"]}
    return "Onboarding finished", f"Account {acct['id']} finished onboarding.", result


@operation
def session_pay(core: Core, p: Params, cs_id: str) -> Outcome:
    """Submit the hosted Checkout form with a test card."""
    session = core.store.get(cs_id, "checkout.session", None, label="checkout.session")
    result = checkout.pay(core, session, str(p.get("card") or "4242424242424242"), p.get("email"))
    return "Payment attempted", f"Checkout Session {cs_id}: {result['status']}.", result


@operation
def session_authenticate(core: Core, p: Params, cs_id: str) -> Outcome:
    """Complete or fail the 3-D Secure step of a Checkout payment."""
    session = core.store.get(cs_id, "checkout.session", None, label="checkout.session")
    result = checkout.authenticate(core, session, p.get("outcome", "complete") == "complete")
    return "Authentication finished", f"Checkout Session {cs_id}: {result['status']}.", result


# -- time ----------------------------------------------------------------------------------------------------------
def clock_get(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    return _ok({"now": core.store.now(), "offset": core.store.clock_offset})


@operation
def clock_advance(core: Core, p: Params) -> Outcome:
    """Move the sandbox clock forward; whatever falls due on the way happens, in order (``scheduler.py``)."""
    seconds = _int(p.get("seconds", 0), "seconds")
    if seconds < 0:
        raise invalid("The sandbox clock only moves forward.", param="seconds")
    if seconds > MAX_ADVANCE:  # each midnight on the way is a step: keep one call bounded
        raise invalid(f"The sandbox clock moves at most {MAX_ADVANCE} seconds (ten years) at a time.", param="seconds")
    now = scheduler.advance(core, seconds)
    sentence = f"The sandbox clock moved forward {seconds:,} s, to {control_page.when(now)}."
    return "Clock advanced", sentence, {"now": now, "offset": core.store.clock_offset}


# -- Stripe's verification team ------------------------------------------------------------------------------------
@operation
def account_requirements(core: Core, p: Params, acct_id: str) -> Outcome:
    """Change what Stripe needs from a connected account and by when (``account.updated``, ``capability.updated``)."""
    acct = core.store.get(acct_id, "account", PLATFORM)
    reason = str(p.get("disabled_reason") or "") or None
    if reason is not None and reason not in accounts.DISABLED_REASONS:
        raise invalid(
            f"Invalid disabled_reason: must be one of {', '.join(accounts.DISABLED_REASONS)}", param="disabled_reason"
        )
    accounts.set_requirements(
        core,
        acct,
        currently_due=_list(p.get("currently_due")),
        past_due=_list(p["past_due"]) if "past_due" in p else None,
        eventually_due=_list(p.get("eventually_due")),
        disabled_reason=reason,
        current_deadline=_timestamp(p.get("current_deadline"), "current_deadline"),
    )
    req = acct["requirements"]
    state = "enabled" if acct["charges_enabled"] else f"disabled ({req['disabled_reason'] or 'onboarding unfinished'})"
    deadline = control_page.when(req["current_deadline"]) if req["current_deadline"] else "none"
    sentence = (
        f"Account {acct_id}: {len(req['currently_due'])} currently due, {len(req['past_due'])} past due, "
        f"{len(req['eventually_due'])} eventually due; deadline {deadline}; charges and payouts {state}."
    )
    return "Requirements changed", sentence, render(acct)


# -- the card network ----------------------------------------------------------------------------------------------
@operation
def dispute_open(core: Core, p: Params, ch_id: str) -> Outcome:
    """The cardholder disputes a charge: funds and the dispute fee are withdrawn from its balance."""
    charge = core.store.get(ch_id, "charge", None)
    amount = _int(p["amount"], "amount") if p.get("amount") not in (None, "") else None
    dispute = disputes.open_dispute(core, charge, reason=str(p.get("reason") or "fraudulent"), amount=amount)
    sentence = (
        f"Dispute {dispute['id']} opened on {ch_id} for {_amount(dispute)} ({dispute['reason']}); the amount and "
        "the dispute fee were withdrawn."
    )
    return "Dispute opened", sentence, render(dispute)


@operation
def dispute_resolve(core: Core, p: Params, dp_id: str) -> Outcome:
    """The bank decides: won (the amount comes back) or lost (it stays withdrawn)."""
    outcome = p.get("outcome")
    if outcome not in ("won", "lost"):
        raise invalid("outcome must be won or lost", param="outcome")
    dispute = core.store.get(dp_id, "dispute", None)
    if dispute["status"] not in disputes.OPEN_STATUSES:
        raise invalid(f"This dispute is already closed ({dispute['status']}).")
    disputes.close_dispute(core, dispute, outcome)
    back = f"{_amount(dispute)} was returned" if outcome == "won" else f"{_amount(dispute)} stays withdrawn"
    return f"Dispute {outcome}", f"Dispute {dp_id} on {dispute['charge']} was {outcome}; {back}.", render(dispute)


# -- the bank ------------------------------------------------------------------------------------------------------
@operation
def payout_fail(core: Core, p: Params, po_id: str) -> Outcome:
    """The bank returns a payout (even one shown as paid, as Stripe warns): the money goes back on the balance."""
    payout = core.store.get(po_id, "payout", None)
    code = str(p.get("failure_code") or "could_not_process")
    if code not in balance.PAYOUT_FAILURES:
        raise invalid(
            f"Invalid failure_code: must be one of {', '.join(balance.PAYOUT_FAILURES)}", param="failure_code"
        )
    if payout["status"] not in ("pending", "in_transit", "paid"):
        raise invalid(f"Payout {po_id} is {payout['status']} and cannot fail.")
    balance.finish_payout(core, payout, "failed", code)
    owner = core.store.owner[po_id] or "the platform"
    sentence = (
        f"Payout {po_id} of {_amount(payout)} failed ({code}); the money is back on {owner}'s balance, and its bank "
        "account is errored: no payout goes out until the bank details are updated."
    )
    return "Payout failed", sentence, render(payout)


@operation
def payout_pay(core: Core, p: Params, po_id: str) -> Outcome:
    """The bank credits a payout now, without waiting for its arrival date."""
    payout = core.store.get(po_id, "payout", None)
    if payout["status"] not in ("pending", "in_transit"):
        raise invalid(f"Payout {po_id} is {payout['status']}; only pending or in-transit payouts can be paid.")
    balance.finish_payout(core, payout, "paid")
    sentence = f"Payout {po_id} of {_amount(payout)} to {core.store.owner[po_id] or 'the platform'} is paid."
    return "Payout paid", sentence, render(payout)


@operation
def bank_account_update(core: Core, p: Params, account_id: str) -> Outcome:
    """The seller updates its bank details in the Express dashboard: an errored bank account is usable again
    (`account.external_account.updated`), and the next payout day pays the account out."""
    core.store.get(account_id, "account", PLATFORM)
    bank = balance.bank_account_set_status(core, account_id, "new")
    if bank is None:
        raise invalid(f"Account {account_id} has no bank account yet: it has not finished onboarding.")
    return "Bank account updated", f"{account_id}'s bank account {bank['id']} can receive payouts again.", render(bank)


# -- webhooks and state --------------------------------------------------------------------------------------------
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
        cfg.max_attempts = _int(p["max_attempts"], "max_attempts")
    if "retry_base" in p:
        try:
            cfg.retry_base = float(p["retry_base"])
        except ValueError:
            raise invalid(f"Invalid number: {p['retry_base']}", param="retry_base") from None
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


ROUTES: list[Route] = [
    ("GET", r"/_sandbox", control_page.overview),
    ("POST", r"/_sandbox/account_links/([^/]+)/complete", link_complete),
    ("POST", r"/_sandbox/checkout/sessions/([^/]+)/pay", session_pay),
    ("POST", r"/_sandbox/checkout/sessions/([^/]+)/authenticate", session_authenticate),
    ("GET", r"/_sandbox/clock", clock_get),
    ("POST", r"/_sandbox/clock/advance", clock_advance),
    ("GET", r"/_sandbox/accounts/([^/]+)/requirements", control_page.requirements_form),
    ("POST", r"/_sandbox/accounts/([^/]+)/requirements", account_requirements),
    ("GET", r"/_sandbox/charges/([^/]+)/dispute", control_page.dispute_form),
    ("POST", r"/_sandbox/charges/([^/]+)/dispute", dispute_open),
    ("POST", r"/_sandbox/disputes/([^/]+)/resolve", dispute_resolve),
    ("GET", r"/_sandbox/payouts/([^/]+)/fail", control_page.payout_fail_form),
    ("POST", r"/_sandbox/payouts/([^/]+)/fail", payout_fail),
    ("POST", r"/_sandbox/payouts/([^/]+)/pay", payout_pay),
    ("POST", r"/_sandbox/accounts/([^/]+)/bank_account", bank_account_update),
    ("GET", r"/_sandbox/deliveries", deliveries),
    ("POST", r"/_sandbox/deliveries/hold", hold),
    ("POST", r"/_sandbox/deliveries/release", release),
    ("POST", r"/_sandbox/events/([^/]+)/redeliver", redeliver),
    ("POST", r"/_sandbox/webhooks", configure),
    ("POST", r"/_sandbox/reset", reset),
]
