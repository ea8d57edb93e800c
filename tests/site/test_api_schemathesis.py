"""schemathesis against /api/v1/openapi.json, as an anonymous visitor, a buyer and a seller; and a
deterministic walk of every operation of the document with each kind of bad input (below).

Every operation gets the boundary and invalid values of schemathesis's coverage phase, then generated
schema-valid and schema-invalid requests (NUL characters included). Every answer
must be no server error, a status the document lists for that operation, and a body of the listed
schema and content type. Bounded: a fixed seed, a few generated examples per operation, a time limit.

How it runs: schemathesis's engine (what `schemathesis run` drives, RECIPES.md section 8) calls the
app in-process through WSGI, on the test's Postgres and the sandbox over HTTP; the failures it records
are asserted here. Not `schema.parametrize()`: schemathesis 4.32's pytest integration reads
`Node._nodeid`, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from django.db import connections, transaction
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from config.wsgi import application
from orders.models import RefundRequest
from payments.models import Dispute
from payouts.models import Payout
from sellers.models import Seller
from tests.catalog.factories import SellerFactory
from tests.factories import UserFactory
from tests.payments.helpers import new_events, process
from tests.site.conftest import World

pytestmark = [pytest.mark.slow]

EXAMPLES_PER_OPERATION = 10
# The bound of the run: about 15 ms of CPU per request, so a busy machine reaches it before the
# examples run out; by then the coverage phase has tried every operation (asserted below).
MAX_SECONDS_PER_ROLE = 20
# What the issue asks for: no server error, no undocumented status, no schema violation. Other
# checks (e.g. "valid data must be accepted") judge business rules the document cannot state,
# such as "a buyer cannot publish a listing".
CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance", "content_type_conformance")


def _config(world: World, role: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 11,
            "max-time": MAX_SECONDS_PER_ROLE,
            "generation": {
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
                # The session cookie is ours (below), not a random value for the SessionAuth scheme.
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "suppress-health-check": ["all"],
            "workers": 1,
        }
    )


def _as(schema: Any, world: World, role: str) -> None:
    """Every request carries the role's session and CSRF cookies and the CSRF header."""
    cookies = world.cookies(role)

    @schema.auth(refresh_interval=None)
    class RoleCookies:
        def get(self, case: Any, context: Any) -> dict[str, str]:
            return cookies

        def set(self, case: Any, data: dict[str, str], context: Any) -> None:
            case.cookies = {**(case.cookies or {}), **data}
            case.headers = {**(case.headers or {}), "X-CSRFToken": data["csrftoken"]}


def _closing_connections(schema: Any) -> None:
    """The engine calls the app in its worker threads, and its WSGI transport never closes the response,
    so Django's request_finished (which would) does not fire: close the thread's DB connection after
    each call, or it outlives the test and the test database cannot be dropped."""

    @schema.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        connections.close_all()


def _with_real_values(schema: Any, world: World) -> None:
    """Half the time, path ids and body fields name rows that exist (a listing, the order, the seller
    and its currency, a category), so operations get past their 404s and reach their real work."""
    real = {
        "listing_id": [world.listing.pk, world.draft.pk],
        "order_id": [world.order.pk],
        "item_id": list(world.order.buyer.cart.items.values_list("pk", flat=True)),
        "seller_id": [world.seller.pk],
        "currency": [world.seller.default_currency],
        "category": [world.listing.category.slug],
    }

    def sometimes_real(values: Any) -> Any:
        known = {name: real[name] for name in values if real.get(name)} if isinstance(values, dict) else {}
        if not known:
            return st.just(values)
        chosen = st.fixed_dictionaries({name: st.sampled_from(options) for name, options in known.items()})
        return st.one_of(st.just(values), chosen.map(lambda picked: {**values, **picked}))

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: Any) -> Any:
        return sometimes_real(path_parameters)

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        return sometimes_real(body)


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=dict)  # operation label -> statuses received


