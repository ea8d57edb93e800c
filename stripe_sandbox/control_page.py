"""The control page at ``/_sandbox/``: what there is to act on, and plain HTML forms for the control API.

Forms post to the control API's own URLs; a browser gets back a page saying what happened (``result``). Forms
that need more than a click (open a dispute, fail a payout, change requirements) have their own page at the same
URL as the operation, reached from the object's row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import money
from .core import Core
from .hosted import Response, esc, page
from .resources import accounts, balance, disputes
from .store import PLATFORM, Obj

BACK = '<p><a href="/_sandbox/">Back to the control page</a></p>'
LIMIT = 30


def when(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "none"


def _local(ts: int | None) -> str:
    """The value of a ``datetime-local`` field (UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M") if ts else ""


def _amount(obj: Obj, key: str = "amount") -> str:
    return money.format_amount(obj[key], obj["currency"])


def _owner(core: Core, object_id: str) -> str:
    return core.store.owner.get(object_id) or "platform"


def _table(caption: str, headers: list[str], rows: Iterable[str], empty: str) -> str:
    body = "".join(rows)
    if not body:
        return f'<p class="note">{esc(empty)}</p>'
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    # A box that scrolls sideways on a phone; focusable and named so a keyboard can scroll it too.
    return (
        f'<div class="scroll" tabindex="0" role="region" aria-label="{esc(caption)} table"><table>'
        f'<caption class="vh">{esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def _button(action: str, label: str, about: str, extra: str = "", css: str = "small") -> str:
    """A one-click form; ``about`` (the object's id) completes the button's accessible name."""
    return (
        f'<form method="post" action="{esc(action)}">{extra}<button type="submit" class="{css}">{esc(label)}'
        f'<span class="vh"> {esc(about)}</span></button></form>'
    )


def result(heading: str, sentence: str, events: list[Obj]) -> Response:
    """What a person sees after a form: the outcome, the events Stripe sent for it, the way back."""
    items = "".join(
        f"<li><code>{esc(e['type'])}</code> {esc(e['id'])}"
        f"{' (' + esc(e['account']) + ')' if e.get('account') else ''}</li>"
        for e in events
    )
    sent = f"<ul>{items}</ul>" if items else '<p class="note">No event was sent.</p>'
    return page(heading, f'<h1>{esc(heading)}</h1><p role="status">{esc(sentence)}</p><h2>Events sent</h2>{sent}{BACK}')


# -- the overview --------------------------------------------------------------------------------------------------
def overview(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes) -> Response:
    store = core.store
    with store.lock:
        now = store.now()
        sections = [
            _clock(now),
            _accounts(store.find("account")[:LIMIT]),
            _charges(core, [c for c in store.find("charge", None) if c.get("payment_intent")][:LIMIT]),
            _disputes(core, store.find("dispute", None)[:LIMIT]),
            _payouts(core, store.find("payout", None)[:LIMIT]),
            _sessions(store.find("checkout.session", None)[:LIMIT]),
            _events(store.find("event", None)[:LIMIT]),
            _deliveries(list(core.hooks.deliveries)[-LIMIT:]),
        ]
    nav = (
        '<nav aria-label="Sections"><p><a href="#clock-h">Clock</a> · <a href="#accounts-h">Accounts</a> · '
        '<a href="#charges-h">Charges</a> · <a href="#disputes-h">Disputes</a> · <a href="#payouts-h">Payouts</a> · '
        '<a href="#sessions-h">Checkout</a> · <a href="#events-h">Events</a></p></nav>'
    )
    return page("Sandbox control", "<h1>Stripe sandbox control</h1>" + nav + "".join(sections), wide=True)


def _section(key: str, title: str, intro: str, content: str) -> str:
    note = f'<p class="note">{intro}</p>' if intro else ""
    return f'<section aria-labelledby="{key}-h"><h2 id="{key}-h">{esc(title)}</h2>{note}{content}</section>'


def _clock(now: int) -> str:
    form = (
        '<form method="post" action="/_sandbox/clock/advance"><p><label for="seconds">Advance the clock by (seconds)'
        '</label> <input type="text" id="seconds" name="seconds" value="86400" inputmode="numeric" '
        'aria-describedby="seconds-note"> <button type="submit">Advance clock</button></p>'
        '<p class="note" id="seconds-note">86400 = one day. On the way funds become available, payouts are made '
        "and arrive (each midnight UTC), deadlines pass and Checkout Sessions expire.</p></form>"
    )
    return _section(
        "clock", "Clock", "", f'<p>Sandbox time: <time id="clock">{esc(when(now))}</time> ({now})</p>{form}'
    )


def _accounts(accts: list[Obj]) -> str:
    rows = (
        f"<tr><td><code>{esc(a['id'])}</code></td><td>{esc(a['email'] or '')}</td>"
        f"<td>{'yes' if a['charges_enabled'] else 'no'}</td><td>{'yes' if a['payouts_enabled'] else 'no'}</td>"
        f"<td>{len(a['requirements']['currently_due'])}</td><td>{len(a['requirements']['past_due'])}</td>"
        f"<td>{esc(when(a['requirements']['current_deadline']))}</td>"
        f"<td>{esc(a['requirements']['disabled_reason'] or '')}</td>"
        f'<td><a href="/_sandbox/accounts/{esc(a["id"])}/requirements">Change requirements'
        f'<span class="vh"> of {esc(a["id"])}</span></a>{_bank_errored(a)}</td></tr>'
        for a in accts
    )
    headers = ["ID", "Email", "Charges", "Payouts", "Due", "Past due", "Deadline", "Disabled reason", "Act"]
    intro = "Stripe's verification side: what it still needs from each connected account, and by when."
    return _section("accounts", "Connected accounts", intro, _table("Accounts", headers, rows, "No accounts yet."))


def _bank_errored(acct: Obj) -> str:
    """After a failed payout the bank account is errored: the seller fixing it in the Express dashboard."""
    banks = acct["external_accounts"]["data"]
    if not banks or banks[0].get("status") != "errored":
        return ""
    return " " + _button(f"/_sandbox/accounts/{acct['id']}/bank_account", "Bank details updated", acct["id"])


def _charges(core: Core, charges: list[Obj]) -> str:
    def act(c: Obj) -> str:
        if disputes.disputable_amount(c) <= 0:
            return ""
        return (
            f'<a href="/_sandbox/charges/{esc(c["id"])}/dispute">Open a dispute'
            f'<span class="vh"> on {esc(c["id"])}</span></a>'
        )

    rows = (
        f"<tr><td><code>{esc(c['id'])}</code></td><td>{esc(_owner(core, c['id']))}</td><td>{esc(_amount(c))}</td>"
        f"<td>{esc(_amount(c, 'amount_refunded'))}</td><td>{esc(c['status'])}</td>"
        f"<td>{esc(c.get('dispute') or '')}</td><td>{act(c)}</td></tr>"
        for c in charges
    )
    headers = ["ID", "Account", "Amount", "Refunded", "Status", "Dispute", "Act"]
    intro = "Recent card payments. The card network can dispute a paid charge that is not fully refunded."
    return _section("charges", "Charges", intro, _table("Charges", headers, rows, "No card payments yet."))


def _disputes(core: Core, items: list[Obj]) -> str:
    def act(d: Obj) -> str:
        if d["status"] not in disputes.OPEN_STATUSES:
            return ""
        action = f"/_sandbox/disputes/{d['id']}/resolve"
        won = _button(action, "Won", d["id"], '<input type="hidden" name="outcome" value="won">')
        lost = _button(action, "Lost", d["id"], '<input type="hidden" name="outcome" value="lost">', "small secondary")
        return f"{won} {lost}"

    rows = (
        f"<tr><td><code>{esc(d['id'])}</code></td><td><code>{esc(d['charge'])}</code></td>"
        f"<td>{esc(_amount(d))}</td><td>{esc(d['reason'])}</td><td>{esc(d['status'])}</td>"
        f"<td>{esc(when(d['evidence_details']['due_by']))}</td><td>{act(d)}</td></tr>"
        for d in items
    )
    headers = ["ID", "Charge", "Amount", "Reason", "Status", "Evidence due", "Resolve"]
    intro = "The bank's decision on an open dispute: won returns the amount, lost keeps it withdrawn."
    return _section("disputes", "Disputes", intro, _table("Disputes", headers, rows, "No disputes yet."))


def _payouts(core: Core, items: list[Obj]) -> str:
    def act(po: Obj) -> str:
        out = []
        if po["status"] in ("pending", "in_transit"):
            out.append(_button(f"/_sandbox/payouts/{po['id']}/pay", "Mark paid", po["id"]))
        if po["status"] in ("pending", "in_transit", "paid"):
            out.append(
                f'<a href="/_sandbox/payouts/{esc(po["id"])}/fail">Fail<span class="vh"> {esc(po["id"])}</span></a>'
            )
        return " ".join(out)

    rows = (
        f"<tr><td><code>{esc(po['id'])}</code></td><td>{esc(_owner(core, po['id']))}</td>"
        f"<td>{esc(_amount(po))}</td><td>{esc(po['status'])}</td><td>{esc(when(po['arrival_date']))}</td>"
        f"<td>{esc(po.get('failure_code') or '')}</td><td>{act(po)}</td></tr>"
        for po in items
    )
    headers = ["ID", "Account", "Amount", "Status", "Arrival", "Failure", "Act"]
    intro = "The bank's side of payouts: pay one now, or fail it (even once paid) and the money returns."
    return _section("payouts", "Payouts", intro, _table("Payouts", headers, rows, "No payouts yet."))


def _sessions(items: list[Obj]) -> str:
    rows = (
        f'<tr><td><a href="/hosted/checkout/{esc(s["id"])}">{esc(s["id"][:24])}…</a></td><td>{esc(s["status"])}</td>'
        f"<td>{esc(_session_total(s))}</td></tr>"
        for s in items
    )
    return _section(
        "sessions", "Checkout sessions", "", _table("Checkout sessions", ["ID", "Status", "Total"], rows, "None yet.")
    )


def _session_total(session: Obj) -> str:
    """A setup session (saving a card) has no amount and no currency: nothing to show."""
    if session.get("currency") is None or session.get("amount_total") is None:
        return "—"
    return money.format_amount(session["amount_total"], session["currency"])


def _events(items: list[Obj]) -> str:
    rows = (
        f"<tr><td>{esc(e['id'])}</td><td>{esc(e['type'])}</td><td>{esc(e.get('account') or 'platform')}</td></tr>"
        for e in items
    )
    return _section("events", "Recent events", "", _table("Events", ["ID", "Type", "Account"], rows, "None yet."))


def _deliveries(items: list[dict[str, Any]]) -> str:
    rows = (
        f"<tr><td>{esc(d['event'])}</td><td>{esc(d['type'])}</td><td>{d['attempt']}</td>"
        f"<td>{esc(d['status'] or d['error'])}</td></tr>"
        for d in reversed(items)
    )
    headers = ["Event", "Type", "Attempt", "Result"]
    return _section("deliveries", "Recent deliveries", "", _table("Deliveries", headers, rows, "None yet."))


# -- the forms that need input -------------------------------------------------------------------------------------
def _options(values: Iterable[str], selected: str | None, labels: dict[str, str] | None = None) -> str:
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == selected else ""}>{esc((labels or {}).get(v, v))}</option>'
        for v in values
    )


