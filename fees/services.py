"""Writes of the fee policy (platform admins only, through the console); `fee_for` is re-exported for callers.

A change applies to payments from now on: checkouts quote the policy as it is, and live subscriptions
take the new percent from their next invoice through an outbox follow-up
(`subscriptions.follow_fee_policy`, named, not imported: the subscriptions app builds on this one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from fees.models import MAX_BASIS_POINTS, FeeRule
from fees.policy import FeeLine, FeeQuote, fee_for
from marketplace import money
from marketplace.errors import InvalidInput
from marketplace.outbox.services import outbox_add

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
    """Create or replace the one rule of this scope and currency. Past orders keep their snapshot;
    live subscriptions take the new percent from their next invoice."""
    code = money.normalise_currency(currency)
    if not 0 <= basis_points <= MAX_BASIS_POINTS:
        raise InvalidInput("The percentage must be between 0 % and 100 %.", code="invalid_basis_points")
    if fixed_amount < 0:
        raise InvalidInput("The fixed amount cannot be negative.", code="invalid_fixed_amount")
    if fixed_amount > money.MAXIMUM_CHARGE_AMOUNT:
        raise InvalidInput("The fixed amount is too large.", code="invalid_fixed_amount")
    sells_in = money.normalise_currency(seller.default_currency) if seller and seller.default_currency else code
    if seller is not None and sells_in != code:  # a shop sells in its own currency only: it would never apply
        raise InvalidInput(
            f"{seller.shop_name} sells in {sells_in.upper()}: a {code.upper()} rule for it would never apply.",
            code="currency_not_sold",
        )
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
    _follow(code, change=f"rule-{rule.pk}-saved-{rule.updated_at.timestamp()}")
    return rule


@transaction.atomic
def fee_rule_delete(*, rule: FeeRule) -> bool:
    """Delete the rule; False when it was gone already (a double click's second post, a second tab),
    and then nothing follows: the subscriptions follow the policy once. Two at once: the second's
    DELETE waits on the first's row lock and finds nothing."""
    pk = rule.pk
    _, deleted = FeeRule.objects.filter(pk=pk).delete()
    if not deleted.get(FeeRule._meta.label):
        return False
    _follow(rule.currency, change=f"rule-{pk}-deleted-{timezone.now().timestamp()}")
    return True


def _follow(currency: str, *, change: str) -> None:
    """Subscriptions in `currency` take the policy's percent from their next invoice, once the change commits."""
    outbox_add("subscriptions.follow_fee_policy", currency, change, key=f"fee-policy:{currency}:{change}")
