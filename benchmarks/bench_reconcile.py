"""Reconciliation against bare paging, and its peak memory as the count grows.

For N paid destination charges (N = 1,000 then 10,000; 20 sellers, half USD, half JPY) made in a
sandbox running in its own process, with the ledger posted as the app posts them:

1. `reconcile()` (what `manage.py reconcile` runs: every balance transaction of the platform and
   the sellers, matched to the ledger) in a child process: its time, and the child's peak RSS
   (`ru_maxrss`, Django's start-up included).
2. The baseline, in a child process too: the same list requests through the gateway (the same
   pages, the sellers' with `data.source` expanded), doing nothing with what comes back.

Each is run `--rounds` times (3), alternating, and the fastest of each is compared (a shared
machine's slow spells); the machine's load average is printed before and after each count.

Goal: reconcile within 1.5x of the bare paging, and peak RSS flat from 1k to 10k. The sandbox
answers a page in time proportional to the page, not to what it holds (its store keeps an index
per kind and account), so both paths measure the client's work.

Loading: one PaymentIntent request per order (confirmed, the charge and its balance transaction
expanded), which is what the app records for a paid destination charge, and the ledger and mirror
rows written in batches of 500: ~100 orders a second on a quiet machine (10,000 in ~95 s).

Runs on a scratch database (`bench_reconcile`, created, migrated and dropped). Usage:
``.venv/bin/python benchmarks/bench_reconcile.py [--counts 1000,10000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "bench_reconcile"
SELLERS = 20
PY = sys.executable


def server_url(db: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    return f"postgres://{base.username or 'postgres'}@{base.hostname or '127.0.0.1'}:{base.port or 5432}/{db}"


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(sandbox_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": server_url(DB_NAME),
        "CACHE_URL": "locmemcache://",
        "STRIPE_API_BASE": sandbox_url,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "LOG_LEVEL": "WARNING",
    }


def setup_django(sandbox_url: str) -> None:
    os.environ.update(child_env(sandbox_url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def start_sandbox() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [PY, "-m", "stripe_sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def load(sandbox_url: str, count: int) -> None:
    """Sellers onboarded, `count` paid destination charges (one PaymentIntent call each, with the
    charge and its balance transaction expanded), and the ledger and mirror rows the app writes for
    them, in batches."""
    import requests
    from django.db import transaction

    from marketplace.gateway import client
    from marketplace.ledger import flows
    from marketplace.ledger.services import ledger_post_one
    from payments.models import Payment
    from payouts.models import ApplicationFee, Transfer
    from sellers.models import Seller
    from tests.factories import UserFactory

    stripe = client()
    sellers = []
    for n in range(SELLERS):
        currency, country = ("usd", "US") if n % 2 == 0 else ("jpy", "JP")
        acct = stripe.v1.accounts.create(
            params={
                "type": "express",
                "country": country,
                "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
            }
        )
        link = stripe.v1.account_links.create(
            params={
                "account": acct.id,
                "type": "account_onboarding",
                "refresh_url": "http://x/r",
                "return_url": "http://x/s",
            }
        )
        token = link.url.rstrip("/").rsplit("/", 1)[-1]
        requests.post(f"{sandbox_url}/_sandbox/account_links/{token}/complete", json={}, timeout=30).raise_for_status()
        Seller.objects.create(
            user=UserFactory(),
            shop_name=f"Bench {n}",
            country=country,
            default_currency=currency,
            stripe_account_id=acct.id,
        )
        sellers.append((acct.id, currency))

    batch: list[tuple[object, ...]] = []

    def flush() -> None:
        with transaction.atomic():
            payments = Payment.objects.bulk_create(
                [
                    Payment(
                        stripe_payment_intent_id=pi,
                        stripe_charge_id=ch.id,
                        stripe_balance_transaction_id=ch.balance_transaction.id,
                        currency=ch.currency,
                        amount=ch.amount,
                        stripe_fee=ch.balance_transaction.fee,
                        created_at=datetime.fromtimestamp(ch.created, tz=UTC),
                    )
                    for pi, ch, _ in batch
                ]
            )
            Transfer.objects.bulk_create(
                [
                    Transfer(
                        stripe_id=ch.transfer,
                        destination=acct,
                        amount=ch.amount,
                        currency=ch.currency,
                        payment=p,
                        created_at=p.created_at,
                    )
                    for (_, ch, acct), p in zip(batch, payments, strict=True)
                ]
            )
            ApplicationFee.objects.bulk_create(
                [
                    ApplicationFee(
                        stripe_id=ch.application_fee,
                        account=acct,
                        amount=ch.application_fee_amount,
                        currency=ch.currency,
                        payment=p,
                        created_at=p.created_at,
                    )
                    for (_, ch, acct), p in zip(batch, payments, strict=True)
                ]
            )
            for (_, ch, acct), p in zip(batch, payments, strict=True):
                for posting in flows.destination_charge(
                    charge_id=ch.id,
                    transfer_id=ch.transfer,
                    application_fee_id=ch.application_fee,
                    seller=acct,
                    amount=ch.amount,
                    application_fee_amount=ch.application_fee_amount,
                    stripe_fee=ch.balance_transaction.fee,
                    currency=ch.currency,
                ):
                    ledger_post_one(posting=posting, occurred_at=p.created_at)
        batch.clear()

    for n in range(count):
        acct, currency = sellers[n % SELLERS]
        amount = 1_000 + (n * 37) % 20_000
        pi = stripe.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": currency,
                "confirm": True,
                "payment_method": "pm_card_visa",
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                "application_fee_amount": amount // 10,
                "transfer_data": {"destination": acct},
                "expand": ["latest_charge.balance_transaction"],
            }
        )
        batch.append((pi.id, pi.latest_charge, acct))
        if len(batch) >= 500:
            flush()
    if batch:
        flush()


def timed_child(mode: str, env: dict[str, str]) -> tuple[float, int, str]:
    """Run a child in `mode`: the seconds its work took (it times itself, so Django's start-up is
    left out), its peak RSS (KiB, from wait4, start-up included) and its line of output."""
    args = [PY, "benchmarks/bench_reconcile.py", mode]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    out = proc.stdout.read().decode().strip().splitlines()[-1]
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{mode} failed: {out}")
    seconds, _, text = out.partition(" ")
    return float(seconds), int(usage.ru_maxrss), text


def bare_paging() -> None:
    """The baseline (child mode): the reconciliation's list requests, and nothing else."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from marketplace.gateway.balances import balance_transactions_list
    from sellers.models import Seller

    accounts = [
        "",
        *Seller.objects.exclude(stripe_account_id=None).order_by("pk").values_list("stripe_account_id", flat=True),
    ]
    started = time.monotonic()
    count = 0
    for account in accounts:
        for _ in balance_transactions_list(account=account or None, expand_source=bool(account)):
            count += 1
    print(f"{time.monotonic() - started:.3f} paged {count} balance transactions of {len(accounts)} accounts")


