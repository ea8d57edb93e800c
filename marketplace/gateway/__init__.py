"""The one door to Stripe: the only module that imports `stripe`.

Why one door: every call must carry the same pinned API version, the same retry policy, the
`Stripe-Account` header for Connect calls and an idempotency key derived from our own row ids on
every call that creates or changes something, and every `StripeError` must become one of our own
errors. Doing that in one place is the only way it stays true. Tests patch nothing here: they point
`STRIPE_API_BASE` at the sandbox and talk HTTP through the real SDK.

This package is the gateway: `__init__` holds the client, keys, options and error translation;
`types` the typed objects every call returns (and webhook handlers parse `data.object` into); one
module per Stripe area (accounts, balances, checkout, events) holds the calls of that area. No
other package imports `stripe`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import requests
import stripe
import urllib3
from django.conf import settings

from marketplace.errors import CardDeclined, InvalidInput, PaymentProviderError, PaymentProviderNoAnswer

logger = logging.getLogger(__name__)

# What a person reads when Stripe could not be reached (or timed out). It says nothing about money:
# after a timeout nobody knows whether Stripe did it, so only the caller, who knows what the call
# was for, may add "nothing was charged" (a checkout that never gave out its payment page).
UNREACHABLE = "Our payment provider could not be reached; please try again in a moment."
# What Stripe's 401 and 403 mean: it was reached and said no, and trying again will not change that.
KEY_REFUSED = "Our payment provider refused the platform's API key: an administrator must check STRIPE_SECRET_KEY."
# A key reused with other parameters: Stripe was reached and made nothing; a fresh attempt has a new key.
IDEMPOTENCY_REFUSED = (
    "Our payment provider took this for a repeat of an earlier request with other details, and did nothing. "
    "Reload the page and try again."
)
ACCESS_REFUSED = (
    "Our payment provider refused access: the platform's API key lacks the permission, or the seller's "
    "Stripe account no longer lets the platform act for it."
)


@functools.cache
def _client_for(
    key: str, api_base: str | None, version: str, retries: int, timeouts: tuple[float, float]
) -> stripe.StripeClient:
    base_addresses: dict[str, str] = {}
    if api_base:
        base_addresses = {"api": api_base, "files": api_base, "connect": api_base}
    return stripe.StripeClient(
        key,
        stripe_version=version,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeouts),
    )


def client() -> stripe.StripeClient:
    """The StripeClient configured from settings (cached per configuration).

    Its HTTP client has connect and read timeouts (`STRIPE_CONNECT_TIMEOUT`, `STRIPE_READ_TIMEOUT`):
    the SDK's own default waits 80 s, so a hanging Stripe held a web worker until gunicorn killed it
    mid-checkout, leaving the order pending with its stock reserved. What one call can take at most
    (every retry waiting out both timeouts) must stay under the web worker's timeout
    (`tests/marketplace/test_settings.py` checks it).
    """
    return _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        (float(settings.STRIPE_CONNECT_TIMEOUT), float(settings.STRIPE_READ_TIMEOUT)),
    )


def ping(*, timeout: float) -> dict[str, Any]:
    """Can Stripe answer right now, and how fast? One cheap authenticated read (the platform's
    balance) on a client of its own, without retries and with `timeout` for connect and read.

    For `/healthz`: a TCP connect says nothing about a Stripe that accepts connections and then
    hangs, which is how a hanging Stripe looked healthy while checkouts timed out.
    """
    probe = _client_for(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_API_VERSION, 0, (timeout, timeout)
    )
    started = time.monotonic()
    try:
        probe.v1.balance.retrieve()
    except stripe.APIConnectionError as exc:
        cause = exc.__cause__
        return {"ok": False, "error": cause.__class__.__name__ if cause else "APIConnectionError"}
    except stripe.StripeError as exc:
        return {"ok": False, "error": exc.__class__.__name__, "http_status": exc.http_status}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000)}


def api_base() -> str:
    """Where the SDK sends requests: the sandbox in the demo and tests, api.stripe.com otherwise."""
    return settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE


def api_version() -> str:
    """The Stripe API version we pin (`STRIPE_API_VERSION`, checked at start-up against the SDK)."""
    return str(settings.STRIPE_API_VERSION)


def idempotency_key(operation: str, *ids: object, params: Mapping[str, Any] | None = None) -> str:
    """A key derived from what the request really is: the operation, our own ids, and its parameters.

    Same request, same key: a retry (the SDK's, or the buyer's after a timeout) returns what the
    first attempt made instead of making a second one. Different parameters, different key: Stripe
    keeps keys for 24 hours and refuses a reused key with other parameters ("Keys for idempotent
    requests can only be used with the same parameters"), which is what a retried checkout met
    when only its `expires_at` had changed. The parameters enter as a hash of their canonical JSON.
    """
    canonical = json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    raw = ":".join([operation, *(str(i) for i in ids), digest])
    if len(raw) <= 200:
        return raw
    return f"{operation}:{hashlib.sha256(raw.encode()).hexdigest()}"


def request_options(*, idempotency_key: str | None = None, account: str | None = None) -> dict[str, str]:
    """Per-request options: the idempotency key and, for Connect calls, the connected account."""
    options: dict[str, str] = {}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    if account:
        options["stripe_account"] = account
    return options


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn `stripe.StripeError` into our domain errors, so no caller ever sees the SDK's types."""
    try:
        yield
    except stripe.CardError as exc:
        raise CardDeclined(exc.user_message or "Your card was declined.", code=exc.code or "card_declined") from exc
    except stripe.InvalidRequestError as exc:
        logger.warning("stripe invalid request: %s (param=%s)", exc.user_message, getattr(exc, "param", None))
        raise InvalidInput(
            exc.user_message or "Stripe refused the request.", code=exc.code or "invalid_request"
        ) from exc
    except stripe.AuthenticationError as exc:
        logger.error("stripe refused the API key: %s", exc)
        raise PaymentProviderError(KEY_REFUSED, code="stripe_key_refused") from exc
    except stripe.PermissionError as exc:
        logger.error("stripe refused access: %s", exc)
        raise PaymentProviderError(ACCESS_REFUSED, code="stripe_access_refused") from exc
    except stripe.IdempotencyError as exc:
        # Our keys hash the parameters, so this is a bug of ours; Stripe's sentence is for developers.
        logger.error("stripe refused an idempotency key: %s", exc)
        raise PaymentProviderError(IDEMPOTENCY_REFUSED, code="idempotency_error") from exc
    except stripe.APIConnectionError as exc:
        logger.error("stripe unreachable: %s", exc)
        raise (PaymentProviderNoAnswer if _answer_lost(exc) else PaymentProviderError)(UNREACHABLE) from exc
    except stripe.StripeError as exc:
        logger.error("stripe error: %s", exc)
        raise PaymentProviderError(UNREACHABLE) from exc


def _answer_lost(exc: stripe.APIConnectionError) -> bool:
    """Did the request (its last attempt) go out, its answer lost? Not when no connection was made:
    a connect timeout, or a refused or unresolved address (urllib3's `NewConnectionError`)."""
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(cause, requests.exceptions.ReadTimeout | requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(cause, requests.exceptions.ConnectionError):
        reason = getattr(cause.args[0], "reason", None) if cause.args else None
        return not isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def call(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call with error translation."""
    with translate_errors():
        return fn(*args, **kwargs)


# --- Webhooks -------------------------------------------------------------------------------------


class WebhookSignatureError(Exception):
    """The Stripe-Signature header does not prove the body came from Stripe."""


def verify_webhook_signature(payload: bytes, header: str, secrets: Sequence[str], *, tolerance: int = 300) -> None:
    """Check `header` against every current secret (rotation keeps two valid at once).

    The SDK only refuses timestamps older than `tolerance`; the caller checks the future side.
    Each secret is read without the blanks around it: settings list them comma-separated, and
    `whsec_new, whsec_old` kept " whsec_old", which matched nothing, so during a rotation every event
    still signed with the old secret was refused. A blank entry (a trailing comma) is no secret.
    """
    secrets = [secret.strip() for secret in secrets if secret and secret.strip()]
    if not secrets:
        raise WebhookSignatureError("no webhook secret is configured")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookSignatureError("body is not UTF-8") from exc
    last: Exception | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
            return
        except stripe.SignatureVerificationError as exc:
            last = exc
    raise WebhookSignatureError(str(last))
