"""The Events API (for catch-up jobs) and registered webhook endpoints."""

from __future__ import annotations

from typing import Any

from ..core import Ctx, Route
from ..errors import StripeError
from ..store import PLATFORM, Obj, new_id, template


def event_retrieve(ctx: Ctx, evt_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(evt_id, "event", ctx.owner)


def _type_ok(event_type: str, pattern: str) -> bool:
    return event_type == pattern or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))


def event_list(ctx: Ctx) -> Obj:
    """Stripe keeps 30 days of events; ``type`` accepts ``charge.*`` wildcards, ``types[]`` up to 20 names."""
    p = ctx.params({"type": "str", "types": ["str"], "delivery_success": "bool"}, listing=True)
    if p.get("type") and p.get("types"):
        raise StripeError(400, "You cannot specify both `type` and `types`.", param="types")
    patterns = p.get("types") or ([p["type"]] if p.get("type") else [])
    keep = (lambda e: any(_type_ok(e["type"], pat) for pat in patterns)) if patterns else None
    return ctx.store.list_page("event", ctx.owner, p, "/v1/events", keep=keep)


ENDPOINT_SCHEMA: dict[str, Any] = {
    "!url": "str",
    "!enabled_events": ["str"],
    "connect": "bool",
    "description": "str",
    "metadata": "meta",
    "api_version": "str",
}


def endpoint_create(ctx: Ctx) -> Obj:
    p = ctx.params(ENDPOINT_SCHEMA)
    secret = new_id("whsec_", 32)
    we = template(
        "webhook_endpoint",
        id=new_id("we_"),
        api_version=p.get("api_version"),
        created=ctx.store.now(),
        description=p.get("description"),
        enabled_events=p["enabled_events"],
        metadata=p.get("metadata") or {},
        status="enabled",
        url=p["url"],
        _secret=secret,
        _connect=bool(p.get("connect")),
    )
    ctx.store.add(we, PLATFORM)
    return {**we, "secret": secret}


def endpoint_retrieve(ctx: Ctx, we_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(we_id, "webhook_endpoint", PLATFORM, label="webhook endpoint")


def endpoint_update(ctx: Ctx, we_id: str) -> Obj:
    we = ctx.store.get(we_id, "webhook_endpoint", PLATFORM, label="webhook endpoint")
    p = ctx.params(
        {"url": "str", "enabled_events": ["str"], "description": "str", "metadata": "meta", "disabled": "bool"}
    )
    if "disabled" in p:
        we["status"] = "disabled" if p.pop("disabled") else "enabled"
    p.pop("expand", None)
    we.update(p)
    return we


def endpoint_delete(ctx: Ctx, we_id: str) -> Obj:
    ctx.params({})
    ctx.store.get(we_id, "webhook_endpoint", PLATFORM, label="webhook endpoint")["_deleted"] = True
    return {"id": we_id, "object": "webhook_endpoint", "deleted": True}


def endpoint_list(ctx: Ctx) -> Obj:
    p = ctx.params({}, listing=True)
    return ctx.store.list_page("webhook_endpoint", PLATFORM, p, "/v1/webhook_endpoints")


ROUTES: list[Route] = [
    ("GET", r"/v1/events", event_list),
    ("GET", r"/v1/events/([^/]+)", event_retrieve),
    ("POST", r"/v1/webhook_endpoints", endpoint_create),
    ("GET", r"/v1/webhook_endpoints", endpoint_list),
    ("GET", r"/v1/webhook_endpoints/([^/]+)", endpoint_retrieve),
    ("POST", r"/v1/webhook_endpoints/([^/]+)", endpoint_update),
    ("DELETE", r"/v1/webhook_endpoints/([^/]+)", endpoint_delete),
]
