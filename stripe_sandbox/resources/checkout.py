"""Checkout Sessions (``mode=payment``) and paying them, shared by the hosted page and the control API."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from ..core import Core, Ctx, Route
from ..errors import StripeError, invalid
from ..store import Obj, list_envelope, new_id, template
from . import billing, catalog, methods, payments

LINE_ITEM: dict[str, Any] = {
    "price": "str",
    "quantity": "int",
    "price_data": {
        "!currency": "str",
        "unit_amount": "int",
        "product": "str",
        "product_data": {"!name": "str", "description": "str", "images": ["str"], "metadata": "meta"},
        "tax_behavior": ("exclusive", "inclusive", "unspecified"),
        "recurring": {"!interval": ("day", "week", "month", "year"), "interval_count": "int"},
    },
}
SESSION_SCHEMA: dict[str, Any] = {
    "!mode": ("payment", "setup", "subscription"),
    "line_items": [LINE_ITEM],
    "payment_intent_data": {
        "application_fee_amount": "int",
        "transfer_data": {"!destination": "str", "amount": "int"},
        "on_behalf_of": "str",
        "transfer_group": "str",
        "metadata": "meta",
        "description": "str",
        "capture_method": ("automatic", "automatic_async", "manual"),
        "receipt_email": "str",
        "statement_descriptor": "str",
        "statement_descriptor_suffix": "str",
    },
    "customer": "str",
    "customer_email": "str",
    "client_reference_id": "str",
    "metadata": "meta",
    "expires_at": "int",
    "success_url": "str",
    "cancel_url": "str",
    "setup_intent_data": {"description": "str", "metadata": "meta", "on_behalf_of": "str"},
    "subscription_data": {
        "application_fee_percent": "str",
        "transfer_data": {"!destination": "str", "amount_percent": "str"},
        "description": "str",
        "metadata": "meta",
        "on_behalf_of": "str",
    },
    "locale": "str",
    "currency": "str",
    "submit_type": ("auto", "book", "donate", "pay"),
    "billing_address_collection": ("auto", "required"),
    "customer_creation": ("always", "if_required"),
    "allow_promotion_codes": "bool",
    "phone_number_collection": {"enabled": "bool"},
}


def _line_item(ctx: Ctx, i: int, item: dict[str, Any]) -> Obj:
    prefix = f"line_items[{i}]"
    qty = item.get("quantity")
    if qty is None:
        raise StripeError(
            400, f"Missing required param: {prefix}[quantity].", code="parameter_missing", param=f"{prefix}[quantity]"
        )
    if item.get("price"):
        price = ctx.store.get(item["price"], "price", ctx.owner)
    elif item.get("price_data"):
        pd = item["price_data"]
        if pd.get("unit_amount") is None:
            raise StripeError(
                400,
                f"Missing required param: {prefix}[price_data][unit_amount].",
                code="parameter_missing",
                param=f"{prefix}[price_data][unit_amount]",
            )
        if not pd.get("product") and not pd.get("product_data"):
            raise StripeError(
                400,
                f"Missing required param: {prefix}[price_data][product_data].",
                code="parameter_missing",
                param=f"{prefix}[price_data][product_data]",
            )
        now = ctx.store.now()
        product_id = pd.get("product")
        if not product_id:
            prod = template(
                "product",
                id=new_id("prod_", 14),
                created=now,
                updated=now,
                active=False,
                name=pd["product_data"]["name"],
                description=pd["product_data"].get("description"),
                images=pd["product_data"].get("images") or [],
                metadata=pd["product_data"].get("metadata") or {},
            )
            product_id = ctx.store.add(prod, ctx.owner)["id"]
        price = template(
            "price",
            id=new_id("price_"),
            created=now,
            currency=pd["currency"].lower(),
            product=product_id,
            unit_amount=pd["unit_amount"],
            unit_amount_decimal=str(pd["unit_amount"]),
            active=False,
        )
        rec = catalog.recurring(pd.get("recurring"), f"{prefix}[price_data][recurring]")
        if rec:
            price.update(recurring=rec, type="recurring")
        ctx.store.add(price, ctx.owner)
    else:
        raise invalid(f"You must specify either `price` or `price_data` in {prefix}.", param=prefix)
    if qty < 1:
        raise invalid("Quantity must be at least 1.", param=f"{prefix}[quantity]")
    total = price["unit_amount"] * qty
    product = ctx.store.objects.get(price["product"]) or {}
    item_obj = template(
        "item",
        id=new_id("li_"),
        amount_discount=0,
        amount_subtotal=total,
        amount_tax=0,
        amount_total=total,
        currency=price["currency"],
        description=product.get("name"),
        price=copy.deepcopy(price),
        quantity=qty,
        metadata={},
    )
    return item_obj


def session_create(ctx: Ctx) -> Obj:
    p = ctx.params(SESSION_SCHEMA)
    if p["mode"] == "setup":
        return _setup_session_create(ctx, p)
    if p.get("setup_intent_data"):
        raise invalid("You can only pass `setup_intent_data` in `setup` mode.", param="setup_intent_data")
    if p["mode"] == "subscription":
        if p.get("payment_intent_data"):
            raise invalid("You can not pass `payment_intent_data` in `subscription` mode.", param="payment_intent_data")
    elif p.get("subscription_data"):
        raise invalid("You can only pass `subscription_data` in `subscription` mode.", param="subscription_data")
    items = p.get("line_items") or []
    if not items:
        raise StripeError(400, "Missing required param: line_items.", code="parameter_missing", param="line_items")
    line_items = [_line_item(ctx, i, item) for i, item in enumerate(items)]
    currencies = {li["currency"] for li in line_items}
    if len(currencies) > 1:
        raise invalid("All line items must have the same currency.", param="line_items")
    currency = currencies.pop()
    total = sum(li["amount_total"] for li in line_items)
    recurring = [bool(li["price"]["recurring"]) for li in line_items]
    if p["mode"] == "subscription":
        return _subscription_session_create(ctx, p, line_items, currency, total, recurring)
    if any(recurring):
        raise invalid(
            "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use "
            "only one-time prices.",
            param="line_items",
        )
    pid = p.get("payment_intent_data") or {}
    td = pid.get("transfer_data")
    if td:
        payments.check_destination(ctx.core, td["destination"], "payment_intent_data[transfer_data][destination]")
    payments.check_amounts(
        total, pid.get("application_fee_amount"), (td or {}).get("amount"), "payment_intent_data[", currency=currency
    )
    _check_customer(ctx, p)
    expires_at = _expires_at(ctx, p)
    session = _new_session(
        ctx,
        p,
        expires_at,
        amount_subtotal=total,
        amount_total=total,
        currency=currency,
        mode="payment",
        payment_status="unpaid",
        submit_type=p.get("submit_type"),
        _line_items=line_items,
        _pi_data=pid,
    )
    session["invoice_creation"]["enabled"] = False
    return ctx.store.add(session, ctx.owner)


def _subscription_session_create(
    ctx: Ctx, p: dict[str, Any], line_items: list[Obj], currency: str, total: int, recurring: list[bool]
) -> Obj:
    """``mode=subscription``: recurring prices, ``subscription_data`` with the platform's fee percent and the
    destination of each invoice's funds. The subscription is made when the buyer pays."""
    if not any(recurring):
        raise invalid(
            "You must provide at least one recurring price in `subscription` mode when using prices.",
            param="line_items",
        )
    intervals = {
        (li["price"]["recurring"]["interval"], li["price"]["recurring"]["interval_count"])
        for li in line_items
        if li["price"]["recurring"]
    }
    if len(intervals) > 1:
        raise invalid(
            "All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.",
            param="line_items",
        )
    sd = dict(p.get("subscription_data") or {})
    if sd.get("application_fee_percent") is not None:
        # Checked now, kept as its text: the session is saved in the state file (JSON), which has no Decimal.
        sd["application_fee_percent"] = str(
            billing.parse_percent(sd["application_fee_percent"], "subscription_data[application_fee_percent]")
        )
    td = sd.get("transfer_data")
    if td:
        payments.check_destination(ctx.core, td["destination"], "subscription_data[transfer_data][destination]")
        if td.get("amount_percent") is not None:
            raise invalid(
                "The sandbox transfers the whole invoice total (no `amount_percent`).",
                param="subscription_data[transfer_data][amount_percent]",
            )
    payments.check_amounts(total, None, None, currency=currency)
    _check_customer(ctx, p)
    expires_at = _expires_at(ctx, p)
    session = _new_session(
        ctx,
        p,
        expires_at,
        amount_subtotal=total,
        amount_total=total,
        currency=currency,
        mode="subscription",
        payment_intent=None,
        payment_status="unpaid",
        _line_items=line_items,
        _pi_data={},
        _sub_data=sd,
    )
    session["invoice_creation"] = None
    return ctx.store.add(session, ctx.owner)


