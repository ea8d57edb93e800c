"""Ledger figures, each against a bare baseline measured in the same run on the same Postgres.

1. Posting throughput: `ledger_post` of 4-leg postings (an application fee: platform, revenue, the
   seller's two accounts), each in its own database transaction, against a bare INSERT of the same
   rows (one transaction row, four legs, one commit) into tables without triggers, constraints or
   indexes besides the primary key. The two paths alternate over rounds, so a slow spell of this
   shared machine falls on both. Goal: the ledger at least 0.5x the bare insert.
2. The monthly report: `ledger_monthly_report` (per currency, by account: debits, credits) over a
   month of 1,000,000 legs against a bare `SELECT currency, sum(amount) ... GROUP BY currency` over
   the same rows. The legs are loaded with SQL in batches through the ledger's own triggers (the
   load rate is printed too). Goal: the report within 2x the bare aggregate.

Runs on a scratch database (`bench_ledger`, created, migrated and dropped). Usage:
``.venv/bin/python benchmarks/bench_ledger.py [--postings 1000] [--rounds 3] [--legs 1000000]``.
Needs the local Postgres (DATABASE_URL's server; its database name is ignored). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "bench_ledger"
SELLERS = 200
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
SECONDS_IN_MONTH = 30 * 86_400
BARE_LEG_INSERT = "INSERT INTO bench_bare_leg (transaction_id, account_id, amount, currency, occurred_at) VALUES "


def server_url(db: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    return f"postgres://{base.username or 'postgres'}@{base.hostname or '127.0.0.1'}:{base.port or 5432}/{db}"


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = server_url(DB_NAME)
    os.environ.setdefault("CACHE_URL", "locmemcache://")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seller(n: int) -> str:
    return f"acct_bench{n % SELLERS:05d}"


def bench_posting(postings: int, rounds: int) -> None:
    from django.db import connection, transaction

    from marketplace.ledger import flows
    from marketplace.ledger.services import ledger_post

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_bare_transaction (id bigserial PRIMARY KEY, source_id varchar(255), kind varchar(60),"
            " description text, occurred_at timestamptz, created_at timestamptz)"
        )
        cursor.execute(
            "CREATE TABLE bench_bare_leg (id bigserial PRIMARY KEY, transaction_id bigint, account_id bigint,"
            " amount bigint, currency varchar(3), occurred_at timestamptz)"
        )
    # Account ids for the bare rows: the ledger's own, so both paths write the same values.
    warm = [
        flows.application_fee(application_fee_id=f"fee_warm{n}", seller=seller(n), amount=100 + n, currency="usd")
        for n in range(SELLERS)
    ]
    for p in warm:
        ledger_post(source_id=p.source_id, kind=p.kind, description=p.description, legs=p.legs, occurred_at=MONTH_START)
    with connection.cursor() as cursor:
        cursor.execute("SELECT code || stripe_account, id FROM ledger_account")
        account_ids = dict(cursor.fetchall())

    def ledger_round(r: int) -> None:
        for n in range(postings):
            p = flows.application_fee(
                application_fee_id=f"fee_{r}_{n}", seller=seller(n), amount=100 + n % 900, currency="usd"
            )
            ledger_post(
                source_id=p.source_id, kind=p.kind, description=p.description, legs=p.legs, occurred_at=MONTH_START
            )

    def bare_round(r: int) -> None:
        for n in range(postings):
            p = flows.application_fee(
                application_fee_id=f"fee_{r}_{n}", seller=seller(n), amount=100 + n % 900, currency="usd"
            )
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_bare_transaction (source_id, kind, description, occurred_at, created_at)"
                    " VALUES (%s, %s, %s, %s, now()) RETURNING id",
                    [p.source_id, p.kind, p.description, MONTH_START],
                )
                txn_id = cursor.fetchone()[0]
                placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(p.legs))
                cursor.execute(
                    BARE_LEG_INSERT + placeholders,
                    [
                        value
                        for leg in p.legs
                        for value in (
                            txn_id,
                            account_ids[leg.account.code + leg.account.stripe_account],
                            leg.amount,
                            leg.currency,
                            MONTH_START,
                        )
                    ],
                )

    timings: dict[str, list[float]] = {"ledger": [], "bare": []}
    paths: list[tuple[str, Callable[[int], None]]] = [("ledger", ledger_round), ("bare", bare_round)]
    for r in range(rounds):
        for name, run in paths if r % 2 == 0 else paths[::-1]:
            started = time.perf_counter()
            run(r)
            timings[name].append(time.perf_counter() - started)
    rate = {name: postings * rounds / sum(seconds) for name, seconds in timings.items()}
    print(f"posting: 4-leg postings, one commit each, {rounds} alternating rounds of {postings}")
    print(f"  ledger_post                          {rate['ledger']:8.0f} transactions/s")
    print(f"  bare INSERT of the same rows         {rate['bare']:8.0f} transactions/s")
    ratios = ", ".join(f"{b / s:.2f}" for s, b in zip(timings["ledger"], timings["bare"], strict=True))
    ratio = rate["ledger"] / rate["bare"]
    print(
        f"  ratio ledger / bare                  {ratio:8.2f}"
        f"   (per round: {ratios}; goal >= 0.5: {_met(ratio >= 0.5)})"
    )


def load_month(legs: int) -> None:
    """`legs` legs (4 per transaction) of application fees in USD and JPY spread over November,
    written with SQL in batches, each commit checked by the ledger's triggers."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ledger_ledgerleg, ledger_ledgertransaction")  # the report's rows and only them
        cursor.execute("SELECT code, stripe_account, id FROM ledger_account")
        ids = {(code, acct): pk for code, acct, pk in cursor.fetchall()}
    platform, revenue = ids[("stripe_balance", "")], ids[("application_fees", "")]
    seller_fees = [ids[("seller_application_fees", seller(n))] for n in range(SELLERS)]
    seller_balances = [ids[("stripe_balance", seller(n))] for n in range(SELLERS)]
    transactions = legs // 4
    batch = 25_000
    started = time.perf_counter()
    for low in range(0, transactions, batch):
        high = min(low + batch, transactions) - 1
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_ledgertransaction (source_id, kind, description, occurred_at, created_at)"
                " SELECT 'fee_month' || g, 'application_fee', '', %s + (g %% %s) * interval '1 second', now()"
                " FROM generate_series(%s, %s) g",
                [MONTH_START, SECONDS_IN_MONTH, low, high],
            )
            cursor.execute(
                "INSERT INTO ledger_ledgerleg (transaction_id, account_id, amount, currency, occurred_at)"
                " SELECT t.id, leg.account_id, leg.amount, CASE WHEN t.id %% 3 = 0 THEN 'jpy' ELSE 'usd' END,"
                " t.occurred_at FROM ledger_ledgertransaction t CROSS JOIN LATERAL (VALUES"
                " (%s::bigint, 100 + t.id %% 900), (%s::bigint, -(100 + t.id %% 900)),"
                " ((%s::bigint[])[t.id %% %s + 1], 100 + t.id %% 900),"
                " ((%s::bigint[])[t.id %% %s + 1], -(100 + t.id %% 900))) AS leg(account_id, amount)"
                " WHERE t.source_id LIKE 'fee_month%%' AND t.id > (SELECT coalesce(max(transaction_id), 0)"
                " FROM ledger_ledgerleg)",
                [platform, revenue, seller_fees, SELLERS, seller_balances, SELLERS],
            )
    loaded = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ledger_ledgerleg")
        cursor.execute("SELECT count(*) FROM ledger_ledgerleg")
        count = cursor.fetchone()[0]
    print(
        f"loaded {count:,} legs in {loaded:.1f} s ({count / loaded:,.0f} legs/s through the balance and"
        " immutability triggers, 25,000 transactions per commit)"
    )


