"""Subscriptions, their Invoices and InvoicePayments, and billing-portal sessions (connect-behaviour.md section g).

Objects have the shape of the pinned API version (basil and later): an Invoice has no ``payment_intent``,
``charge`` or ``paid``; its payments are InvoicePayments (``invoice.payments``); its subscription is under
``parent.subscription_details``; the billing period lives on the subscription *items*.

Each invoice of a subscription with ``transfer_data.destination`` is paid by a PaymentIntent that is a destination
charge with ``application_fee_amount`` = ``application_fee_percent`` of the invoice total, so the charge, the
transfer, the application fee and their balance transactions are exactly those of any other destination charge.
The rounding of percent x total is UNCONFIRMED; the sandbox rounds half up to the currency's minor unit.

Renewals happen as the sandbox clock passes ``current_period_end``: the subscription moves to the next period, its
invoice is created, finalized and paid off-session with the default payment method. Stripe waits about an hour
between ``invoice.created`` and finalizing; the sandbox finalizes at once. A failed renewal makes the subscription
``past_due`` and is retried on a fixed stand-in for Smart Retries' default (8 tries within 2 weeks: every 2 days);
after the last failure the subscription is canceled (the Dashboard's default "cancel the subscription").
A renewal, a retry or a payment on the hosted invoice page whose destination can no longer receive transfers
(Stripe disabled the seller's account: ``transfers`` inactive) makes no charge and fails like a decline; what Stripe
records on the invoice then (``last_finalization_error``, an error on the PaymentIntent) is UNCONFIRMED.
A renewal that needs the customer (3-D Secure) leaves its PaymentIntent in ``requires_action`` and sends
``invoice.payment_action_required``; the customer authenticates from the hosted invoice page.

A subscription whose first invoice is not paid within 23 hours of its creation (a Checkout whose card was declined,
or whose 3-D Secure was never finished, then abandoned) becomes ``incomplete_expired`` when the clock passes that
time: "This is a terminal status, the open invoice will be voided and no further invoices will be generated"
(the API reference's ``Subscription.status``; changelog 2019-03-14 "subscriptions successfully created first payment
fails"). The sandbox sends ``customer.subscription.updated`` (as Laravel Cashier's handler of that event expects),
then cancels the invoice's PaymentIntent and voids the invoice (``payment_intent.canceled``, ``invoice.voided``).
Whether Stripe also sends ``customer.subscription.deleted`` and sets ``ended_at`` then is UNCONFIRMED; the sandbox
sets ``ended_at`` (the status is terminal) and sends no ``deleted``.
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import money
from ..core import Core, Ctx, Route, diff
from ..errors import StripeError, invalid
from ..store import Obj, list_envelope, new_id
from . import methods, payments

RETRY_EVERY = 2 * 86400
INCOMPLETE_EXPIRES_AFTER = 23 * 3600
MAX_ATTEMPTS = 8
INTERVALS = ("day", "week", "month", "year")


# -- arithmetic ----------------------------------------------------------------------------------------------------
def period_end(start: int, interval: str, count: int) -> int:
    """The end of a billing period: calendar months and years (the 31st renews on the last day of a short month)."""
    if interval == "day":
        return start + count * 86400
    if interval == "week":
        return start + count * 7 * 86400
    dt = datetime.fromtimestamp(start, UTC)
    months = count * (12 if interval == "year" else 1)
    year, month0 = divmod(dt.month - 1 + months, 12)
    year += dt.year
    day = min(dt.day, calendar.monthrange(year, month0 + 1)[1])
    return int(dt.replace(year=year, month=month0 + 1, day=day).timestamp())


def parse_percent(raw: Any, param: str) -> Decimal:
    """``application_fee_percent``: "a non-negative decimal between 0 and 100, with at most two decimal places"."""
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise invalid(f"Invalid decimal: {raw}", param=param) from None
    if not value.is_finite() or not 0 <= value <= 100 or value != value.quantize(Decimal("0.01")):
        raise invalid(
            "application_fee_percent must be a non-negative decimal between 0 and 100, with at most two decimal "
            "places.",
            param=param,
        )
    return value


def fee_for(total: int, percent: Decimal | float | None) -> int | None:
    if percent is None:
        return None
    basis_points = int(Decimal(str(percent)) * 100)
    return (total * basis_points + 5000) // 10000


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


# -- subscriptions -----------------------------------------------------------------------------------------------
def _plan(price: Obj) -> Obj:
    rec = price["recurring"] or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count"),
        "livemode": False,
        "metadata": price["metadata"],
        "meter": None,
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def create_subscription(
    core: Core,
    owner: str,
    *,
    customer: str,
    items: list[tuple[Obj, int]],
    default_payment_method: str | None,
    application_fee_percent: Decimal | None,
    transfer_data: dict[str, Any] | None,
    metadata: dict[str, str],
    description: str | None,
) -> Obj:
    """A new subscription (``incomplete`` until its first invoice is paid) and that first invoice, finalized."""
    now = core.store.now()
    sub_id = new_id("sub_")
    first = items[0][0]
    rec = first["recurring"]
    end = period_end(now, rec["interval"], rec["interval_count"])
    sub_items: list[Obj] = [
        {
            "id": new_id("si_", 14),
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": now,
            "current_period_end": end,
            "current_period_start": now,
            "discounts": [],
            "metadata": {},
            "plan": _plan(price),
            "price": copy.deepcopy(price),
            "quantity": qty,
            "subscription": sub_id,
            "tax_rates": [],
        }
        for price, qty in items
    ]
    sub = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": _number(application_fee_percent) if application_fee_percent is not None else None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": first["currency"],
        "customer": customer,
        "days_until_due": None,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_envelope(sub_items, f"/v1/subscription_items?subscription={sub_id}"),
        "latest_invoice": None,
        "livemode": False,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "test_clock": None,
        "transfer_data": (
            {"amount_percent": transfer_data.get("amount_percent"), "destination": transfer_data["destination"]}
            if transfer_data
            else None
        ),
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    core.store.add(sub, owner)
    invoice = _new_invoice(core, sub, now, end, "subscription_create")
    core.emit("customer.subscription.created", sub, account=owner)
    core.emit("invoice.created", invoice, account=owner)
    _finalize(core, invoice)
    return sub


def _period(sub: Obj) -> tuple[int, int]:
    item = sub["items"]["data"][0]
    return item["current_period_start"], item["current_period_end"]


def _new_invoice(
    core: Core, sub: Obj, start: int, end: int, reason: str, previous: tuple[int, int] | None = None
) -> Obj:
    """A draft invoice for the period ``start``..``end`` (its lines); the invoice's own ``period_start`` /
    ``period_end`` are the period just ended for a renewal (Stripe bills usage of the past period there), and
    its creation time for the first invoice."""
    owner = core.store.owner[sub["id"]]
    now = core.store.now()
    in_id = new_id("in_")
    cus = core.store.objects.get(sub["customer"]) or {}
    lines = []
    for item in sub["items"]["data"]:
        price = item["price"]
        amount = price["unit_amount"] * item["quantity"]
        lines.append(
            {
                "id": new_id("il_"),
                "object": "line_item",
                "amount": amount,
                "currency": price["currency"],
                "description": f"{item['quantity']} x {_product_name(core, price)} (at "
                f"{money.format_amount(price['unit_amount'], price['currency'])} / {price['recurring']['interval']})",
                "discount_amounts": [],
                "discountable": True,
                "discounts": [],
                "invoice": in_id,
                "livemode": False,
                "metadata": {},
                "parent": {
                    "invoice_item_details": None,
                    "subscription_item_details": {
                        "invoice_item": None,
                        "proration": False,
                        "proration_details": {"credited_items": None},
                        "subscription": sub["id"],
                        "subscription_item": item["id"],
                    },
                    "type": "subscription_item_details",
                },
                "period": {"end": end, "start": start},
                "pretax_credit_amounts": [],
                "pricing": {
                    "price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details",
                    "unit_amount_decimal": price["unit_amount_decimal"],
                },
                "quantity": item["quantity"],
                "subtotal": amount,
                "taxes": [],
            }
        )
    total = sum(line["amount"] for line in lines)
    invoice = {
        "id": in_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Sandbox platform",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_remaining": total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": sub["currency"],
        "custom_fields": None,
        "customer": sub["customer"],
        "customer_address": None,
        "customer_email": cus.get("email"),
        "customer_name": cus.get("name"),
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_envelope(lines, f"/v1/invoices/{in_id}/lines"),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": copy.deepcopy(sub["metadata"]), "subscription": sub["id"]},
            "type": "subscription_details",
        },
        "payment_settings": {"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        "payments": list_envelope([], f"/v1/invoice_payments?invoice={in_id}"),
        "period_end": previous[1] if previous else now,
        "period_start": previous[0] if previous else now,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": now,
    }
    sub["latest_invoice"] = in_id
    return core.store.add(invoice, owner)


def _product_name(core: Core, price: Obj) -> str:
    product = core.store.objects.get(price["product"]) or {}
    return str(product.get("name") or "Subscription")


def _finalize(core: Core, invoice: Obj) -> None:
    now = core.store.now()
    cus = core.store.objects.get(invoice["customer"]) or {}
    count = len(core.store.find("invoice", None, customer=invoice["customer"]))
    invoice.update(
        status="open",
        number=f"{cus.get('invoice_prefix') or 'SANDBOX'}-{count:04d}",
        effective_at=now,
        hosted_invoice_url=f"{core.base_url}/hosted/invoices/{invoice['id']}",
        invoice_pdf=f"{core.base_url}/hosted/invoices/{invoice['id']}/pdf",
    )
    invoice["status_transitions"]["finalized_at"] = now
    core.emit("invoice.finalized", invoice, account=core.store.owner[invoice["id"]])


def _subscription_of(core: Core, invoice: Obj) -> Obj:
    sub_id = invoice["parent"]["subscription_details"]["subscription"]
    return core.store.objects[sub_id]


def _payment_intent(core: Core, invoice: Obj, pm: str) -> Obj:
    """The invoice's PaymentIntent (one per invoice, re-confirmed on each attempt), and its InvoicePayment."""
    owner = core.store.owner[invoice["id"]]
    current = invoice.get("_pi")
    if current:
        pi: Obj = core.store.objects[current]
        pi["payment_method"] = pm
        return pi
    sub = _subscription_of(core, invoice)
    td = sub["transfer_data"]
    fee = fee_for(invoice["amount_due"], sub["application_fee_percent"])
    pi = payments.new_payment_intent(
        core,
        owner,
        {
            "amount": invoice["amount_due"],
            "currency": invoice["currency"],
            "customer": invoice["customer"],
            "payment_method": pm,
            "application_fee_amount": fee if td else None,
            "transfer_data": {"destination": td["destination"]} if td else None,
            "description": "Subscription creation"
            if invoice["billing_reason"] == "subscription_create"
            else "Subscription update",
            "metadata": {},
        },
    )
    pi["_invoice"] = invoice["id"]
    invoice["_pi"] = pi["id"]
    inpay = {
        "id": new_id("inpay_"),
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": invoice["amount_due"],
        "created": core.store.now(),
        "currency": invoice["currency"],
        "invoice": invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": pi["id"], "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    core.store.add(inpay, owner)
    invoice["payments"]["data"] = [inpay]
    return pi


def attempt(core: Core, invoice: Obj, pm: str | None, *, customer_present: bool) -> Obj:
    """One payment attempt on an open invoice; returns its PaymentIntent (outcome handled by ``after_attempt``)."""
    if pm is None:
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        _failed(core, invoice, None)
        return {}
    try:
        pi = _payment_intent(core, invoice, pm)
        payments.check_charge_destination(core, pi)  # a retry re-uses the PaymentIntent made before
    except StripeError:
        # E.g. the seller's account can no longer receive transfers: Stripe cannot make the charge; the attempt
        # fails like a decline, nothing is charged (what Stripe records on the invoice then is UNCONFIRMED).
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        _failed(core, invoice, None)
        return {}
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    card = payments.card_for(core, pm)
    pm_obj = core.store.objects.get(pm) or {}
    needs_customer = card.three_ds and (card.auth_off_session or not pm_obj.get("_set_up"))
    # Off-session nobody can authenticate: a card that needs it leaves the PaymentIntent in requires_action for the
    # customer to finish on the hosted invoice page.
    pi["_off_session"] = not customer_present and not needs_customer
    pi["_return_url"] = invoice["hosted_invoice_url"]
    pi["_customer_present"] = customer_present
    payments.confirm(core, pi, raise_on_decline=False)
    return pi


def after_attempt(core: Core, pi: Obj) -> None:
    """Called by every PaymentIntent outcome: bring the invoice and its subscription along."""
    invoice = core.store.objects.get(pi.get("_invoice") or "")
    if invoice is None or invoice["status"] != "open":
        return
    if pi["status"] == "succeeded":
        _paid(core, invoice, pi)
    elif pi["status"] == "requires_action":
        owner = core.store.owner[invoice["id"]]
        if not pi.get("_customer_present"):
            retry = _schedule_retry(core, invoice)
            core.emit("invoice.payment_action_required", invoice, account=owner)
            _past_due(core, invoice)
            if not retry:
                cancel(core, _subscription_of(core, invoice), reason="payment_failed")
    elif pi["status"] == "requires_payment_method":
        _failed(core, invoice, pi)


def _paid(core: Core, invoice: Obj, pi: Obj) -> None:
    owner = core.store.owner[invoice["id"]]
    now = core.store.now()
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
    )
    invoice["status_transitions"]["paid_at"] = now
    inpay = invoice["payments"]["data"][0]
    inpay.update(status="paid", amount_paid=invoice["amount_due"])
    inpay["status_transitions"]["paid_at"] = now
    pm = core.store.objects.get(pi["payment_method"] or "")
    if pm is not None and pm.get("object") == "payment_method":
        pm["_set_up"] = True  # Billing saves the card for the next off-session renewals
    core.emit("invoice.paid", invoice, account=owner)
    core.emit("invoice.payment_succeeded", invoice, account=owner)
    core.emit("invoice_payment.paid", inpay, account=owner)
    sub = _subscription_of(core, invoice)
    if sub["status"] in ("incomplete", "past_due"):
        _set_status(core, sub, "active")


