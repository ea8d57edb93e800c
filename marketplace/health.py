"""`/healthz`: what a load balancer and an operator need to know in one request.

503 only when the database fails: nothing works without it. The broker and Stripe are reported,
and make the status "degraded", but answer 200: with either down the site still serves its pages
(the outbox and the sweepers catch up on the broker; checkout says Stripe is unreachable), and a
load balancer that pulled every web node for it would turn a partial outage into a full one.

Anyone may ask (a load balancer sends no cookie), so the answer is cheap and says little: Stripe is
read at most once per `HEALTHZ_STRIPE_PROBE_SECONDS` per process (each read spends the platform's
Stripe rate limit, and a flood of requests here would spend it all), and only a platform admin to
whom the console opens (`middleware.console_open_to`) sees the details (database vendor, broker
mode, Stripe's address, error names, timings); others see each check's `ok`.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from marketplace import gateway

PROBE_TIMEOUT_S = 1.0
STRIPE_PROBE_TIMEOUT_S = 2.0
STRIPE_SLOW_MS = 1000  # a Stripe that answers the probe slower than this is reported slow


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}


def _check_tcp(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return {"ok": True}
    except OSError as exc:
        return {"ok": False, "error": exc.__class__.__name__}


def _check_broker() -> dict[str, Any]:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager"}
    url = settings.CELERY_BROKER_URL
    parts = urlsplit(url)
    default_port = {"redis": 6379, "rediss": 6380, "amqp": 5672}.get(parts.scheme, 6379)
    result = _check_tcp(f"tcp://{parts.hostname or '127.0.0.1'}:{parts.port or default_port}")
    return {**result, "mode": "broker"}


_stripe_probe_lock = threading.Lock()
_stripe_probe: tuple[float, dict[str, Any]] | None = None  # (when, result) of this process's last read


def _check_stripe() -> dict[str, Any]:
    """One real request (`gateway.ping`): a hung Stripe accepts TCP connections and never answers.
    Its result is reused for `HEALTHZ_STRIPE_PROBE_SECONDS`; while one request reads Stripe, the
    others answer with the last result rather than queue behind it."""
    global _stripe_probe
    ttl = float(getattr(settings, "HEALTHZ_STRIPE_PROBE_SECONDS", 10))
    last = _stripe_probe
    if last is None:
        _stripe_probe_lock.acquire()
    elif time.monotonic() - last[0] < ttl or not _stripe_probe_lock.acquire(blocking=False):
        return last[1]
    try:
        result = gateway.ping(timeout=STRIPE_PROBE_TIMEOUT_S)
        if result["ok"] and result["ms"] > STRIPE_SLOW_MS:
            result = {**result, "ok": False, "error": "slow"}
        result = {**result, "api_base": gateway.api_base()}
        _stripe_probe = (time.monotonic(), result)
        return result
    finally:
        _stripe_probe_lock.release()


def _shows_details(request: HttpRequest) -> bool:
    """Only to whom the console opens: with the authenticator app required, an admin's password
    alone showed the database vendor, the broker's mode, Stripe's address and the errors."""
    from marketplace.middleware import console_open_to

    try:
        return console_open_to(request)
    except Exception:  # noqa: BLE001 - the database may be what is down: then no details, and no 500
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks: dict[str, dict[str, Any]] = {
        "database": _check_database(),
        "broker": _check_broker(),
        "stripe": _check_stripe(),
    }
    ok = all(c["ok"] for c in checks.values())
    status = 200 if checks["database"]["ok"] else 503
    if not _shows_details(request):
        brief = {name: {"ok": check["ok"]} for name, check in checks.items()}
        return JsonResponse({"status": "ok" if ok else "degraded", "checks": brief}, status=status)
    body = {"status": "ok" if ok else "degraded", "checks": checks, "ms": round((time.monotonic() - started) * 1000)}
    return JsonResponse(body, status=status)