def bench_report(runs: int) -> None:
    from django.db import connection

    from marketplace.ledger.selectors import ledger_monthly_report

    def report() -> int:
        return len(ledger_monthly_report(year=2026, month=11).lines)

    def bare() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT currency, sum(amount) FROM ledger_ledgerleg GROUP BY currency")
            return len(cursor.fetchall())

    report(), bare()  # warm the cache for both
    timings: dict[str, list[float]] = {"report": [], "bare": []}
    report_lines = 0
    for r in range(runs):
        for name, run in [("report", report), ("bare", bare)][:: 1 if r % 2 == 0 else -1]:
            started = time.perf_counter()
            lines = run()
            timings[name].append(time.perf_counter() - started)
            if name == "report":
                report_lines = lines
    median = {name: statistics.median(seconds) * 1000 for name, seconds in timings.items()}
    ratio = median["report"] / median["bare"]
    print(f"monthly report over the month's legs, median of {runs} alternating runs")
    print(
        f"  ledger_monthly_report                {median['report']:8.0f} ms"
        f"   ({report_lines} lines: account x currency)"
    )
    print(f"  bare SELECT sum() GROUP BY currency  {median['bare']:8.0f} ms")
    print(f"  ratio report / bare                  {ratio:8.2f}   (goal <= 2: {_met(ratio <= 2)})")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postings", type=int, default=1000, help="postings per round and path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--legs", type=int, default=1_000_000)
    parser.add_argument("--report-runs", type=int, default=5)
    args = parser.parse_args()

    admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DB_NAME}"')
    try:
        setup_django()
        bench_posting(args.postings, args.rounds)
        load_month(args.legs)
        bench_report(args.report_runs)
    finally:
        from django.db import connections

        connections.close_all()
        admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