def _setup_session_create(ctx: Ctx, p: dict[str, Any]) -> Obj:
    """``mode=setup``: a page that saves a card for later. Stripe makes its SetupIntent with the session.

    ``currency`` is "Required in `setup` mode when `payment_method_types` is not set" (the API
    reference), and this API version refuses ``payment_method_types``: so it is always required."""
    for key in ("line_items", "payment_intent_data", "submit_type"):
        if p.get(key):
            raise invalid(f"You can not pass `{key}` in `setup` mode.", param=key)
    if not p.get("currency"):
        raise StripeError(400, "Missing required param: currency.", code="parameter_missing", param="currency")
    _check_customer(ctx, p)
    expires_at = _expires_at(ctx, p)
    sid = p.get("setup_intent_data") or {}
    seti = methods.new_setup_intent(
        ctx.core,
        ctx.owner,
        {
            "customer": p.get("customer"),
            "usage": "off_session",
            "metadata": sid.get("metadata") or {},
            "description": sid.get("description"),
            "on_behalf_of": sid.get("on_behalf_of"),
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        },
    )
    session = _new_session(
        ctx,
        p,
        expires_at,
        amount_subtotal=None,
        amount_total=None,
        currency=(p.get("currency") or "").lower() or None,
        mode="setup",
        payment_intent=None,
        payment_status="no_payment_required",
        setup_intent=seti["id"],
        _line_items=[],
        _pi_data={},
    )
    session["invoice_creation"] = None
    return ctx.store.add(session, ctx.owner)