def _schedule_retry(core: Core, invoice: Obj) -> bool:
    if invoice["attempt_count"] >= MAX_ATTEMPTS:
        invoice["next_payment_attempt"] = None
        return False
    invoice["next_payment_attempt"] = core.store.now() + RETRY_EVERY
    return True


def _failed(core: Core, invoice: Obj, pi: Obj | None) -> None:
    owner = core.store.owner[invoice["id"]]
    sub = _subscription_of(core, invoice)
    if sub["status"] == "incomplete":
        core.emit("invoice.payment_failed", invoice, account=owner)
        return
    retry = _schedule_retry(core, invoice)
    core.emit("invoice.payment_failed", invoice, account=owner)
    _past_due(core, invoice)
    if not retry:
        cancel(core, sub, reason="payment_failed")


def _past_due(core: Core, invoice: Obj) -> None:
    sub = _subscription_of(core, invoice)
    if sub["status"] == "active":
        _set_status(core, sub, "past_due")


def _set_status(core: Core, sub: Obj, status: str) -> None:
    before = copy.deepcopy(sub)
    sub["status"] = status
    core.emit("customer.subscription.updated", sub, account=core.store.owner[sub["id"]], previous=diff(before, sub))


def cancel(core: Core, sub: Obj, *, reason: str) -> Obj:
    """End the subscription now (``customer.subscription.deleted``); its open invoices stay as they are."""
    now = core.store.now()
    sub.update(status="canceled", canceled_at=sub["canceled_at"] or now, ended_at=now)
    sub["cancellation_details"]["reason"] = reason
    core.emit("customer.subscription.deleted", sub, account=core.store.owner[sub["id"]])
    return sub


