"""schemathesis against /api/v1/openapi.json, as an anonymous visitor, a buyer and a seller.

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

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.db import connections
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from config.wsgi import application
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
