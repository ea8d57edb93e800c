"""Storefront pages against a view that reads one row and returns it, side by side under gunicorn;
then checkout creation's time outside Stripe's call.

Runs gunicorn (2 workers x 8 threads) on a database of its own (`bench_pages`, recreated, migrated and
seeded by `benchmarks/page_data.py`: 200 listings by 20 shops, cover images, a paused shop and drafts)
with a private redis-server as the cache, and requests each page at concurrency 16, alternating with
`/one-row/` (`benchmarks/bench_pages_urls.py`): page, one-row, one-row, page ... so a slow spell of
this shared machine falls on both. Each page is measured signed out and signed in (a buyer with three
items in a cart). The figure is the page's requests/s over the one-row view's in the same round; the
table gives the median and range over the rounds, and the page's p99 over the one-row view's p99.

Then `benchmarks/checkout_timing.py` times `POST /api/v1/checkout` in one process against the Stripe
sandbox (its own process): returning buyers, one Stripe call each, and the time spent outside it.

Goals (issue 18): every storefront page >= 0.5x the one-row view, p99 < 2x its p99 (the cart, the
buyer's own page, is measured with the same columns); checkout p95 outside Stripe < 30 ms.
Usage: ``.venv/bin/python benchmarks/bench_pages.py [--seconds 4] [--rounds 3] [--checkouts 200] [--db NAME]``.
Needs the local Postgres (DATABASE_URL's server; database name ignored) and redis-server on PATH.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_webhooks import (  # noqa: E402
    cpu_seconds,
    cpu_used,
    free_port,
    scratch_redis_and_database,
    wait_port,
)
from benchmarks.serve import start_gunicorn  # noqa: E402

DB_NAME = "bench_pages"
BASELINE = "/one-row/"
PAGES = [
    ("/ (home, 24 cards)", "/"),
    ("/category/ceramics/", "/category/ceramics/"),
    ("/listing/{listing}/", "/listing/{listing}/"),
    ("/search/?q=mug", "/search/?q=mug"),
    ("/api/v1/listings", "/api/v1/listings"),
    ("/cart/", "/cart/"),
]
GOAL_RATIO = 0.5
GOAL_P99 = 2.0


def _client(args: tuple[int, str, str, float, int]) -> tuple[list[float], int]:
    """One load process: `threads` keep-alive connections getting `path` until the deadline."""
    port, path, cookie, deadline, threads = args
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    headers = {"Cookie": cookie} if cookie else {}

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        while time.time() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, errors[0]


@dataclass
class Run:
    """What one path answered in one round."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def p99_ms(self) -> float:
        """The 99th percentile (inclusive: with fewer than 100 requests it lies between the two slowest)."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98] * 1000

    def cpu_ms(self) -> float:
        """gunicorn and postgres CPU per answered request, in ms."""
        return (self.cpu.get("gunicorn", 0.0) + self.cpu.get("postgres", 0.0)) / max(1, len(self.latencies)) * 1000


def load(pool: mp.pool.Pool, port: int, path: str, cookie: str, seconds: float, concurrency: int) -> Run:
    processes = pool._processes  # type: ignore[attr-defined]
    deadline = time.time() + seconds
    before = cpu_seconds()
    results = pool.map(_client, [(port, path, cookie, deadline, concurrency // processes)] * processes)
    run = Run(seconds=seconds, cpu=cpu_used(before, cpu_seconds()))
    for latencies, errors in results:
        run.latencies.extend(latencies)
        run.errors += errors
    return run


def django(env: dict[str, str], code: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4, help="load time per path per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--listings", type=int, default=200)
    parser.add_argument("--checkouts", type=int, default=200, help="0: skip the checkout timing")
    parser.add_argument("--profile-checkout", type=int, default=0, help="print a profile of checkout (N lines)")
    parser.add_argument("--only", default="", help="measure only the pages whose path contains this")
    parser.add_argument(
        "--db",
        default=os.environ.get("BENCH_PAGES_DB", DB_NAME),
        help="scratch database, dropped and recreated (default: $BENCH_PAGES_DB, else bench_pages);"
        " give each run on a shared machine its own",
    )
    args = parser.parse_args()

    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    db_url = f"postgres://{base.username or 'postgres'}@{base.hostname or '127.0.0.1'}:{base.port or 5432}/{args.db}"
    redis_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "CACHE_URL"},
        "DJANGO_SETTINGS_MODULE": "benchmarks.bench_pages_settings",
        "DATABASE_URL": db_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/1",
        "TEST_CACHE_KEY_PREFIX": "bench-pages",
        "PYTHONPATH": str(ROOT),
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(scratch_redis_and_database(env, redis_port=redis_port, db=args.db))
        ids = json.loads(
            django(env, f"import json; from benchmarks.page_data import seed; print(json.dumps(seed({args.listings})))")
        )
        cookie = "sessionid=" + django(
            env, "from benchmarks.page_data import session_cookie, BUYER_EMAIL; print(session_cookie(BUYER_EMAIL))"
        )
        port = free_port()
        procs.append(start_gunicorn(env=env, port=port, workers=args.workers, threads=args.threads))
        wait_port(port)
        pages = [(name.format(**ids), path.format(**ids)) for name, path in PAGES if args.only in path]
        print(
            f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), {args.listings} listings;"
            f" load: concurrency {args.concurrency} in {args.load_processes} processes, {args.seconds:.0f} s per"
            f" path per round, {args.rounds} rounds, each page alternated with {BASELINE}"
        )
        table: list[tuple[str, str, list[float], list[float], Run, Run]] = []
        with mp.Pool(args.load_processes) as pool:
            for identity, cookie_header in (("signed out", ""), ("signed in, cart", cookie)):
                for _, path in pages:  # warm: every worker's caches, templates and connections
                    load(pool, port, path, cookie_header, 1, args.concurrency)
                load(pool, port, BASELINE, cookie_header, 1, args.concurrency)
                for name, path in pages:
                    ratios: list[float] = []
                    p99s: list[float] = []
                    page_all, base_all = Run(0), Run(0)
                    for n in range(args.rounds):
                        order = [(path, page_all), (BASELINE, base_all)]
                        got = {}
                        for p, into in order if n % 2 == 0 else order[::-1]:
                            run = load(pool, port, p, cookie_header, args.seconds, args.concurrency)
                            got[p] = run
                            into.seconds += run.seconds
                            into.latencies.extend(run.latencies)
                            into.errors += run.errors
                            for group, used in run.cpu.items():
                                into.cpu[group] = into.cpu.get(group, 0.0) + used
                        ratios.append(got[path].rps / got[BASELINE].rps)
                        p99s.append(got[path].p99_ms() / got[BASELINE].p99_ms())
                    table.append((identity, name, ratios, p99s, page_all, base_all))
                    print(f"  measured {identity} {name}: {statistics.median(ratios):.2f}", flush=True)
        print()
        print(
            f"| page | who | pages/s vs one-row view: median (range) | goal >= {GOAL_RATIO} | p99 vs one-row p99:"
            f" median (range) | goal < {GOAL_P99} | pages/s | one-row/s | p99 ms | CPU ms/request (one-row) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for identity, name, ratios, p99s, page_all, base_all in table:
            ratio, p99 = statistics.median(ratios), statistics.median(p99s)
            errors = f" ({page_all.errors} errors)" if page_all.errors else ""
            print(
                f"| `{name}` | {identity} | {ratio:.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |"
                f" {'met' if ratio >= GOAL_RATIO else 'NOT met'} | {p99:.2f} ({min(p99s):.2f}-{max(p99s):.2f}) |"
                f" {'met' if p99 < GOAL_P99 else 'NOT met'} | {page_all.rps:.0f}{errors} | {base_all.rps:.0f} |"
                f" {page_all.p99_ms():.1f} | {page_all.cpu_ms():.2f} ({base_all.cpu_ms():.2f}) |"
            )
        procs[-1].terminate()
        procs[-1].wait(20)
        if args.checkouts:
            checkout(env, args.checkouts, args.profile_checkout)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(20)


def checkout(env: dict[str, str], count: int, profile: int = 0) -> None:
    """`benchmarks/checkout_timing.py` against a sandbox in a process of its own."""
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "stripe_sandbox", "--port", str(sandbox_port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        wait_port(sandbox_port)
        subprocess.run(
            [sys.executable, "benchmarks/checkout_timing.py", "--count", str(count), "--profile", str(profile)],
            cwd=ROOT,
            env={**env, "STRIPE_API_BASE": f"http://127.0.0.1:{sandbox_port}", "STRIPE_SECRET_KEY": "sk_test_bench"},
            check=True,
        )
    finally:
        sandbox.terminate()
        sandbox.wait(20)


if __name__ == "__main__":
    main()
