"""The one door to Stripe: the only module that imports `stripe`.

Why one door: every call must carry the same pinned API version, the same retry policy, the
`Stripe-Account` header for Connect calls and an idempotency key derived from our own row ids on
every call that creates or changes something, and every `StripeError` must become one of our own
errors. Doing that in one place is the only way it stays true. Tests patch nothing here: they point
`STRIPE_API_BASE` at the sandbox and talk HTTP through the real SDK.

This package is the gateway: `__init__` holds the client, keys, options and error translation;
one module per Stripe area (accounts, checkout, events, ...) holds the calls of that area. No
other package imports `stripe`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import stripe
from django.conf import settings

from marketplace.errors import CardDeclined, DomainError, InvalidInput, PaymentProviderError

logger = logging.getLogger(__name__)

StripeObject = stripe.StripeObject


@functools.cache
def _client_for(key: str, api_base: str | None, version: str | None, retries: int) -> stripe.StripeClient:
    base_addresses: dict[str, str] = {}
    if api_base:
        base_addresses = {"api": api_base, "files": api_base, "connect": api_base}
    return stripe.StripeClient(
        key,
        stripe_version=version,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        max_network_retries=retries,
    )


def client() -> stripe.StripeClient:
    """The StripeClient configured from settings (cached per configuration)."""
    return _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def api_base() -> str:
    """Where the SDK sends requests: the sandbox in the demo and tests, api.stripe.com otherwise."""
    return settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE


def api_version() -> str:
    return settings.STRIPE_API_VERSION or stripe.api_version


def idempotency_key(operation: str, *ids: object) -> str:
    """A key derived from our own ids: the same operation on the same rows is the same request.

    Stripe keeps keys for 24 hours and refuses a reused key with other parameters, so callers
    include a version (e.g. the order's version) in `ids` whenever the parameters may change.
    """
    raw = ":".join([operation, *(str(i) for i in ids)])
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
    except stripe.IdempotencyError as exc:
        raise DomainError(str(exc.user_message), code="idempotency_error") from exc
    except stripe.StripeError as exc:
        logger.error("stripe error: %s", exc)
        raise PaymentProviderError(
            "Our payment provider could not be reached. Nothing was charged; please try again in a moment."
        ) from exc


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
    """
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