def requirements_form(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, acct_id: str) -> Response:
    with core.store.lock:
        acct = core.store.get(acct_id, "account", PLATFORM)
        r = acct["requirements"]
        state = "enabled" if acct["charges_enabled"] else "disabled"

    def field(name: str, label: str) -> str:
        return (
            f'<p><label for="{name}">{label}</label><input type="text" id="{name}" name="{name}" '
            f'value="{esc(", ".join(r[name]))}" aria-describedby="codes-note"></p>'
        )

    known = "".join(f"<li><code>{esc(c)}</code></li>" for c in [*accounts.INITIAL_REQUIREMENTS, *accounts.LEFT_DUE])
    none = "None (requirements.past_due if anything is past due)"
    return page(
        "Change requirements",
        f"""<h1>Requirements of <code>{esc(acct_id)}</code></h1>
<p>Charges and payouts are {state} now. Saving sends <code>account.updated</code> (and
<code>capability.updated</code> when a capability changes), as Stripe does.</p>
<form method="post" action="/_sandbox/accounts/{esc(acct_id)}/requirements">
{field("currently_due", "Currently due")}{field("past_due", "Past due")}{field("eventually_due", "Eventually due")}
<p class="note" id="codes-note">Requirement codes, separated by commas. What is past due is also currently due,
and what is currently due is also eventually due.</p>
<p><label for="current_deadline">Deadline (UTC, sandbox time)</label>
<input type="datetime-local" id="current_deadline" name="current_deadline" value="{_local(r["current_deadline"])}"
 aria-describedby="deadline-note"></p>
<p class="note" id="deadline-note">Empty: no deadline. When the sandbox clock passes it with anything still due,
that becomes past due and the account is disabled.</p>
<p><label for="disabled_reason">Disabled reason</label>
<select id="disabled_reason" name="disabled_reason"><option value="">{none}</option>
{_options(accounts.DISABLED_REASONS, r["disabled_reason"])}</select></p>
<p><button type="submit">Save requirements</button></p>
</form>
<details><summary>Requirement codes Stripe asks Express accounts for</summary><ul>{known}</ul></details>
{BACK}""",
    )


