"""The console's dispute queue puts disputes with no deadline (`due_by` NULL) last, on Postgres and
on the demo's SQLite alike: Postgres sorts NULL last in ascending order and SQLite first, so a bare
`order_by("due_by")` showed the demo's admins the deadline-less disputes at the top, above the one
due tomorrow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connections

from orders.models import Order
from payments.models import Dispute, DisputeFile
from payments.selectors import disputes_for_console
from sellers.models import Seller

SOON = datetime(2026, 12, 5, 17, 4, tzinfo=UTC)


def make_disputes(using: str) -> None:
    for stripe_id, due_by in (("dp_none", None), ("dp_later", SOON + timedelta(days=3)), ("dp_soon", SOON)):
        Dispute.objects.using(using).create(
            stripe_id=stripe_id,
            stripe_charge_id=f"ch_{stripe_id}",
            amount=1_000,
            currency="usd",
            reason="fraudulent",
            status="needs_response",
            due_by=due_by,
            stripe_created_at=SOON - timedelta(days=7),
        )


def queue(using: str) -> list[str]:
    return [d.stripe_id for d in disputes_for_console().using(using)]


@pytest.mark.django_db
def test_on_postgres_a_dispute_with_no_deadline_is_last() -> None:
    make_disputes("default")
    assert queue("default") == ["dp_soon", "dp_later", "dp_none"]


@pytest.fixture
def sqlite(django_db_blocker: Any) -> Iterator[str]:
    """An in-memory SQLite database, as the demo's, holding the tables the queue reads (its own
    connection, outside the test database, so it is let through pytest-django's blocker)."""
    alias = "queue_sqlite"
    connections.settings[alias] = connections.configure_settings(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    )["default"]
    conn: Any = connections[alias]
    with django_db_blocker.unblock():
        with conn.schema_editor() as editor:
            for model in (Seller, Order, Dispute, DisputeFile):
                editor.create_model(model)
        with conn.cursor() as cursor:  # the tables they refer to are not there, and no row refers to one
            cursor.execute("PRAGMA foreign_keys = OFF")
        yield alias
        conn.close()
    del connections[alias]
    del connections.settings[alias]


def test_on_the_demos_sqlite_a_dispute_with_no_deadline_is_last_too(sqlite: str) -> None:
    make_disputes(sqlite)
    assert queue(sqlite) == ["dp_soon", "dp_later", "dp_none"]
