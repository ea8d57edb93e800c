"""Start-up check: the Stripe API version we pin is the one the installed SDK is typed for.

Why: Stripe renders every object in the API version of the request (and every webhook in the
version of its endpoint). The `stripe` package's types, and ours in `gateway.types` that follow
them, describe one version: the package's `api_version`. A setting that names another version, or
an SDK upgraded underneath the setting, would have the app read shapes it was not written for, so
Django refuses to start (`runserver`, `migrate`, `check`) until the two agree.
"""

from __future__ import annotations

from typing import Any

import stripe
from django.conf import settings
from django.core.checks import CheckMessage, Error

API_VERSION_MISMATCH = "marketplace.E001"


def stripe_api_version_check(*args: Any, **kwargs: Any) -> list[CheckMessage]:
    configured = settings.STRIPE_API_VERSION
    if configured == stripe.api_version:
        return []
    return [
        Error(
            f"STRIPE_API_VERSION is {configured!r}, but the installed stripe package ({stripe.VERSION}) "
            f"is typed for the Stripe API version {stripe.api_version!r}.",
            hint=(
                "Set STRIPE_API_VERSION to the SDK's version, or install the stripe release typed for "
                f"{configured!r}. Moving to another version: read Stripe's upgrade notes, check "
                "marketplace/gateway/types.py against them, then change the setting, the SDK and the "
                "webhook endpoints' API version together."
            ),
            id=API_VERSION_MISMATCH,
        )
    ]
