"""Stripe's hosted invoice page and customer portal (billing_portal.Session ``url``), plain HTML like hosted.py.

The portal does what the issue asks of Stripe's: cancel a subscription at the end of its period (or undo that),
change the card (the new card becomes the customer's and the subscriptions' default), and list the invoices with
their hosted pages; "Return" goes back to the session's ``return_url``. What the customer does arrives at the app as
``customer.subscription.updated``, ``payment_method.attached`` and ``customer.updated`` events.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from . import money
from .core import Core, Route, diff
from .hosted import TEST_CARDS, Response, esc, form, page, redirect
from .resources import billing, methods, payments
from .store import Obj


def _date(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y") if ts else "-"


def _card_input(label: str = "Card number") -> str:
    options = "".join(f'<option value="{n}">' for n, _ in TEST_CARDS)
    return (
        f'<p><label for="cardNumber">{esc(label)}</label>'
        '<input type="text" id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" '
        f'list="test-cards" required></p><datalist id="test-cards">{options}</datalist>'
    )


# -- hosted invoice page -------------------------------------------------------------------------------------------
def invoice_page(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, in_id: str) -> Response:
    """``hosted_invoice_url``: what is owed and why; pay with a card, or finish the 3-D Secure step of a renewal."""
    with core.store.lock:
        invoice = core.store.objects.get(in_id)
        if invoice is None or invoice.get("object") != "invoice" or invoice["status"] == "draft":
            return page("Not found", "<h1>Invoice not found</h1><p>This invoice link is not valid.</p>", 404)
        error = None
        if req.command == "POST" and invoice["status"] == "open":
            number = form(body).get("cardNumber", "").replace(" ", "")
            name = payments.PM_BY_NUMBER.get(number)
            if name is None:
                error = "Your card number is invalid."
            else:
                owner = core.store.owner[invoice["id"]]
                pm = methods.new_payment_method(core, owner, payments.CARDS[name])
                methods.attach(core, pm, invoice["customer"])
                pi = billing.attempt(core, invoice, pm["id"], customer_present=True)
                core.store.save()
                if pi.get("status") == "requires_action":
                    return redirect(pi["next_action"]["redirect_to_url"]["url"])
                if pi.get("status") != "succeeded":
                    error = payments.buyer_message(pi)
        pi = core.store.objects.get(invoice.get("_pi") or "") or {}
        if error is None and invoice["status"] == "open" and pi.get("status") == "requires_payment_method":
            error = payments.buyer_message(pi)
    amount = money.format_amount(invoice["amount_due"], invoice["currency"])
    rows = "".join(
        f"<tr><td>{esc(line['description'])}</td><td>{esc(_date(line['period']['start']))} to "
        f"{esc(_date(line['period']['end']))}</td><td>{esc(money.format_amount(line['amount'], line['currency']))}"
        "</td></tr>"
        for line in invoice["lines"]["data"]
    )
    if invoice["status"] == "paid":
        action = f'<p role="status" id="status">Paid on {esc(_date(invoice["status_transitions"]["paid_at"]))}.</p>'
    elif invoice["status"] != "open":
        action = f'<p role="status" id="status">This invoice is {esc(invoice["status"])}.</p>'
    else:
        auth = ""
        if pi.get("status") == "requires_action":
            auth = (
                f'<p>Your bank asks you to confirm this payment. <a id="authenticate" '
                f'href="{esc(pi["next_action"]["redirect_to_url"]["url"])}">Confirm the payment</a></p>'
            )
        alert = f'<p role="alert" id="error">{esc(error)}</p>' if error else ""
        action = f"""<p role="status" id="status">Due: {esc(amount)}.</p>{auth}{alert}
<form method="post"><h2>Pay with another card</h2>{_card_input()}<p><button type="submit">Pay {esc(amount)}</button>
</p></form>"""
    return page(
        f"Invoice {invoice['number']}",
        f"""<h1>Invoice {esc(invoice["number"])}</h1>
