"""The two intake endpoints. Parse, verify, store, answer: nothing else happens in the request.

Order matters: the body is read with a bound (a 20 MB body costs neither memory nor time), the
signature is checked over the raw bytes before any parsing, and 2xx is sent only after the row
is committed. A database that cannot be reached is a 503, so Stripe retries; it is never a 2xx.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.gateway import events as gateway_events
from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent

logger = logging.getLogger("marketplace.webhooks")

CHUNK = 64 * 1024


def max_body_bytes() -> int:
    """Stripe's events are a few KB, rarely a few hundred; 1 MiB leaves room and bounds memory."""
    return int(getattr(settings, "WEBHOOK_MAX_BODY_BYTES", 1024 * 1024))


class BodyTooLarge(Exception):
    pass


def read_bounded_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body, refused as soon as it exceeds `limit`: by Content-Length without reading,
    or while reading when the length is unknown (chunked) or lies."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = request.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _client_address(request: HttpRequest) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    remote = request.META.get("REMOTE_ADDR", "?")
    return f"{remote} (forwarded for {forwarded})" if forwarded else remote


def _refuse(request: HttpRequest, status: int, code: str, detail: str) -> JsonResponse:
    logger.warning("webhook refused %s from %s on %s: %s", code, _client_address(request), request.path, detail)
    return JsonResponse({"error": {"code": code, "message": detail}}, status=status)


def _intake(request: HttpRequest, *, source: str, secrets: list[str]) -> HttpResponse:
    try:
        body = read_bounded_body(request, max_body_bytes())
    except BodyTooLarge:
        return _refuse(request, 413, "too_large", f"body exceeds {max_body_bytes()} bytes")
    header = request.META.get("HTTP_STRIPE_SIGNATURE", "")
    try:
        gateway_events.verify_event(body, header, secrets)
    except gateway_events.WebhookSignatureError as exc:
        return _refuse(request, 400, "bad_signature", str(exc))
    try:
        payload = services.parse_event(body)
    except services.MalformedEvent as exc:
        return _refuse(request, 400, "malformed_event", str(exc))
    try:
        result = services.webhook_event_store(payload=payload, source=source, body=body, batched=True)
    except DatabaseError:
        logger.exception("webhook %s not stored: database unavailable", payload.get("id"))
        return JsonResponse({"error": {"code": "unavailable", "message": "event not stored, retry later"}}, status=503)
    return JsonResponse({"id": result.event_id, "duplicate": not result.created, "status": result.status})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Platform events, signed with one of STRIPE_WEBHOOK_SECRETS."""
    return _intake(request, source=WebhookEvent.Source.PLATFORM, secrets=settings.STRIPE_WEBHOOK_SECRETS)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> HttpResponse:
    """Events of connected accounts (they carry `account`), signed with STRIPE_CONNECT_WEBHOOK_SECRETS."""
    return _intake(request, source=WebhookEvent.Source.CONNECT, secrets=settings.STRIPE_CONNECT_WEBHOOK_SECRETS)
