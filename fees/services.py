"""Writes of the fee policy (platform admins only, through the console); `fee_for` is re-exported for callers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from fees.models import MAX_BASIS_POINTS, FeeRule
from fees.policy import FeeLine, FeeQuote, fee_for
from marketplace import money
from marketplace.errors import InvalidInput

if TYPE_CHECKING:
    from catalog.models import Category
    from sellers.models import Seller

__all__ = ["FeeLine", "FeeQuote", "fee_for", "fee_rule_delete", "fee_rule_set"]


@transaction.atomic
def fee_rule_set(
    *,
    currency: str,
    basis_points: int,
    fixed_amount: int,
    seller: Seller | None = None,
    category: Category | None = None,
    actor: Any = None,
) -> FeeRule:
    """Create or replace the one rule of this scope and currency. Past orders keep their snapshot."""
    code = money.normalise_currency(currency)
    if not 0 <= basis_points <= MAX_BASIS_POINTS:
        raise InvalidInput("The percentage must be between 0 % and 100 %.", code="invalid_basis_points")
    if fixed_amount < 0:
        raise InvalidInput("The fixed amount cannot be negative.", code="invalid_fixed_amount")
    if fixed_amount > money.MAXIMUM_CHARGE_AMOUNT:
        raise InvalidInput("The fixed amount is too large.", code="invalid_fixed_amount")
    # Not a lock on a row that may not exist yet: two saves of a new rule at once (a double click,
    # two admins) both inserted, and the second hit the unique index, a 500. `update_or_create`
    # catches that and updates the row the first one made.
    rule, _ = FeeRule.objects.update_or_create(
        currency=code,
        seller=seller,
        category=category,
        defaults={
            "basis_points": basis_points,
            "fixed_amount": fixed_amount,
            "updated_by": actor if getattr(actor, "is_authenticated", False) else None,
        },
    )
    return rule


def fee_rule_delete(*, rule: FeeRule) -> None:
    rule.delete()
