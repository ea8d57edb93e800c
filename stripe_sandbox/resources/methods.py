"""PaymentMethods saved on Customers and the SetupIntents that save them (connect-behaviour.md section g).

A saved card is a ``pm_`` object carrying its test card number privately (``_card``), so a later payment with it
behaves like that test card. Attaching one of Stripe's magic ids (``pm_card_visa``) makes a new ``pm_`` object, as
Stripe does. A card saved by a succeeded SetupIntent with ``usage=off_session`` counts as set up: the "authenticate
unless set up" card (4000002500003155) then pays off-session without the buyer.
"""

from __future__ import annotations

import copy
from typing import Any

from ..core import Core, Ctx, Route, diff
from ..errors import StripeError, invalid
from ..store import Obj, empty_billing_details, new_id
from . import payments

AUTH_FAILED_SETUP = (
    "The latest attempt to set up the payment method has failed because authentication failed. "
    "Try again with a different payment method."
)


def new_payment_method(core: Core, owner: str, card: payments.TestCard) -> Obj:
    now = core.store.now()
    pm = {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": empty_billing_details(),
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
            "country": "US",
            "display_brand": card.brand,
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": f"fp{card.number[-8:]}",
            "funding": card.funding,
            "generated_from": None,
            "last4": card.number[-4:],
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
        "_card": card.number,
        "_set_up": False,
    }
    return core.store.add(pm, owner)


def concrete(core: Core, owner: str, pm_ref: str, param: str = "payment_method") -> Obj:
    """The ``pm_`` object for ``pm_ref``: a stored one, or a new one made from a magic test id."""
    if pm_ref in payments.CARDS:
        return new_payment_method(core, owner, payments.CARDS[pm_ref])
    obj = core.store.objects.get(pm_ref)
    if obj is None or obj.get("object") != "payment_method" or core.store.owner.get(pm_ref) != owner:
        raise StripeError(404, f"No such PaymentMethod: '{pm_ref}'", code="resource_missing", param=param)
    return obj


def attach(core: Core, pm: Obj, customer: str) -> Obj:
    owner = core.store.owner[pm["id"]]
    if pm["customer"] == customer:
        return pm
    if pm["customer"]:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    core.store.get(customer, "customer", owner)
    pm["customer"] = customer
    core.emit("payment_method.attached", pm, account=owner)
    return pm


def detach(core: Core, pm: Obj) -> Obj:
    """Detach from its customer; a customer whose default it was has no default any more (``customer.updated``)."""
    owner = core.store.owner[pm["id"]]
    if not pm["customer"]:
        raise invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    cus = core.store.objects.get(pm["customer"])
    pm["customer"] = None
    pm["_set_up"] = False
    core.emit("payment_method.detached", pm, account=owner, previous={"customer": cus["id"] if cus else None})
    if cus and cus["invoice_settings"].get("default_payment_method") == pm["id"]:
        before = copy.deepcopy(cus)
        cus["invoice_settings"]["default_payment_method"] = None
        core.emit("customer.updated", cus, account=owner, previous=diff(before, cus))
    return pm


