"""Checkout creation's time outside Stripe's call, for `benchmarks/bench_pages.py` (which starts the
sandbox and sets the environment: DJANGO_SETTINGS_MODULE, DATABASE_URL, STRIPE_API_BASE).

A seller onboarded on the sandbox, and `--count` returning buyers (their Stripe Customer already
made), each with two of the seller's listings in a cart. Each buyer posts `/api/v1/checkout` once
through Django's test client in this one process and thread: the whole request (middleware, the API,
checkout, one Checkout Session created at Stripe) is timed, and so is the time spent inside the Stripe
SDK's HTTP calls (its `RequestsClient.request`, wrapped here to time it, nothing else). What is left is
ours. The SQL statements of each checkout are counted too, by an execute wrapper: Django's query
capture turns on its debug cursor, which formats each statement's text and so added to the time
measured (`SHOW_SQL=1` prints one checkout's statements that way, outside the figures).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_pages_settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
import stripe  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalog.models import Cart, CartItem, Category, Listing, ListingStatus  # noqa: E402
from marketplace.models import User  # noqa: E402
from orders.services.checkout import buyer_customer_ensure  # noqa: E402
from sellers import services as seller_services  # noqa: E402
from sellers.models import Seller  # noqa: E402

GOAL_P95_MS = 30.0
in_stripe = [0.0]
_request = stripe.RequestsClient.request


def _timed_request(self: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return _request(self, *args, **kwargs)
    finally:
        in_stripe[0] += time.perf_counter() - started


stripe.RequestsClient.request = _timed_request  # type: ignore[method-assign]


def onboarded_seller() -> Seller:
    from django.conf import settings

    user = User.objects.create_user(email="bench-checkout-seller@example.com", password=None)
    seller = Seller.objects.create(user=user, shop_name="Checkout bench", country="US", default_currency="usd")
    link = seller_services.seller_onboarding_link_create(
        seller=seller, refresh_url="http://127.0.0.1/refresh", return_url="http://127.0.0.1/return"
    )
    token = link.url.rstrip("/").rsplit("/", 1)[-1]
    url = f"{settings.STRIPE_API_BASE}/_sandbox/account_links/{token}/complete"
    requests.post(url, json={}, timeout=10).raise_for_status()
    seller.refresh_from_db()
    return seller_services.seller_refresh_from_stripe(seller=seller)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's N slowest functions (cumulative)")
    args = parser.parse_args()
    seller = onboarded_seller()
    category = Category.objects.first() or Category.objects.create(name="Bench", slug="bench")
    listings = [
        Listing.objects.create(
            seller=seller,
            category=category,
            title=f"Checkout bench item {i}",
            price=1_200 + i,
            currency="usd",
            stock=1_000_000,
            status=ListingStatus.PUBLISHED,
        )
        for i in range(2)
    ]
    warm = 10
    buyers = []
    for i in range(args.count + warm):
        buyer = User.objects.create_user(email=f"bench-checkout-buyer{i}@example.com", password=None)
        buyer_customer_ensure(user=buyer)  # a returning buyer: the Customer exists
        cart = Cart.objects.create(user=buyer)
        for listing in listings:
            CartItem.objects.create(cart=cart, listing=listing, quantity=1 + i % 2)
        buyers.append(buyer)
    totals: list[float] = []
    ours: list[float] = []
    queries: list[int] = []
    cpus: list[float] = []
    profile = cProfile.Profile() if args.profile else None
    client = Client(HTTP_HOST="127.0.0.1")  # one client: its handler loads the middleware once, as a server does
    statements = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    for i, buyer in enumerate(buyers):
        client.force_login(buyer)
        in_stripe[0] = 0.0
        statements[0] = 0
        # The last warm-up checkout, if asked, is logged the way Django's tests capture queries.
        show_sql = bool(os.environ.get("SHOW_SQL")) and i == warm - 1
        with (
            CaptureQueriesContext(connection) if show_sql else contextlib.nullcontext() as captured,
            connection.execute_wrapper(count),
        ):
            if profile and i >= warm:
                profile.enable()
            started, cpu_started = time.perf_counter(), time.thread_time()
            response = client.post(
                "/api/v1/checkout", {"seller_id": seller.pk, "currency": "usd"}, content_type="application/json"
            )
            elapsed = time.perf_counter() - started
            cpu = time.thread_time() - cpu_started
            if profile:
                profile.disable()
        if response.status_code != 201:
            raise SystemExit(f"checkout answered {response.status_code}: {response.content[:300]!r}")
        if captured is not None:
            print(f"{statements[0]} statements, and as logged with BEGIN and COMMIT:")
            for query in captured.captured_queries:
                print(query["time"], query["sql"][:230])
        if i >= warm:
            totals.append(elapsed * 1000)
            ours.append((elapsed - in_stripe[0]) * 1000)
            queries.append(statements[0])
            cpus.append(cpu * 1000)

    if profile:
        if os.environ.get("PROFILE_OUT"):  # a file for pstats: callers and callees
            profile.dump_stats(os.environ["PROFILE_OUT"])
        pstats.Stats(profile).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(args.profile)

    def q(values: list[float], k: int) -> float:
        return statistics.quantiles(values, n=100)[k - 1]

    p95 = q(ours, 95)
    print(
        f"checkout (POST /api/v1/checkout, returning buyer, {len(ours)} checkouts, one process):"
        f" in all p50 {q(totals, 50):.1f} ms, p95 {q(totals, 95):.1f} ms;"
        f" outside Stripe's call p50 {q(ours, 50):.1f} ms, p95 {p95:.1f} ms"
        f" (goal p95 < {GOAL_P95_MS:.0f} ms: {'met' if p95 < GOAL_P95_MS else 'NOT met'});"
        f" SQL statements per checkout (BEGIN and COMMIT aside): {min(queries)}-{max(queries)};"
        f" CPU of this process per checkout (Stripe's call included) p50 {q(cpus, 50):.1f} ms, p95 {q(cpus, 95):.1f} ms"
    )


if __name__ == "__main__":
    main()
