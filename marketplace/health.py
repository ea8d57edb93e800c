"""`/healthz`: what a load balancer and an operator need to know in one request."""

from __future__ import annotations

import socket
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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks: dict[str, dict[str, Any]] = {"database": _check_database(), "broker": _check_broker()}
    if settings.STRIPE_API_BASE:
        checks["stripe"] = {**_check_tcp(settings.STRIPE_API_BASE), "api_base": gateway.api_base()}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ok else "degraded", "checks": checks, "ms": round((time.monotonic() - started) * 1000)}
    return JsonResponse(body, status=200 if ok else 503)
