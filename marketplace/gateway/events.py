"""Stripe events: webhook signatures, the key's mode, and the Events API for the catch-up job.

Why here: verifying a signature and listing events are Stripe calls like any other, so they go
through the one door. The intake view calls `verify_event`, never the SDK.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings

from marketplace.gateway import (
    WebhookSignatureError,
    client,
    request_options,
    translate_errors,
    verify_webhook_signature,
)

__all__ = [
    "WebhookSignatureError",
    "key_is_live",
    "list_events",
    "verify_event",
]

# Stripe's own default tolerance, and the one the issue asks for on both sides of "now".
DEFAULT_TOLERANCE = 300


def key_is_live(key: str | None = None) -> bool:
    """Our mode comes from the secret key: `sk_live_`/`rk_live_` is live, anything else is test.

    An event whose `livemode` differs was sent by an endpoint of the other mode (a test
    endpoint pointed at production, say) and must not move anything here.
    """
    key = settings.STRIPE_SECRET_KEY if key is None else key
    return key.startswith(("sk_live_", "rk_live_"))


def _signature_timestamp(header: str) -> int:
    """The `t=` of a Stripe-Signature header; a missing or garbled one is a signature error."""
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key == "t":
            try:
                return int(value)
            except ValueError as exc:
                raise WebhookSignatureError("timestamp is not a number") from exc
    raise WebhookSignatureError("no timestamp in header")


def verify_event(
    payload: bytes,
    header: str,
    secrets: Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Prove that `payload` was signed by Stripe within `tolerance` seconds of now, on either side.

    The SDK refuses signatures that are too old but accepts any future timestamp; a signed body
    dated in the future is as suspicious as a stale one (a leaked signature with a skewed clock),
    so it is refused here. Any of `secrets` may match, which is how a secret is rotated.
    """
    if not header:
        raise WebhookSignatureError("missing Stripe-Signature header")
    timestamp = _signature_timestamp(header)
    current = time.time() if now is None else now
    if timestamp > current + tolerance:
        raise WebhookSignatureError("timestamp is in the future")
    verify_webhook_signature(payload, header, secrets, tolerance=tolerance)


def list_events(*, created_gte: int, account: str | None = None) -> Iterator[dict[str, Any]]:
    """Every event Stripe still keeps (30 days) created at or after `created_gte`, as plain dicts.

    For a connected account's events pass its id: Stripe lists them under the `Stripe-Account`
    header. Read-only, so no idempotency key.
    """
    params: dict[str, Any] = {"created": {"gte": created_gte}, "limit": 100}
    with translate_errors():
        page = client().v1.events.list(params, request_options(account=account))  # type: ignore[arg-type]
        for event in page.auto_paging_iter():
            yield event.to_dict(recursive=True, for_json=True)