def timed_reconcile() -> None:
    """The measured path (child mode): `payouts.reconciliation.reconcile`, as `manage.py reconcile` runs it."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from payouts.reconciliation import reconcile

    started = time.monotonic()
    result = reconcile()
    print(f"{time.monotonic() - started:.3f} {result.summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1000,10000", help="paid orders per measurement, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path, alternating")
    parser.add_argument("--child-bare-paging", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-reconcile", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child_reconcile:
        timed_reconcile()
        return
    if opts.child_bare_paging:
        bare_paging()
        return
    if opts.child_load:
        url = os.environ["STRIPE_API_BASE"]
        setup_django(url)
        load(url, opts.child_load)
        return
    results = []
    for count in [int(c) for c in opts.counts.split(",")]:
        admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        admin(f"CREATE DATABASE {DB_NAME}")
        sandbox, url = start_sandbox()
        try:
            env = child_env(url)
            subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
            started = time.monotonic()
            subprocess.run(
                [PY, "benchmarks/bench_reconcile.py", "--child-load", str(count)], cwd=ROOT, env=env, check=True
            )
            print(f"{count} orders: loaded in {time.monotonic() - started:.0f} s")
            load_before = os.getloadavg()
            bare_runs: list[tuple[float, int, str]] = []
            rec_runs: list[tuple[float, int, str]] = []
            for _ in range(opts.rounds):
                bare_runs.append(timed_child("--child-bare-paging", env))
                rec_runs.append(timed_child("--child-reconcile", env))
            load_after = os.getloadavg()
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
        bare_best, rec_best = min(r[0] for r in bare_runs), min(r[0] for r in rec_runs)
        rec_rss = max(r[1] for r in rec_runs)
        results.append((count, bare_best, rec_best, rec_rss, bare_runs[0][1]))
        print(f"{count} orders: {bare_runs[0][2]}")
        print(f"  reconcile: {rec_runs[0][2]}")
        print(
            f"  bare paging {'/'.join(f'{r[0]:.1f}' for r in bare_runs)} s, reconcile "
            f"{'/'.join(f'{r[0]:.1f}' for r in rec_runs)} s ({opts.rounds} runs each, alternating): "
            f"ratio {rec_best / bare_best:.2f} (goal <= 1.5); peak RSS reconcile {rec_rss / 1024:.0f} MiB, "
            f"bare paging {bare_runs[0][1] / 1024:.0f} MiB; load average {load_before[0]:.1f} before, "
            f"{load_after[0]:.1f} after"
        )
    admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"peak RSS of reconcile: {first[3] / 1024:.0f} MiB at {first[0]:,} orders, {last[3] / 1024:.0f} MiB "
            f"at {last[0]:,} (growth {last[3] / first[3]:.2f}x for {last[0] / first[0]:.0f}x the transactions)"
        )


if __name__ == "__main__":
    main()