def _new_session(ctx: Ctx, p: dict[str, Any], expires_at: int, **fields: Any) -> Obj:
    """A Checkout Session of any mode: what every mode takes from the request the same way, and `fields`."""
    cs_id = "cs_test_" + new_id("", 58)
    return template(
        "checkout.session",
        id=cs_id,
        cancel_url=p.get("cancel_url"),
        client_reference_id=p.get("client_reference_id"),
        created=ctx.store.now(),
        customer=p.get("customer"),
        customer_email=p.get("customer_email"),
        expires_at=expires_at,
        locale=p.get("locale"),
        metadata=p.get("metadata") or {},
        payment_method_types=["card"],
        status="open",
        success_url=p.get("success_url"),
        url=f"{ctx.core.base_url}/hosted/checkout/{cs_id}",
        **fields,
    )


def _check_customer(ctx: Ctx, p: dict[str, Any]) -> None:
    if p.get("customer"):
        ctx.store.get(p["customer"], "customer", ctx.owner)
        if p.get("customer_email"):
            raise invalid(
                "You may only specify one of these parameters: customer, customer_email.", param="customer_email"
            )


def _expires_at(ctx: Ctx, p: dict[str, Any]) -> int:
    now = ctx.store.now()
    expires_at: int = p.get("expires_at") or now + 86400
    offset = ctx.store.clock_offset
    if offset and not now + 1800 <= expires_at <= now + 86400 and now + 1800 <= expires_at + offset <= now + 86400:
        # The app computed it from its wall clock while the sandbox clock was advanced: same duration, our time.
        expires_at += offset
    if not now + 1800 <= expires_at <= now + 86400:
        raise invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation and at least "
            "30 minutes from now.",
            param="expires_at",
        )
    return expires_at


