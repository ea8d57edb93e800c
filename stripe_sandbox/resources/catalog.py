"""Customers, Products and Prices: plain CRUD, enough for Checkout line items and buyer records."""

from __future__ import annotations

import copy
from typing import Any

from ..core import Ctx, Route, diff
from ..errors import StripeError, invalid
from ..store import Obj, new_id, template

_ADDRESS = {"city": "str", "country": "str", "line1": "str", "line2": "str", "postal_code": "str", "state": "str"}
CUSTOMER_SCHEMA: dict[str, Any] = {
    "email": "str",
    "name": "str",
    "description": "str",
    "phone": "str",
    "metadata": "meta",
    "address": _ADDRESS,
    "preferred_locales": ["str"],
    "invoice_settings": {"default_payment_method": "str", "footer": "str"},
}
PRODUCT_SCHEMA: dict[str, Any] = {
    "name": "str",
    "description": "str",
    "active": "bool",
    "metadata": "meta",
    "images": ["str"],
    "url": "str",
    "shippable": "bool",
    "statement_descriptor": "str",
    "unit_label": "str",
    "tax_code": "str",
    "id": "str",
}
PRICE_SCHEMA: dict[str, Any] = {
    "!currency": "str",
    "unit_amount": "int",
    "product": "str",
    "product_data": {"!name": "str", "metadata": "meta"},
    "metadata": "meta",
    "nickname": "str",
    "active": "bool",
    "lookup_key": "str",
    "tax_behavior": ("exclusive", "inclusive", "unspecified"),
    "recurring": {"!interval": ("day", "week", "month", "year"), "interval_count": "int"},
}


