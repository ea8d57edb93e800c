"""Reads of the fee policy for the console."""

from __future__ import annotations

from fees.models import FeeRule
from fees.policy import AppliedRule, rules_for


def fee_rules() -> list[FeeRule]:
    """All rules, platform defaults first, with the names the console shows (one query)."""
    rules = list(FeeRule.objects.select_related("seller", "category"))
    return sorted(rules, key=lambda r: (r.currency, r.specificity, str(r.seller or ""), str(r.category or "")))


def fee_rule_applying(*, currency: str, seller_id: int | None, category_id: int | None) -> AppliedRule:
    """The rule a sale of this seller (None: any seller without a rule) in this category (None: one
    no category rule covers) pays now, the built-in fallback included: what the console names after
    a rule is deleted, read with the policy's own resolution rather than guessed."""
    return rules_for(seller_id=seller_id, currency=currency, category_ids={category_id})[category_id]