<table><thead><tr><th>Description</th><th>Period</th><th>Amount</th></tr></thead><tbody>{rows}</tbody>
<tfoot><tr><th colspan="2">Total</th><th>{esc(amount)}</th></tr></tfoot></table>{action}""",
    )


def invoice_pdf(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, in_id: str) -> Response:
    """``invoice_pdf``: the sandbox serves the same facts as text (it makes no PDFs)."""
    with core.store.lock:
        invoice = core.store.objects.get(in_id)
        if invoice is None or invoice.get("object") != "invoice" or invoice["status"] == "draft":
            return 404, "text/plain; charset=utf-8", b"Invoice not found", {}
        text = (
            f"Invoice {invoice['number']}\nStatus: {invoice['status']}\n"
            f"Total: {money.format_amount(invoice['total'], invoice['currency'])}\n"
        )
    return 200, "text/plain; charset=utf-8", text.encode(), {}


# -- customer portal -----------------------------------------------------------------------------------------------
def _portal_session(core: Core, bps_id: str) -> Obj | None:
    obj = core.store.objects.get(bps_id)
    return obj if obj and obj.get("object") == "billing_portal.session" else None


def portal_page(core: Core, req: BaseHTTPRequestHandler, query: str, body: bytes, bps_id: str) -> Response:
    with core.store.lock:
        session = _portal_session(core, bps_id)
        if session is None:
            return page("Not found", "<h1>Portal session not found</h1><p>This link is not valid.</p>", 404)
        if session["_expires_at"] <= core.store.now() and not session.get("_opened"):
            return page(
                "Link expired",
                "<h1>This link has expired</h1><p>Open billing again from the shop's site.</p>" + _return_link(session),
                410,
            )
        session["_opened"] = True
        customer = session["customer"]
        notice = error = None
        if req.command == "POST":
            data = form(body)
            notice, error = _portal_action(core, session, data)
            core.store.save()
            if error is None:
                return redirect(f"{session['url']}?done={notice}")
        if "done=" in query:
            notice = query.split("done=", 1)[1].split("&")[0]
        subs = [
            s
            for s in core.store.find("subscription", None, customer=customer)
            if s["status"] not in ("incomplete", "incomplete_expired")  # never started: nothing to manage
        ]
        invoices = [i for i in core.store.find("invoice", None, customer=customer) if i["status"] != "draft"]
        cus = core.store.objects[customer]
        default_pm = cus["invoice_settings"].get("default_payment_method") or next(
            (s["default_payment_method"] for s in subs if s["default_payment_method"]), None
        )
        pm = core.store.objects.get(default_pm or "")
    messages = {
        "canceled": "Your subscription will end at the end of the current period.",
        "renewed": "Your subscription will continue.",
        "card": "Your card was updated.",
    }
    status = f'<p role="status" id="notice">{esc(messages.get(notice or "", ""))}</p>' if notice in messages else ""
    alert = f'<p role="alert" id="error">{esc(error)}</p>' if error else ""
    sub_rows = "".join(_sub_row(core, s) for s in subs) or "<p>No subscriptions.</p>"
    card = (
        f"{esc(pm['card']['brand'].title())} ending {esc(pm['card']['last4'])}, expires "
        f"{pm['card']['exp_month']:02d}/{pm['card']['exp_year']}"
        if pm
        else "No card on file."
    )
    inv_rows = "".join(
        f"<tr><td>{esc(_date(i['created']))}</td><td>{esc(money.format_amount(i['total'], i['currency']))}</td>"
        f'<td>{esc(i["status"])}</td><td><a href="{esc(i["hosted_invoice_url"])}">View invoice {esc(i["number"])}'
        "</a></td></tr>"
        for i in invoices
    )
    return page(
        "Billing",
        f"""<h1>Manage billing</h1>{status}{alert}