def set_cancel_at_period_end(core: Core, sub: Obj, value: bool) -> Obj:
    before = copy.deepcopy(sub)
    sub["cancel_at_period_end"] = value
    sub["cancel_at"] = _period(sub)[1] if value else None
    sub["canceled_at"] = core.store.now() if value else None
    sub["cancellation_details"]["reason"] = "cancellation_requested" if value else None
    changed = diff(before, sub)
    if changed:
        core.emit("customer.subscription.updated", sub, account=core.store.owner[sub["id"]], previous=changed)
    return sub


def default_payment_method(core: Core, sub: Obj) -> str | None:
    """Stripe's order: the subscription's default, then the customer's ``invoice_settings.default_payment_method``."""
    if sub["default_payment_method"]:
        return str(sub["default_payment_method"])
    cus = core.store.objects.get(sub["customer"]) or {}
    found = (cus.get("invoice_settings") or {}).get("default_payment_method")
    return str(found) if found else None


def next_due(core: Core, *, after: int) -> int | None:
    """The first renewal or retry time later than ``after``, for the clock to stop at."""
    times = [
        i["next_payment_attempt"]
        for i in core.store.find("invoice", None, status="open")
        if i["next_payment_attempt"] and i["next_payment_attempt"] > after
    ]
    times += [
        _period(s)[1]
        for s in core.store.find("subscription", None)
        if s["status"] in ("active", "past_due") and _period(s)[1] > after
    ]
    times += [
        s["created"] + INCOMPLETE_EXPIRES_AFTER
        for s in core.store.find("subscription", None, status="incomplete")
        if s["created"] + INCOMPLETE_EXPIRES_AFTER > after
    ]
    return min(times) if times else None


