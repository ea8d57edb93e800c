"""A seller is a user with a shop and, behind it, a Stripe Connect Express account."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Seller(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seller")
    shop_name = models.CharField(max_length=120)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US, JP")
    default_currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217, e.g. usd, jpy")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.shop_name
