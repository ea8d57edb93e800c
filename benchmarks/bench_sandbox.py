"""How many API requests per second the sandbox serves (target: >= 300/s).

N threads each create a customer and retrieve it, through the real SDK, for a few seconds against an embedded
sandbox. Prints the figures; not a test. Usage: ``python benchmarks/bench_sandbox.py [--threads 8] [--seconds 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import stripe

from stripe_sandbox import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with Sandbox() as sb:
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def worker(n: int) -> None:
            nonlocal errors
            client = stripe.StripeClient(
                "sk_test_bench",
                base_addresses={"api": sb.url, "files": sb.url, "connect": sb.url},
                max_network_retries=0,
            )
            mine: list[float] = []
            failed = 0
            i = 0
            while time.monotonic() < stop:
                i += 1
                try:
                    t0 = time.perf_counter()
                    cus = client.v1.customers.create(params={"email": f"w{n}-{i}@example.com"})
                    t1 = time.perf_counter()
                    client.v1.customers.retrieve(cus.id)
                    t2 = time.perf_counter()
                    mine += [t1 - t0, t2 - t1]
                except stripe.StripeError:
                    failed += 1
            with lock:
                latencies.extend(mine)
                errors += failed

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    total = len(latencies)
    rate = total / elapsed
    cuts = statistics.quantiles(latencies, n=100) if total > 1 else [0.0] * 99
    print(f"stripe_sandbox benchmark: {args.threads} threads, {elapsed:.1f} s")
    print(f"requests: {total}  errors: {errors}  throughput: {rate:.0f} req/s (target >= 300)")
    print(f"latency ms: p50 {cuts[49] * 1000:.1f}  p95 {cuts[94] * 1000:.1f}  p99 {cuts[98] * 1000:.1f}")
    print("PASS" if rate >= 300 and not errors else "BELOW TARGET")


if __name__ == "__main__":
    main()