def run_due(core: Core) -> None:
    """The clock passed a period end, a retry time or an incomplete subscription's 23 hours: renew, retry, end
    subscriptions set to cancel, or expire the ones never paid."""
    now = core.store.now()
    for sub in core.store.find("subscription", None, status="incomplete"):
        if sub["created"] + INCOMPLETE_EXPIRES_AFTER <= now:
            _expire_incomplete(core, sub)
    for invoice in reversed(core.store.find("invoice", None, status="open")):
        due = invoice["next_payment_attempt"]
        if due is not None and due <= now:
            sub = _subscription_of(core, invoice)
            if sub["status"] == "canceled":
                invoice["next_payment_attempt"] = None
                continue
            invoice["next_payment_attempt"] = None
            attempt(core, invoice, default_payment_method(core, sub), customer_present=False)
    for sub in reversed(core.store.find("subscription", None)):
        while sub["status"] in ("active", "past_due") and _period(sub)[1] <= now:
            end = _period(sub)[1]
            if sub["cancel_at_period_end"]:
                cancel(core, sub, reason="cancellation_requested")
                break
            _renew(core, sub, end)


def _renew(core: Core, sub: Obj, start: int) -> None:
    owner = core.store.owner[sub["id"]]
    _resume_if_due(core, sub, start)
    before = copy.deepcopy(sub)
    previous = _period(sub)
    for item in sub["items"]["data"]:
        rec = item["price"]["recurring"]
        item["current_period_start"] = start
        item["current_period_end"] = period_end(start, rec["interval"], rec["interval_count"])
    end = _period(sub)[1]
    invoice = _new_invoice(core, sub, start, end, "subscription_cycle", previous)
    core.emit("customer.subscription.updated", sub, account=owner, previous=diff(before, sub))
    core.emit("invoice.created", invoice, account=owner)
    paused = (sub["pause_collection"] or {}).get("behavior")
    if paused == "keep_as_draft":
        invoice["auto_advance"] = False
        return
    _finalize(core, invoice)
    if paused == "void":
        _close_unpaid(core, invoice, "void", "voided_at", "invoice.voided")
    elif paused == "mark_uncollectible":
        _close_unpaid(core, invoice, "uncollectible", "marked_uncollectible_at", "invoice.marked_uncollectible")
    else:
        attempt(core, invoice, default_payment_method(core, sub), customer_present=False)


