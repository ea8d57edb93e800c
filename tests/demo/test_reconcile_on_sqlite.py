"""`manage.py reconcile` on the demo's SQLite: a difference's date comes back from SQLite as text,
and was stored as a naive datetime (Django warned "received a naive datetime" in the admin's
terminal on every run that found one). Postgres answers a datetime, so the suite never saw it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import urlparse

from tests.demo.conftest import ROOT, Demo, demo_env

ONLY_IN_LEDGER = "ch_only_in_the_demos_ledger"


def _reconcile(demo: Demo) -> subprocess.CompletedProcess[str]:
    web, sandbox = urlparse(demo.url).port, urlparse(demo.sandbox_url).port
    assert web and sandbox
    env = demo_env(demo.db_path.parent, web, sandbox)
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", str(ROOT / "manage.py"), "reconcile"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _post_a_charge_stripe_does_not_have(demo: Demo) -> None:
    """A balanced posting of a charge that is not at Stripe: a difference no webhook or catch-up of the
    running demo can make go away while the test looks."""
    when = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    with sqlite3.connect(demo.db_path, timeout=30) as conn:
        accounts = dict(conn.execute("SELECT code, id FROM ledger_account WHERE stripe_account = ''").fetchall())
        cursor = conn.execute(
            "INSERT INTO ledger_ledgertransaction (source_id, kind, description, occurred_at, created_at)"
            " VALUES (?, 'charge', 'test: only in the ledger', ?, ?)",
            (ONLY_IN_LEDGER, when, when),
        )
        for code, amount in (("stripe_balance", 1), ("buyer_payments", -1)):
            conn.execute(
                "INSERT INTO ledger_ledgerleg (amount, currency, occurred_at, account_id, transaction_id)"
                " VALUES (?, 'jpy', ?, ?, ?)",
                (amount, when, accounts[code], cursor.lastrowid),
            )


def test_a_difference_found_on_the_demo_is_recorded_without_a_naive_datetime_warning(demo: Demo) -> None:
    _post_a_charge_stripe_does_not_have(demo)
    run = _reconcile(demo)
    assert "Warning" not in run.stderr and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 1 and "1 difference" in run.stdout  # exits 1 when there are any
    [(kind, stored)] = demo.query(
        "SELECT kind, occurred_at FROM payouts_reconciliationdifference WHERE key = ?", (ONLY_IN_LEDGER,)
    )
    assert kind == "missing_at_stripe" and stored
