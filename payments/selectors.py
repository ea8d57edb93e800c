"""Reads of payments and refunds."""

from __future__ import annotations

from django.db.models import QuerySet

from payments.models import Refund


def refunds_needing_attention() -> QuerySet[Refund]:
    """Refunds an admin must look at, newest first: made in the Stripe Dashboard without taking the
    seller's share back (the platform paid), or failed after the seller's share was taken."""
    return Refund.objects.exclude(attention="").select_related("order__seller", "payment").order_by("-created_at")