def _expire_incomplete(core: Core, sub: Obj) -> None:
    """23 hours without a paid first invoice: the subscription ends ``incomplete_expired`` and its open invoice is
    voided, so nothing can pay it any more (module docstring)."""
    before = copy.deepcopy(sub)
    sub.update(status="incomplete_expired", ended_at=core.store.now())
    core.emit("customer.subscription.updated", sub, account=core.store.owner[sub["id"]], previous=diff(before, sub))
    invoice = core.store.objects.get(sub["latest_invoice"] or "")
    if invoice is not None and invoice["status"] == "open":
        _void(core, invoice)


def _resume_if_due(core: Core, sub: Obj, now: int) -> None:
    """``pause_collection.resumes_at`` has passed: collection resumes (the field is unset). Stripe unsets it
    at that time; the sandbox at the first renewal after it, which charges the same."""
    resumes_at = (sub["pause_collection"] or {}).get("resumes_at")
    if resumes_at is not None and resumes_at <= now:
        before = copy.deepcopy(sub)
        sub["pause_collection"] = None
        core.emit("customer.subscription.updated", sub, account=core.store.owner[sub["id"]], previous=diff(before, sub))


def _close_unpaid(core: Core, invoice: Obj, status: str, transition: str, event: str) -> None:
    """An invoice closed unpaid (a renewal while collection is paused, a void, an expired first invoice): voided or
    marked uncollectible; nothing is charged and it is never retried."""
    invoice.update(status=status, next_payment_attempt=None, auto_advance=False)
    invoice["status_transitions"][transition] = core.store.now()
    core.emit(event, invoice, account=core.store.owner[invoice["id"]])