def recurring(spec: dict[str, Any] | None, param: str) -> Obj | None:
    """A price's ``recurring`` hash; Stripe allows at most one year between billings."""
    if not spec:
        return None
    count = spec.get("interval_count") or 1
    most = {"day": 365, "week": 52, "month": 12, "year": 1}[spec["interval"]]
    if not 1 <= count <= most:
        raise invalid(
            "The maximum billing interval is one year (1 year, 12 months, 52 weeks or 365 days).",
            param=f"{param}[interval_count]",
        )
    return {
        "interval": spec["interval"],
        "interval_count": count,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def _merge_meta(obj: Obj, p: dict[str, Any]) -> None:
    if "metadata" in p:
        obj["metadata"] = {k: v for k, v in {**obj["metadata"], **p.pop("metadata")}.items() if v}
    p.pop("expand", None)
    obj.update(p)


def customer_create(ctx: Ctx) -> Obj:
    p = ctx.params(CUSTOMER_SCHEMA)
    cus = template(
        "customer",
        id=new_id("cus_", 14),
        created=ctx.store.now(),
        invoice_prefix=new_id("", 8).upper(),
        preferred_locales=[],
    )
    _merge_meta(cus, p)
    return ctx.store.add(cus, ctx.owner)


def customer_retrieve(ctx: Ctx, cus_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(cus_id, "customer", ctx.owner)


def customer_update(ctx: Ctx, cus_id: str) -> Obj:
    """Changes send ``customer.updated``; a default payment method must be one attached to this customer."""
    cus = ctx.store.get(cus_id, "customer", ctx.owner)
    p = ctx.params(CUSTOMER_SCHEMA)
    before = copy.deepcopy(cus)
    settings = p.pop("invoice_settings", None)
    if settings is not None:
        pm_id = settings.get("default_payment_method")
        if pm_id:
            pm = ctx.store.objects.get(pm_id)
            if pm is None or pm.get("object") != "payment_method" or pm.get("customer") != cus_id:
                raise invalid(
                    f"The customer does not have a payment method with the ID {pm_id}. The payment method must be "
                    "attached to the customer.",
                    param="invoice_settings[default_payment_method]",
                )
        cus["invoice_settings"] = {**cus["invoice_settings"], **settings}
    _merge_meta(cus, p)
    changed = diff(before, cus)
    if changed:
        ctx.core.emit("customer.updated", cus, account=ctx.owner, previous=changed)
    return cus


def customer_delete(ctx: Ctx, cus_id: str) -> Obj:
    ctx.params({})
    ctx.store.get(cus_id, "customer", ctx.owner)["_deleted"] = True
    return {"id": cus_id, "object": "customer", "deleted": True}


def customer_list(ctx: Ctx) -> Obj:
    p = ctx.params({"email": "str"}, listing=True)
    match = {"email": p["email"]} if p.get("email") else {}
    return ctx.store.list_page("customer", ctx.owner, p, "/v1/customers", **match)


def product_create(ctx: Ctx) -> Obj:
    p = ctx.params({**PRODUCT_SCHEMA, "!name": "str"})
    now = ctx.store.now()
    prod = template("product", id=p.pop("id", None) or new_id("prod_", 14), created=now, updated=now)
    _merge_meta(prod, p)
    return ctx.store.add(prod, ctx.owner)


def product_retrieve(ctx: Ctx, prod_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(prod_id, "product", ctx.owner)


def product_update(ctx: Ctx, prod_id: str) -> Obj:
    prod = ctx.store.get(prod_id, "product", ctx.owner)
    p = ctx.params({k: v for k, v in PRODUCT_SCHEMA.items() if k != "id"})
    _merge_meta(prod, p)
    prod["updated"] = ctx.store.now()
    return prod


def product_list(ctx: Ctx) -> Obj:
    p = ctx.params({"active": "bool"}, listing=True)
    match = {"active": p["active"]} if "active" in p else {}
    return ctx.store.list_page("product", ctx.owner, p, "/v1/products", **match)


def create_price(ctx: Ctx, p: dict[str, Any]) -> Obj:
    product = p.pop("product", None)
    product_data = p.pop("product_data", None)
    if product:
        ctx.store.get(product, "product", ctx.owner)
    elif product_data:
        now = ctx.store.now()
        prod = template(
            "product",
            id=new_id("prod_", 14),
            created=now,
            updated=now,
            name=product_data["name"],
            metadata=product_data.get("metadata") or {},
        )
        product = ctx.store.add(prod, ctx.owner)["id"]
    else:
        raise StripeError(400, "Missing required param: product.", code="parameter_missing", param="product")
    if p.get("unit_amount") is None:
        raise StripeError(400, "Missing required param: unit_amount.", code="parameter_missing", param="unit_amount")
    price = template(
        "price",
        id=new_id("price_"),
        created=ctx.store.now(),
        currency=p.pop("currency").lower(),
        product=product,
        unit_amount=p["unit_amount"],
        unit_amount_decimal=str(p["unit_amount"]),
    )
    rec = recurring(p.pop("recurring", None), "recurring")
    if rec:
        price.update(recurring=rec, type="recurring")
    _merge_meta(price, p)
    return ctx.store.add(price, ctx.owner)


def price_create(ctx: Ctx) -> Obj:
    return create_price(ctx, ctx.params(PRICE_SCHEMA))


def price_retrieve(ctx: Ctx, price_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(price_id, "price", ctx.owner)


def price_update(ctx: Ctx, price_id: str) -> Obj:
    price = ctx.store.get(price_id, "price", ctx.owner)
    _merge_meta(price, ctx.params({"metadata": "meta", "nickname": "str", "active": "bool", "lookup_key": "str"}))
    return price


def price_list(ctx: Ctx) -> Obj:
    p = ctx.params({"product": "str", "active": "bool", "currency": "str"}, listing=True)
    match = {k: p[k] for k in ("product", "active", "currency") if k in p}
    return ctx.store.list_page("price", ctx.owner, p, "/v1/prices", **match)


ROUTES: list[Route] = [
    ("POST", r"/v1/customers", customer_create),
    ("GET", r"/v1/customers", customer_list),
    ("GET", r"/v1/customers/([^/]+)", customer_retrieve),
    ("POST", r"/v1/customers/([^/]+)", customer_update),
    ("DELETE", r"/v1/customers/([^/]+)", customer_delete),
    ("POST", r"/v1/products", product_create),
    ("GET", r"/v1/products", product_list),
    ("GET", r"/v1/products/([^/]+)", product_retrieve),
    ("POST", r"/v1/products/([^/]+)", product_update),
    ("POST", r"/v1/prices", price_create),
    ("GET", r"/v1/prices", price_list),
    ("GET", r"/v1/prices/([^/]+)", price_retrieve),
    ("POST", r"/v1/prices/([^/]+)", price_update),
]
