"""Reads of the fee policy for the console."""

from __future__ import annotations

from fees.models import FeeRule


def fee_rules() -> list[FeeRule]:
    """All rules, platform defaults first, with the names the console shows (one query)."""
    rules = list(FeeRule.objects.select_related("seller", "category"))
    return sorted(rules, key=lambda r: (r.currency, r.specificity, str(r.seller or ""), str(r.category or "")))
