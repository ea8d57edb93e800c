"""Where Stripe sends the seller back: absolute URLs of our return and refresh pages."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from sellers.models import Seller


def onboarding_urls(request: HttpRequest, seller: Seller) -> tuple[str, str]:
    """(refresh_url, return_url) for the seller's account links, on the host the seller is using."""
    refresh = request.build_absolute_uri(reverse("sell_onboarding_refresh", args=[seller.pk]))
    back = request.build_absolute_uri(reverse("sell_onboarding_return", args=[seller.pk]))
    return refresh, back