def session_retrieve(ctx: Ctx, cs_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(cs_id, "checkout.session", ctx.owner, label="checkout.session")


def session_list(ctx: Ctx) -> Obj:
    p = ctx.params(
        {
            "payment_intent": "str",
            "customer": "str",
            "status": ("open", "complete", "expired"),
            "payment_link": "str",
            "client_reference_id": "str",
        },
        listing=True,
    )
    match = {k: p[k] for k in ("payment_intent", "customer", "status") if p.get(k)}
    items = ctx.store.find("checkout.session", ctx.owner, **match)
    if p.get("client_reference_id"):
        items = [s for s in items if s["client_reference_id"] == p["client_reference_id"]]
    return ctx.store.page(items, p, "/v1/checkout/sessions")


def session_line_items(ctx: Ctx, cs_id: str) -> Obj:
    session = ctx.store.get(cs_id, "checkout.session", ctx.owner, label="checkout.session")
    p = ctx.params({}, listing=True)
    items = session["_line_items"]
    limit = p.get("limit") or 10
    data = items
    if p.get("starting_after"):
        ids = [i["id"] for i in items]
        data = items[ids.index(p["starting_after"]) + 1 :] if p["starting_after"] in ids else []
    return list_envelope(data[:limit], f"/v1/checkout/sessions/{cs_id}/line_items", len(data) > limit)


def session_expire(ctx: Ctx, cs_id: str) -> Obj:
    session = ctx.store.get(cs_id, "checkout.session", ctx.owner, label="checkout.session")
    ctx.params({})
    if session["status"] != "open":
        raise invalid(
            f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status '
            f'of "{session["status"]}".',
        )
    return expire_session(ctx.core, session)


def expire_session(core: Core, session: Obj) -> Obj:
    session["status"] = "expired"
    session["url"] = None
    core.emit("checkout.session.expired", session, account=core.store.owner[session["id"]])
    return session


def pay(core: Core, session: Obj, card_number: str, email: str | None = None) -> dict[str, Any]:
    """Submit the hosted payment form: returns ``status`` (succeeded|declined|requires_action), a redirect and PI.

    A declined card leaves the session open (the buyer may try another card), as Stripe's Checkout does.
    """
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is no longer active (status {session['status']}).")
    number = card_number.replace(" ", "")
    pm = payments.PM_BY_NUMBER.get(number)
    if pm is None:
        return {
            "status": "declined",
            "error": "Your card number is invalid.",
            "code": "invalid_number",
            "redirect_url": None,
            "payment_intent": session["payment_intent"],
        }
    owner = core.store.owner[session["id"]]
    if session["mode"] == "setup":
        seti = core.store.get(session["setup_intent"], "setup_intent", owner)
        seti["payment_method"] = methods.new_payment_method(core, owner, payments.CARDS[pm])["id"]
        seti = methods.confirm_setup(core, seti, return_url=None, raise_on_decline=False)
        return _after_setup(core, session, seti, email)
    if session["mode"] == "subscription":
        return _pay_subscription(core, session, pm, owner, email)
    pi = core.store.objects.get(session["payment_intent"] or "")
    if pi is None:
        pid = session["_pi_data"]
        pi = payments.new_payment_intent(
            core,
            owner,
            {
                "amount": session["amount_total"],
                "currency": session["currency"],
                "application_fee_amount": pid.get("application_fee_amount"),
                "transfer_data": pid.get("transfer_data"),
                "on_behalf_of": pid.get("on_behalf_of"),
                "transfer_group": pid.get("transfer_group"),
                "metadata": pid.get("metadata") or {},
                "description": pid.get("description"),
                "capture_method": pid.get("capture_method"),
                "customer": session["customer"],
                "receipt_email": pid.get("receipt_email") or session["customer_email"] or email,
            },
        )
        session["payment_intent"] = pi["id"]
    pi["payment_method"] = pm
    return _after_confirm(core, session, payments.confirm(core, pi, raise_on_decline=False), email)


def _pay_subscription(core: Core, session: Obj, pm_name: str, owner: str, email: str | None) -> dict[str, Any]:
    """The first invoice of a new subscription, paid with the buyer present. A declined card leaves the session
    open; the next card is tried on the same (still incomplete) subscription and invoice, or, once that one expired
    (``incomplete_expired`` after 23 hours, its invoice voided), on a new subscription. The card is saved on the
    customer only once it paid (`_after_confirm`): Stripe attaches a `setup_future_usage` card "after the
    PaymentIntent is confirmed and any required actions from the user are complete", so a declined card, or one
    whose 3-D Secure failed, is not among the buyer's cards."""
    customer = session["customer"]
    if not customer:
        now = core.store.now()
        cus = template(
            "customer",
            id=new_id("cus_", 14),
            created=now,
            email=session["customer_email"] or email,
            invoice_prefix=new_id("", 8).upper(),
            preferred_locales=[],
        )
        customer = core.store.add(cus, owner)["id"]
        session["customer"] = customer
    pm = methods.new_payment_method(core, owner, payments.CARDS[pm_name])
    sub = core.store.objects.get(session.get("_subscription") or "")
    if sub is None or sub["status"] != "incomplete":
        sd = session["_sub_data"]
        sub = billing.create_subscription(
            core,
            owner,
            customer=customer,
            items=[(li["price"], li["quantity"]) for li in session["_line_items"]],
            default_payment_method=pm["id"],
            application_fee_percent=(
                Decimal(sd["application_fee_percent"]) if sd.get("application_fee_percent") is not None else None
            ),
            transfer_data=sd.get("transfer_data"),
            metadata=sd.get("metadata") or {},
            description=sd.get("description"),
        )
        session["_subscription"] = sub["id"]
    else:
        sub["default_payment_method"] = pm["id"]
    invoice = core.store.objects[sub["latest_invoice"]]
    pi = billing.attempt(core, invoice, pm["id"], customer_present=True)
    session["_pi"] = pi["id"]
    return _after_confirm(core, session, pi, email)


def authenticate(core: Core, session: Obj, success: bool) -> dict[str, Any]:
    """The 3-D Secure page's Complete / Fail buttons. A failure leaves the session open: the buyer may pay again
    with any card, as on Stripe's page."""
    if session["mode"] == "setup":
        seti = core.store.get(session["setup_intent"], "setup_intent", None)
        if seti["status"] != "requires_action":
            raise invalid("This card does not require authentication.")
        if success:
            seti = methods.confirm_setup(core, seti, return_url=None, raise_on_decline=False, authenticated=True)
        else:
            seti = methods.fail_setup_authentication(core, seti)
        return _after_setup(core, session, seti)
    pi = core.store.get(session["payment_intent"] or session.get("_pi") or "", "payment_intent", None)
    if pi["status"] != "requires_action":
        raise invalid("This payment does not require authentication.")
    if success:
        return _after_confirm(core, session, payments.confirm(core, pi, raise_on_decline=False, authenticated=True))
    return _after_confirm(core, session, payments.fail_authentication(core, pi))


def success_url(session: Obj) -> str | None:
    """Where Stripe sends the buyer after paying: ``success_url`` with ``{CHECKOUT_SESSION_ID}`` filled in."""
    url = (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session["id"])
    return url or None


def _customer_details(session: Obj, email: str | None) -> Obj:
    return {
        "address": {"city": None, "country": "US", "line1": None, "line2": None, "postal_code": "94103", "state": None},
        "email": session["customer_email"] or email or "buyer@example.com",
        "name": "Sandbox Buyer",
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def _after_setup(core: Core, session: Obj, seti: Obj, email: str | None = None) -> dict[str, Any]:
    if seti["status"] == "requires_action":
        return {
            "status": "requires_action",
            "redirect_url": f"{core.base_url}/hosted/checkout/{session['id']}/authenticate",
            "payment_intent": None,
            "error": None,
        }
    if seti["status"] == "succeeded":
        session.update(status="complete", url=None, customer_details=_customer_details(session, email))
        core.emit("checkout.session.completed", session, account=core.store.owner[session["id"]])
        return {"status": "succeeded", "redirect_url": success_url(session), "payment_intent": None, "error": None}
    err = seti.get("last_setup_error") or {}
    return {
        "status": "declined",
        "redirect_url": None,
        "payment_intent": None,
        "error": err.get("message"),
        "code": err.get("decline_code") or err.get("code"),
    }


def _after_confirm(core: Core, session: Obj, pi: Obj, email: str | None = None) -> dict[str, Any]:
    if pi["status"] == "requires_action":
        return {
            "status": "requires_action",
            "redirect_url": f"{core.base_url}/hosted/checkout/{session['id']}/authenticate",
            "payment_intent": pi["id"],
            "error": None,
        }
    if pi["status"] in ("succeeded", "requires_capture"):
        owner = core.store.owner[session["id"]]
        session.update(status="complete", payment_status="paid", url=None)
        if session["mode"] == "subscription":
            sub = core.store.objects[session["_subscription"]]
            methods.attach(core, core.store.objects[sub["default_payment_method"]], session["customer"])
            session.update(subscription=sub["id"], invoice=sub["latest_invoice"])
        session["customer_details"] = _customer_details(session, email)
        core.emit("checkout.session.completed", session, account=owner)
        paid_pi = session["payment_intent"]
        return {"status": "succeeded", "redirect_url": success_url(session), "payment_intent": paid_pi, "error": None}
    err = pi.get("last_payment_error") or {}
    return {
        "status": "declined",
        "redirect_url": None,
        "payment_intent": pi["id"],
        "error": payments.buyer_message(pi),
        "code": err.get("decline_code") or err.get("code"),
    }


ROUTES: list[Route] = [
    ("POST", r"/v1/checkout/sessions", session_create),
    ("GET", r"/v1/checkout/sessions", session_list),
    ("GET", r"/v1/checkout/sessions/([^/]+)", session_retrieve),
    ("GET", r"/v1/checkout/sessions/([^/]+)/line_items", session_line_items),
    ("POST", r"/v1/checkout/sessions/([^/]+)/expire", session_expire),
]
