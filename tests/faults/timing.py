"""How long one Stripe call of the gateway can take when Stripe hangs: the bound the fault tests hold
the pages to, and that the settings test keeps under gunicorn's worker timeout."""

from __future__ import annotations

import stripe
from django.conf import settings


def stripe_call_worst_case_seconds() -> float:
    """Every attempt (`STRIPE_MAX_NETWORK_RETRIES` + 1, as `gateway.client()` is built) waits out its
    connect and read timeouts, plus the SDK's longest backoffs between attempts. (The read timeout
    bounds each wait for bytes, so a Stripe that trickles a response byte by byte could exceed it;
    a hanging or unreachable one cannot.)"""
    retries = int(settings.STRIPE_MAX_NETWORK_RETRIES)
    attempt = float(settings.STRIPE_CONNECT_TIMEOUT) + float(settings.STRIPE_READ_TIMEOUT)
    http = stripe.HTTPClient
    backoff = sum(min(http.INITIAL_DELAY * 2 ** (n - 1), http.MAX_DELAY) for n in range(1, retries + 1))
    return float((retries + 1) * attempt + backoff)