# -- API -----------------------------------------------------------------------------------------------------------
def sub_retrieve(ctx: Ctx, sub_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(sub_id, "subscription", ctx.owner)


def sub_list(ctx: Ctx) -> Obj:
    p = ctx.params(
        {
            "customer": "str",
            "price": "str",
            "status": (
                "active",
                "all",
                "canceled",
                "ended",
                "incomplete",
                "incomplete_expired",
                "past_due",
                "paused",
                "trialing",
                "unpaid",
            ),
        },
        listing=True,
    )
    items = ctx.store.find("subscription", ctx.owner, **({"customer": p["customer"]} if p.get("customer") else {}))
    status = p.get("status")
    if status is None:
        items = [s for s in items if s["status"] != "canceled"]
    elif status == "ended":
        items = [s for s in items if s["status"] in ("canceled", "incomplete_expired")]
    elif status != "all":
        items = [s for s in items if s["status"] == status]
    if p.get("price"):
        items = [s for s in items if any(i["price"]["id"] == p["price"] for i in s["items"]["data"])]
    return ctx.store.page(items, p, "/v1/subscriptions")


def sub_update(ctx: Ctx, sub_id: str) -> Obj:
    sub = ctx.store.get(sub_id, "subscription", ctx.owner)
    p = ctx.params(
        {
            "cancel_at_period_end": "bool",
            "default_payment_method": "str",
            "metadata": "meta",
            "pause_collection": {"!behavior": ("keep_as_draft", "mark_uncollectible", "void"), "resumes_at": "int"},
            "application_fee_percent": "str",
        }
    )
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise invalid(
            "A canceled subscription can only update its cancellation_details and metadata.",
            param="cancel_at_period_end" if "cancel_at_period_end" in p else None,
        )
    before = copy.deepcopy(sub)
    if p.get("default_payment_method"):
        pm = methods.concrete(ctx.core, ctx.owner, p["default_payment_method"], "default_payment_method")
        if pm["customer"] != sub["customer"]:
            raise invalid(
                "The customer does not have a payment method with the ID "
                f"{p['default_payment_method']}. The payment method must be attached to the customer.",
                param="default_payment_method",
            )
        sub["default_payment_method"] = pm["id"]
    if "metadata" in p:
        sub["metadata"] = {k: v for k, v in {**sub["metadata"], **p["metadata"]}.items() if v}
    if "application_fee_percent" in p:  # the invoices from now on: one already paid keeps its fee
        sub["application_fee_percent"] = _number(parse_percent(p["application_fee_percent"], "application_fee_percent"))
    if "pause_collection" in p:  # "" unsets it: collection resumes
        paused = p["pause_collection"]
        sub["pause_collection"] = (
            {"behavior": paused["behavior"], "resumes_at": paused.get("resumes_at")} if paused else None
        )
    changed = diff(before, sub)
    if changed:
        ctx.core.emit("customer.subscription.updated", sub, account=ctx.owner, previous=changed)
    if "cancel_at_period_end" in p:
        set_cancel_at_period_end(ctx.core, sub, p["cancel_at_period_end"])
    return sub


def sub_cancel(ctx: Ctx, sub_id: str) -> Obj:
    sub = ctx.store.get(sub_id, "subscription", ctx.owner)
    ctx.params(
        {"invoice_now": "bool", "prorate": "bool", "cancellation_details": {"comment": "str", "feedback": "str"}}
    )
    if sub["status"] == "canceled":
        raise StripeError(404, f"No such subscription: '{sub_id}'", code="resource_missing", param="id")
    return cancel(ctx.core, sub, reason="cancellation_requested")


def invoice_retrieve(ctx: Ctx, in_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(in_id, "invoice", ctx.owner)


def invoice_void(ctx: Ctx, in_id: str) -> Obj:
    """``POST /v1/invoices/{id}/void``: an open (or uncollectible) invoice can no longer be paid, on the hosted
    page or by a retry; its PaymentIntent is canceled (``cancellation_reason=void_invoice``). Anything else is
    refused (the wording of Stripe's refusal is UNCONFIRMED)."""
    invoice = ctx.store.get(in_id, "invoice", ctx.owner)
    ctx.params({})
    if invoice["status"] not in ("open", "uncollectible"):
        raise invalid(f"You can only void an open or uncollectible invoice; this one is {invoice['status']}.")
    _void(ctx.core, invoice)
    return invoice


def _void(core: Core, invoice: Obj) -> None:
    """The invoice is voided and its unfinished PaymentIntent canceled (``cancellation_reason=void_invoice``)."""
    pi = core.store.objects.get(invoice.get("_pi") or "")
    if pi is not None and pi["status"] in ("requires_payment_method", "requires_confirmation", "requires_action"):
        pi.update(status="canceled", canceled_at=core.store.now(), cancellation_reason="void_invoice", next_action=None)
        core.emit("payment_intent.canceled", pi, account=core.store.owner[pi["id"]])
    _close_unpaid(core, invoice, "void", "voided_at", "invoice.voided")


def invoice_list(ctx: Ctx) -> Obj:
    p = ctx.params(
        {
            "customer": "str",
            "subscription": "str",
            "status": ("draft", "open", "paid", "uncollectible", "void"),
            "collection_method": ("charge_automatically", "send_invoice"),
        },
        listing=True,
    )
    match = {k: p[k] for k in ("customer", "status", "collection_method") if p.get(k)}
    items = ctx.store.find("invoice", ctx.owner, **match)
    if p.get("subscription"):
        items = [i for i in items if i["parent"]["subscription_details"]["subscription"] == p["subscription"]]
    return ctx.store.page(items, p, "/v1/invoices")


def invoice_lines(ctx: Ctx, in_id: str) -> Obj:
    invoice = ctx.store.get(in_id, "invoice", ctx.owner)
    p = ctx.params({}, listing=True)
    return ctx.store.page(list(invoice["lines"]["data"]), p, f"/v1/invoices/{in_id}/lines")


def invoice_payment_list(ctx: Ctx) -> Obj:
    p = ctx.params({"invoice": "str", "payment": {"!type": ("payment_intent",), "payment_intent": "str"}}, listing=True)
    items = ctx.store.find("invoice_payment", ctx.owner, **({"invoice": p["invoice"]} if p.get("invoice") else {}))
    if p.get("payment", {}).get("payment_intent"):
        items = [i for i in items if i["payment"]["payment_intent"] == p["payment"]["payment_intent"]]
    return ctx.store.page(items, p, "/v1/invoice_payments")


def invoice_payment_retrieve(ctx: Ctx, inpay_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(inpay_id, "invoice_payment", ctx.owner, label="invoice_payment")


# -- billing portal ------------------------------------------------------------------------------------------------
def _default_configuration(core: Core, owner: str) -> str:
    found = core.store.find("billing_portal.configuration", owner)
    if found:
        return str(found[0]["id"])
    now = core.store.now()
    config = {
        "id": new_id("bpc_"),
        "object": "billing_portal.configuration",
        "active": True,
        "application": None,
        "business_profile": {"headline": None, "privacy_policy_url": None, "terms_of_service_url": None},
        "created": now,
        "default_return_url": None,
        # What the sandbox's portal page does (hosted_billing.py), in Stripe's terms: cancel at the
        # period's end (Stripe's default mode), change the card, list invoices; no plan change and no
        # customer details, which a configuration must enable with its products.
        "features": {
            "customer_update": {"allowed_updates": [], "enabled": False},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": True},
            "subscription_cancel": {
                "cancellation_reason": {"enabled": False, "options": []},
                "enabled": True,
                "mode": "at_period_end",
                "proration_behavior": "none",
            },
            "subscription_update": {
                "default_allowed_updates": [],
                "enabled": False,
                "proration_behavior": "none",
            },
        },
        "is_default": True,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "name": None,
        "updated": now,
    }
    core.store.add(config, owner)
    return str(config["id"])


def portal_session_create(ctx: Ctx) -> Obj:
    p = ctx.params(
        {
            "!customer": "str",
            "return_url": "str",
            "configuration": "str",
            "locale": "str",
            "on_behalf_of": "str",
            "flow_data": "any",
        }
    )
    ctx.store.get(p["customer"], "customer", ctx.owner)
    if p.get("configuration"):
        ctx.store.get(p["configuration"], "billing_portal.configuration", ctx.owner, label="configuration")
    now = ctx.store.now()
    bps_id = new_id("bps_")
    session = {
        "id": bps_id,
        "object": "billing_portal.session",
        "configuration": p.get("configuration") or _default_configuration(ctx.core, ctx.owner),
        "created": now,
        "customer": p["customer"],
        "flow": None,
        "livemode": False,
        "locale": p.get("locale"),
        "on_behalf_of": p.get("on_behalf_of"),
        "return_url": p.get("return_url"),
        "url": f"{ctx.core.base_url}/hosted/billing_portal/{bps_id}",
        "_expires_at": now + 300,  # the URL is short-lived; reopening it needs a new session
    }
    ctx.store.add(session, ctx.owner)
    ctx.core.emit("billing_portal.session.created", session, account=ctx.owner)
    return session


def portal_configuration_retrieve(ctx: Ctx, bpc_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(bpc_id, "billing_portal.configuration", ctx.owner, label="configuration")


ROUTES: list[Route] = [
    ("GET", r"/v1/subscriptions", sub_list),
    ("GET", r"/v1/subscriptions/([^/]+)", sub_retrieve),
    ("POST", r"/v1/subscriptions/([^/]+)", sub_update),
    ("DELETE", r"/v1/subscriptions/([^/]+)", sub_cancel),
    ("GET", r"/v1/invoices", invoice_list),
    ("GET", r"/v1/invoices/([^/]+)", invoice_retrieve),
    ("GET", r"/v1/invoices/([^/]+)/lines", invoice_lines),
    ("POST", r"/v1/invoices/([^/]+)/void", invoice_void),
    ("GET", r"/v1/invoice_payments", invoice_payment_list),
    ("GET", r"/v1/invoice_payments/([^/]+)", invoice_payment_retrieve),
    ("POST", r"/v1/billing_portal/sessions", portal_session_create),
    ("GET", r"/v1/billing_portal/configurations/([^/]+)", portal_configuration_retrieve),
]