def pm_retrieve(ctx: Ctx, pm_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(pm_id, "payment_method", ctx.owner, label="PaymentMethod")


def pm_update(ctx: Ctx, pm_id: str) -> Obj:
    pm = ctx.store.get(pm_id, "payment_method", ctx.owner, label="PaymentMethod")
    p = ctx.params({"metadata": "meta", "allow_redisplay": ("always", "limited", "unspecified")})
    before = copy.deepcopy(pm)
    if "metadata" in p:
        pm["metadata"] = {k: v for k, v in {**pm["metadata"], **p["metadata"]}.items() if v}
    if "allow_redisplay" in p:
        pm["allow_redisplay"] = p["allow_redisplay"]
    changed = diff(before, pm)
    if changed:
        ctx.core.emit("payment_method.updated", pm, account=ctx.owner, previous=changed)
    return pm


def pm_attach(ctx: Ctx, pm_id: str) -> Obj:
    p = ctx.params({"!customer": "str"})
    return attach(ctx.core, concrete(ctx.core, ctx.owner, pm_id, param="id"), p["customer"])


def pm_detach(ctx: Ctx, pm_id: str) -> Obj:
    ctx.params({})
    return detach(ctx.core, ctx.store.get(pm_id, "payment_method", ctx.owner, label="PaymentMethod"))


def pm_list(ctx: Ctx) -> Obj:
    p = ctx.params({"customer": "str", "type": "str"}, listing=True)
    match = {k: p[k] for k in ("customer", "type") if p.get(k)}
    return ctx.store.list_page("payment_method", ctx.owner, p, "/v1/payment_methods", **match)


def customer_pm_list(ctx: Ctx, cus_id: str) -> Obj:
    ctx.store.get(cus_id, "customer", ctx.owner)
    p = ctx.params({"type": "str", "allow_redisplay": ("always", "limited", "unspecified")}, listing=True)
    match: dict[str, Any] = {"customer": cus_id, **({"type": p["type"]} if p.get("type") else {})}
    found = ctx.store.find("payment_method", ctx.owner, **match)
    return ctx.store.page(found, p, f"/v1/customers/{cus_id}/payment_methods")


def customer_pm_retrieve(ctx: Ctx, cus_id: str, pm_id: str) -> Obj:
    ctx.params({})
    pm = ctx.store.get(pm_id, "payment_method", ctx.owner, label="PaymentMethod")
    if pm["customer"] != cus_id:
        raise StripeError(404, f"No such PaymentMethod: '{pm_id}'", code="resource_missing", param="payment_method")
    return pm


# -- SetupIntents --------------------------------------------------------------------------------------------------
SETI_SCHEMA: dict[str, Any] = {
    "customer": "str",
    "payment_method": "str",
    "confirm": "bool",
    "usage": ("off_session", "on_session"),
    "return_url": "str",
    "automatic_payment_methods": {"!enabled": "bool", "allow_redirects": ("always", "never")},
    "allowed_payment_method_types": ["str"],
    "excluded_payment_method_types": ["str"],
    "payment_method_options": "any",
    "payment_method_types": "any",
    "description": "str",
    "metadata": "meta",
    "on_behalf_of": "str",
}


def new_setup_intent(core: Core, owner: str, p: dict[str, Any]) -> Obj:
    payments.refuse_payment_method_types(p)
    if p.get("customer"):
        core.store.get(p["customer"], "customer", owner)
    seti_id = new_id("seti_")
    apm = p.get("automatic_payment_methods") or {"enabled": True}
    seti = {
        "id": seti_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": {"allow_redirects": apm.get("allow_redirects") or "always", "enabled": True},
        "cancellation_reason": None,
        "client_secret": f"{seti_id}_secret_{new_id('', 24)}",
        "created": core.store.now(),
        "customer": p.get("customer"),
        "description": p.get("description"),
        "excluded_payment_method_types": p.get("excluded_payment_method_types"),
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": p.get("metadata") or {},
        "next_action": None,
        "on_behalf_of": p.get("on_behalf_of"),
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": p.get("usage") or "off_session",
    }
    if p.get("payment_method"):
        seti["payment_method"] = concrete(core, owner, p["payment_method"])["id"]
        seti["status"] = "requires_confirmation"
    core.store.add(seti, owner)
    core.emit("setup_intent.created", seti, account=owner)
    return seti


def seti_create(ctx: Ctx) -> Obj:
    p = ctx.params(SETI_SCHEMA)
    seti = new_setup_intent(ctx.core, ctx.owner, p)
    if p.get("confirm"):
        payments.require_return_url(seti, p.get("return_url"), off_session=False)
        return confirm_setup(ctx.core, seti, return_url=p.get("return_url"), raise_on_decline=True)
    return seti


def seti_retrieve(ctx: Ctx, seti_id: str) -> Obj:
    ctx.params({"client_secret": "str"})
    return ctx.store.get(seti_id, "setup_intent", ctx.owner, label="setupintent")


def seti_confirm(ctx: Ctx, seti_id: str) -> Obj:
    seti = ctx.store.get(seti_id, "setup_intent", ctx.owner, label="setupintent")
    p = ctx.params({"payment_method": "str", "return_url": "str"})
    if seti["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise invalid(
            f"You cannot confirm this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    if p.get("payment_method"):
        seti["payment_method"] = concrete(ctx.core, ctx.owner, p["payment_method"])["id"]
    if not seti["payment_method"]:
        raise invalid(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            code="setup_intent_unexpected_state",
        )
    payments.require_return_url(seti, p.get("return_url"), off_session=False)
    return confirm_setup(ctx.core, seti, return_url=p.get("return_url"), raise_on_decline=True)


def seti_cancel(ctx: Ctx, seti_id: str) -> Obj:
    seti = ctx.store.get(seti_id, "setup_intent", ctx.owner, label="setupintent")
    p = ctx.params({"cancellation_reason": ("abandoned", "duplicate", "requested_by_customer")})
    if seti["status"] in ("succeeded", "canceled", "processing"):
        raise invalid(
            f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    seti.update(status="canceled", cancellation_reason=p.get("cancellation_reason"), next_action=None)
    ctx.core.emit("setup_intent.canceled", seti, account=ctx.owner)
    return seti


def seti_list(ctx: Ctx) -> Obj:
    p = ctx.params({"customer": "str", "payment_method": "str"}, listing=True)
    match = {k: p[k] for k in ("customer", "payment_method") if p.get(k)}
    return ctx.store.list_page("setup_intent", ctx.owner, p, "/v1/setup_intents", **match)


def confirm_setup(
    core: Core, seti: Obj, *, return_url: str | None, raise_on_decline: bool, authenticated: bool = False
) -> Obj:
    """Save the card: a 3-D Secure step for the cards that ask for one on setup, a decline for the cards the bank
    refuses, else the card is attached to the customer (``payment_method.attached``) and the intent succeeds."""
    owner = core.store.owner[seti["id"]]
    pm = core.store.get(seti["payment_method"], "payment_method", owner, label="PaymentMethod")
    card = payments.CARDS[payments.PM_BY_NUMBER[pm["_card"]]]
    if return_url:
        seti["_return_url"] = return_url
    if card.auth_on_setup and not authenticated:
        seti["status"] = "requires_action"
        seti["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": seti.get("_return_url"),
                "url": f"{core.base_url}/hosted/setup_authenticate/{seti['id']}",
            },
        }
        core.emit("setup_intent.requires_action", seti, account=owner)
        return seti
    seti["next_action"] = None
    if card.decline_code:
        message = payments.DECLINE_MESSAGES[card.decline_code]
        seti.update(
            status="requires_payment_method",
            last_setup_error={
                "code": "card_declined",
                "decline_code": card.decline_code,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": message,
                "payment_method": copy.deepcopy(pm),
                "type": "card_error",
            },
        )
        core.emit("setup_intent.setup_failed", seti, account=owner)
        if raise_on_decline:
            raise StripeError(
                402,
                message,
                type="card_error",
                code="card_declined",
                decline_code=card.decline_code,
                extra={"setup_intent": copy.deepcopy(seti)},
            )
        return seti
    if seti["customer"]:
        attach(core, pm, seti["customer"])
    pm["_set_up"] = seti["usage"] == "off_session"
    seti.update(status="succeeded", last_setup_error=None)
    core.emit("setup_intent.succeeded", seti, account=owner)
    return seti


def fail_setup_authentication(core: Core, seti: Obj) -> Obj:
    seti.update(
        status="requires_payment_method",
        next_action=None,
        last_setup_error={
            "code": "setup_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/setup-intent-authentication-failure",
            "message": AUTH_FAILED_SETUP,
            "type": "invalid_request_error",
        },
    )
    core.emit("setup_intent.setup_failed", seti, account=core.store.owner[seti["id"]])
    return seti


ROUTES: list[Route] = [
    ("GET", r"/v1/payment_methods", pm_list),
    ("GET", r"/v1/payment_methods/([^/]+)", pm_retrieve),
    ("POST", r"/v1/payment_methods/([^/]+)", pm_update),
    ("POST", r"/v1/payment_methods/([^/]+)/attach", pm_attach),
    ("POST", r"/v1/payment_methods/([^/]+)/detach", pm_detach),
    ("GET", r"/v1/customers/([^/]+)/payment_methods", customer_pm_list),
    ("GET", r"/v1/customers/([^/]+)/payment_methods/([^/]+)", customer_pm_retrieve),
    ("POST", r"/v1/setup_intents", seti_create),
    ("GET", r"/v1/setup_intents", seti_list),
    ("GET", r"/v1/setup_intents/([^/]+)", seti_retrieve),
    ("POST", r"/v1/setup_intents/([^/]+)/confirm", seti_confirm),
    ("POST", r"/v1/setup_intents/([^/]+)/cancel", seti_cancel),
]