<section aria-labelledby="subs-h"><h2 id="subs-h">Subscriptions</h2>{sub_rows}</section>
<section aria-labelledby="pm-h"><h2 id="pm-h">Payment method</h2><p id="card">{card}</p>
<form method="post"><input type="hidden" name="action" value="card">{_card_input("New card number")}
<p><button type="submit">Update card</button></p></form></section>
<section aria-labelledby="inv-h"><h2 id="inv-h">Invoice history</h2><div class="scroll"><table>
<thead><tr><th>Date</th><th>Amount</th><th>Status</th><th>Invoice</th></tr></thead><tbody>{inv_rows}</tbody>
</table></div></section>{_return_link(session)}""",
    )


def _return_link(session: Obj) -> str:
    url = session.get("return_url")
    return f'<p><a id="return" href="{esc(url)}">Return to the shop</a></p>' if url else ""


def _sub_row(core: Core, sub: Obj) -> str:
    item = sub["items"]["data"][0]
    price = item["price"]
    name = esc(billing._product_name(core, price))
    amount = esc(money.format_amount(price["unit_amount"] * item["quantity"], price["currency"]))
    per = esc(price["recurring"]["interval"])
    if sub["status"] == "canceled":
        state = f"Canceled on {esc(_date(sub['ended_at']))}."
        button = ""
    elif sub["cancel_at_period_end"]:
        state = f"Ends on {esc(_date(sub['cancel_at']))}."
        button = (
            f'<form method="post"><input type="hidden" name="action" value="renew">'
            f'<input type="hidden" name="subscription" value="{esc(sub["id"])}">'
            f'<button type="submit">Renew {name}</button></form>'
        )
    else:
        state = (
            f"{esc(sub['status'].replace('_', ' ').capitalize())}; renews on {esc(_date(item['current_period_end']))}."
        )
        button = (
            f'<form method="post"><input type="hidden" name="action" value="cancel">'
            f'<input type="hidden" name="subscription" value="{esc(sub["id"])}">'
            f'<button type="submit" class="secondary">Cancel {name}</button></form>'
        )
    return f"<article><h3>{name}</h3><p>{amount} per {per}. {state}</p>{button}</article>"


def _portal_action(core: Core, session: Obj, data: dict[str, str]) -> tuple[str | None, str | None]:
    customer = session["customer"]
    action = data.get("action")
    if action in ("cancel", "renew"):
        sub = core.store.objects.get(data.get("subscription", ""))
        if sub is None or sub.get("object") != "subscription" or sub["customer"] != customer:
            return None, "That subscription is not yours."
        if sub["status"] == "canceled":
            return None, "That subscription has already ended."
        billing.set_cancel_at_period_end(core, sub, action == "cancel")
        return ("canceled" if action == "cancel" else "renewed"), None
    if action == "card":
        name = payments.PM_BY_NUMBER.get(data.get("cardNumber", "").replace(" ", ""))
        if name is None:
            return None, "Your card number is invalid."
        owner = core.store.owner[customer]
        pm = methods.new_payment_method(core, owner, payments.CARDS[name])
        pm["_set_up"] = not payments.CARDS[name].auth_on_setup
        methods.attach(core, pm, customer)
        cus = core.store.objects[customer]
        before = copy.deepcopy(cus)
        cus["invoice_settings"]["default_payment_method"] = pm["id"]
        core.emit("customer.updated", cus, account=owner, previous=diff(before, cus))
        for sub in core.store.find("subscription", None, customer=customer):
            if sub["status"] not in ("canceled", "incomplete_expired") and sub["default_payment_method"]:
                sub_before = copy.deepcopy(sub)
                sub["default_payment_method"] = pm["id"]
                core.emit("customer.subscription.updated", sub, account=owner, previous=diff(sub_before, sub))
        return "card", None
    return None, "Unknown action."


ROUTES: list[Route] = [
    ("GET", r"/hosted/invoices/([^/]+)", invoice_page),
    ("POST", r"/hosted/invoices/([^/]+)", invoice_page),
    ("GET", r"/hosted/invoices/([^/]+)/pdf", invoice_pdf),
    ("GET", r"/hosted/billing_portal/([^/]+)", portal_page),
    ("POST", r"/hosted/billing_portal/([^/]+)", portal_page),
]