def dispute_form(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, ch_id: str) -> Response:
    with core.store.lock:
        charge = core.store.get(ch_id, "charge", None)
        left = disputes.disputable_amount(charge)
        paid, owner = _amount(charge), _owner(core, ch_id)
    if left <= 0:
        return page(
            "Cannot dispute",
            f"<h1>Charge <code>{esc(ch_id)}</code> cannot be disputed</h1>"
            '<p role="alert">It is already disputed, fully refunded, or was never paid.</p>' + BACK,
            400,
        )
    most = money.format_amount(left, charge["currency"])
    return page(
        "Open a dispute",
        f"""<h1>Open a dispute on <code>{esc(ch_id)}</code></h1>
<p>A charge of {esc(paid)} on the {esc(owner)} balance; {esc(most)} can be disputed. Opening the dispute withdraws
the amount and the dispute fee from that balance and sends <code>charge.dispute.created</code> and
<code>charge.dispute.funds_withdrawn</code>.</p>
<form method="post" action="/_sandbox/charges/{esc(ch_id)}/dispute">
<p><label for="reason">Reason</label>
<select id="reason" name="reason">{_options(disputes.REASONS, "fraudulent")}</select></p>
<p><label for="amount">Amount in the currency's minor unit</label>
<input type="text" id="amount" name="amount" value="{left}" inputmode="numeric" aria-describedby="amount-note"></p>
<p class="note" id="amount-note">From 1 to {left} ({esc(most)}), e.g. 1050 for $10.50 or 1050 for ¥1,050.</p>
<p><button type="submit">Open dispute</button></p>
</form>
{BACK}""",
    )


def payout_fail_form(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, po_id: str) -> Response:
    with core.store.lock:
        payout = core.store.get(po_id, "payout", None)
        summary = (
            f"{_amount(payout)} to {_owner(core, po_id)}, {payout['status']}, arrival {when(payout['arrival_date'])}"
        )
    codes = {code: f"{code}: {text}" for code, text in balance.PAYOUT_FAILURES.items()}
    return page(
        "Fail a payout",
        f"""<h1>Fail payout <code>{esc(po_id)}</code></h1>
<p>{esc(summary)}. Failing it puts the money back on the balance and sends <code>payout.failed</code>.</p>
<form method="post" action="/_sandbox/payouts/{esc(po_id)}/fail">
<p><label for="failure_code">Failure code</label>
<select id="failure_code" name="failure_code">{_options(codes, "account_closed", codes)}</select></p>
<p><button type="submit">Fail payout</button></p>
</form>
{BACK}""",
    )