def run_schemathesis(schema: Any) -> Report:
    """Run every phase as `schemathesis run` would; collect each check failure and engine error."""
    report = Report()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    report.statuses.setdefault(event.label, set()).add(interaction.response.status_code)
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    if node.status == Status.FAILURE and node.failure_info is not None:
                        failure = node.failure_info.failure
                        report.failures.append(
                            f"{event.label}: {failure.title}: {failure.message}\n{node.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            report.failures.append(f"{event.label}: error: {''.join(traceback.format_exception(event.value))}")
        elif isinstance(event, events.FatalError):
            report.failures.append(f"fatal: {''.join(traceback.format_exception(event.exception))}")
    report.failures = sorted(set(report.failures))
    return report


@pytest.mark.parametrize("role", ["anonymous", "buyer", "seller"])
def test_the_api_answers_every_request_as_its_document_says(world: World, role: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=_config(world, role))
    _as(schema, world, role)
    _closing_connections(schema)
    _with_real_values(schema, world)
    started = time.monotonic()
    report = run_schemathesis(schema)
    print(f"\nschemathesis as {role}: {time.monotonic() - started:.1f} s")
    for label, codes in sorted(report.statuses.items()):
        print(f"  {label}: {sorted(codes)}")
    assert not report.failures, f"{len(report.failures)} failures as {role}:\n\n" + "\n\n".join(report.failures)
    operations = {op.ok().label for op in schema.get_all_operations()}
    assert set(report.statuses) == operations  # none was skipped
    assert (200 in report.statuses["GET /api/v1/me"]) is (role != "anonymous")  # the role's session was used


# --- Every operation, walked with bad input -------------------------------------------------------
# schemathesis above draws its inputs, a few per operation in a time limit: a bad value it does not
# draw is never sent. This walk sends each kind of bad input to every operation of the OpenAPI
# document, deterministically: each path id, query parameter, header and body field in turn replaced
# by a bad value, broken bodies, no session, and another shop's session on the world's objects.
# Every answer must be no 5xx, a status the document lists, and an error a client can read:
# `{"error": {"code", "message"}}` in JSON.

HUGE = 2**64
NO_SUCH_ID = 2**31 - 1
BAD_IDS: tuple[object, ...] = (0, -1, "abc", "1.5", "%00", 2**63, HUGE, NO_SUCH_ID)
BAD_PARAMETERS = ("\x00", "-1", "0", str(HUGE), str(-HUGE), "abc", "1.5", "x" * 5_000)
BAD_VALUES: tuple[object, ...] = (
    "\x00", "a\x00b", -1, 0, HUGE, -HUGE, 1.5, True, None, [], {}, "x" * 100_000,
    [{"line_id": HUGE, "quantity": -1}], [None], {"\x00": 1},
)  # fmt: skip
DEEP = 100_000  # JSON nested deeper than Python's recursion limit
BAD_BODIES = (
    b"", b"null", b"[]", b'"x"', b"{", b'{"a": "\\u0000"}', b"\xff\xfe", b"1e999999", b'{"a": NaN}',
    b"[" * DEEP + b"]" * DEEP, b'{"a": ' * DEEP + b"1" + b"}" * DEEP,
)  # fmt: skip


def _resolved(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _example(document: dict[str, Any], node: Any, name: str, real: dict[str, Any]) -> Any:
    """A value the field takes (the world's row for an id it names), so that one bad field at a time
    reaches the operation's own code rather than stopping at another field's 422."""
    if name in real:
        return real[name]
    node = _resolved(document, node)
    if "anyOf" in node:
        node = _resolved(document, next(n for n in node["anyOf"] if n.get("type") != "null"))
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        fields = node.get("properties", {})
        return {key: _example(document, value, key, real) for key, value in fields.items()}
    if kind in ("integer", "number"):
        return max(1, node.get("minimum", 1), node.get("exclusiveMinimum", 0) + 1)
    return {"boolean": False, "array": []}.get(str(kind), "x" * max(1, node.get("minLength", 1)))


@dataclass
class Walk:
    world: World
    document: dict[str, Any]
    clients: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    sent: int = 0
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def send(self, role: str, method: str, path: str, operation: dict[str, Any], **request: Any) -> Any:
        """One request, rolled back afterwards (every request meets the same world), and its checks."""
        with transaction.atomic():
            try:
                response = self.clients[role].generic(method.upper(), path, **request)
            except Exception as exc:  # noqa: BLE001 - a crash in the view is the finding: it would be a 500
                response = None
                self.failures.append(f"{role} {method.upper()} {path}: raised {exc!r}")
            transaction.set_rollback(True)
        self.sent += 1
        if response is None:
            return None
        self.statuses.setdefault(f"{method.upper()} {operation['operationId']}", set()).add(response.status_code)
        where = (
            f"{role} {method.upper()} {path[:120]} {str(request.get('data', ''))[:120]} {request.get('headers', '')}"
        )
        if response.status_code >= 500:
            self.failures.append(f"{where}: {response.status_code} {response.content[:300]!r}")
        elif str(response.status_code) not in {str(status) for status in operation["responses"]}:
            self.failures.append(f"{where}: {response.status_code}, not in the document {response.content[:150]!r}")
        elif response.status_code >= 400:
            error = _error_of(response)
            if not (isinstance(error, dict) and error.get("code") and error.get("message")):
                self.failures.append(f"{where}: {response.status_code} without a code {response.content[:200]!r}")
        return response


def _error_of(response: Any) -> Any:
    if not response.get("Content-Type", "").startswith("application/json"):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _owner(path: str) -> str:
    """Who gets furthest into an operation: its audience."""
    if path.startswith("/api/v1/console/"):
        return "admin"
    return "seller" if path.startswith("/api/v1/seller") else "buyer"


def _walk_operation(walk: Walk, path: str, method: str, operation: dict[str, Any], real: dict[str, Any]) -> None:
    document, role = walk.document, _owner(path)
    parameters = operation.get("parameters", [])
    in_path = [p["name"] for p in parameters if p["in"] == "path"]
    others = [p for p in parameters if p["in"] in ("query", "header")]
    content = operation.get("requestBody", {}).get("content", {})
    json_schema = content.get("application/json", {}).get("schema")
    body = _example(document, json_schema, "", real) if json_schema else None

    def url(**ids: Any) -> str:
        values = {name: real.get(name, NO_SUCH_ID) for name in in_path} | ids
        return path.format(**values)

    def request(payload: Any = body, **extra: Any) -> dict[str, Any]:
        if "multipart/form-data" in content:
            return {"data": encode_multipart(BOUNDARY, payload or {}), "content_type": MULTIPART_CONTENT, **extra}
        if payload is None:
            return extra
        return {"data": json.dumps(payload), "content_type": "application/json", **extra}

    for name in in_path:
        for bad in BAD_IDS:
            walk.send(role, method, url(**{name: bad}), operation, **request())
    for parameter in others:
        for bad in BAD_PARAMETERS:
            if parameter["in"] == "query":
                walk.send(role, method, f"{url()}?{urlencode({parameter['name']: bad})}", operation, **request())
            elif bad.isprintable():  # a header cannot carry a control character on the wire
                walk.send(role, method, url(), operation, **request(headers={parameter["name"]: bad}))
    if isinstance(body, dict):
        for name in body:
            for bad in BAD_VALUES:
                walk.send(role, method, url(), operation, **request({**body, name: bad}))
            walk.send(role, method, url(), operation, **request({k: v for k, v in body.items() if k != name}))
        for raw in BAD_BODIES:
            walk.send(role, method, url(), operation, data=raw, content_type="application/json")
    if "multipart/form-data" in content:
        for fields in ({}, {"evidence_field": "\x00"}, {"file": "not a file"}, {"file": "x" * 100_000}):
            walk.send(role, method, url(), operation, **request(fields))
        walk.send(role, method, url(), operation, data=b'{"file": 1}', content_type="application/json")
    walk.send(role, method, url(), operation, **request())  # nothing bad: the operation's own work
    walk.send("anonymous", method, url(), operation, **request())  # no session
    walk.send("new_seller", method, url(), operation, **request())  # another shop, and one without Stripe
    if in_path and not path.startswith("/api/v1/listings/"):  # the world's rows, not the public ones
        response = walk.send("other_seller", method, url(), operation, **request())
        if response is not None and response.status_code < 400:
            walk.failures.append(f"other_seller {method.upper()} {url()}: {response.status_code} on another's row")


def _objects_of_the_world(sandbox: Any, world: World) -> dict[str, Any]:
    """Path ids and body fields that name the world's rows, and three more rows: a dispute the bank
    opened on the order (through the sandbox's events, as Stripe's), a refund request and a payout."""
    seen = {e["id"] for e in new_events(set())}
    charge = world.order.payment.stripe_charge_id  # type: ignore[union-attr]
    requests.post(f"{sandbox.url}/_sandbox/charges/{charge}/dispute", json={"reason": "fraudulent"}, timeout=10)
    assert "failed" not in process(new_events(seen))
    request = RefundRequest.objects.create(order=world.order, reason="damaged", amount=world.order.amount_total)
    now = timezone.now()
    payout = Payout.objects.create(
        stripe_id="po_walk", account=world.seller.stripe_account_id, amount=1_000, currency="usd", status="paid",
        arrival_date=now, created_at=now,
    )  # fmt: skip
    return {
        "listing_id": world.listing.pk,
        "order_id": world.order.pk,
        "item_id": world.order.buyer.cart.items.values_list("pk", flat=True).first(),
        "seller_id": world.seller.pk,
        "currency": world.seller.default_currency,
        "category": world.listing.category.slug,
        "price": 1_000,  # over Stripe's least charge
        "dispute_id": Dispute.objects.get(order=world.order).pk,
        "request_id": request.pk,
        "payout_id": payout.pk,
    }


def test_every_operation_answers_bad_input_with_an_error_and_a_code(sandbox: Any, world: World) -> None:
    from config.api import api

    document = api.get_openapi_schema()
    other = SellerFactory(shop_name="Other Kiln")
    new = Seller.objects.create(user=UserFactory(), shop_name="No Stripe Yet", country="JP", default_currency="jpy")
    clients = {role: world.client(role) for role in ("anonymous", "buyer", "seller", "admin")}
    for role, user in (("other_seller", other.user), ("new_seller", new.user)):
        clients[role] = Client()
        clients[role].force_login(user)
    real = _objects_of_the_world(sandbox, world)
    walk = Walk(world=world, document=document, clients=clients)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            _walk_operation(walk, path, method, operation, real)
    print(f"\n{walk.sent} requests")
    for label, codes in sorted(walk.statuses.items()):
        print(f"  {label}: {sorted(codes)}")
    assert walk.sent > 1_000
    assert not walk.failures, f"{len(walk.failures)} failures:\n" + "\n".join(walk.failures[:80])
