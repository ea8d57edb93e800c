"""The application fee of one payment: computed once, never above the amount, split over lines exactly.

The rule, in minor units of the payment's currency:

1. Each line takes the most specific rule for (seller, its category, currency):
   seller+category > seller > category > platform default. With no rule at all for the currency,
   `FALLBACK_BASIS_POINTS` and no fixed part apply, so a new currency is never free by accident.
2. Percentage part = sum(line amount x line basis points) / 10,000, rounded **half up once** on the
   total (not per line), so 5 cents at 10 % is 1 cent, and ten lines do not accumulate ten roundings.
3. Fixed part: charged once per payment of one shop, i.e. per order (a payment for several shops is one
   order per shop, each with its own fee), the largest fixed amount among the lines' rules (with a single
   category, that is simply the winning rule's fixed amount).
4. Fee = min(percentage part + fixed part, amount): the seller is never charged more than the sale.
5. The fee is split over lines by largest remainder, in proportion to what each line contributes
   (its percentage part plus its share of the fixed part by amount), then capped at each line's amount with
   the excess moved to lines that still have room. The parts always add up to the fee.

Worked examples (tests/money/test_fees.py): 10,000 USD cents at 10 % + 30 -> 1,030; JPY 1,000 at 10 % + 0 -> 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from fees.models import FeeRule
from marketplace import money
from marketplace.errors import InvalidInput

if TYPE_CHECKING:
    from sellers.models import Seller

BASIS_POINTS_DENOMINATOR = 10_000
FALLBACK_BASIS_POINTS = 1_000


@dataclass(frozen=True)
class FeeLine:
    """One line of a payment: its amount (unit price x quantity) and the category of its listing."""

    amount: int
    currency: str
    category_id: int | None = None


@dataclass(frozen=True)
class AppliedRule:
    basis_points: int
    fixed_amount: int
    rule_id: int | None = None  # None: the built-in fallback
    scope: str = "Built-in fallback"


@dataclass(frozen=True)
class FeeQuoteLine:
    amount: int
    fee: int
    rule: AppliedRule


@dataclass(frozen=True)
class FeeQuote:
    """What the platform takes from one payment. Snapshot it on the order; never recompute later."""

    currency: str
    amount: int
    fee: int
    percentage_part: int
    fixed_part: int
    capped: bool
    lines: tuple[FeeQuoteLine, ...]

    @property
    def seller_net(self) -> int:
        return self.amount - self.fee


def compute_fee(*, currency: str, lines: Sequence[tuple[int, AppliedRule]]) -> FeeQuote:
    """Pure arithmetic of the policy (see the module docstring); `fee_for` feeds it the rules."""
    code = money.normalise_currency(currency)
    if not lines:
        raise InvalidInput("A payment needs at least one line.", code="no_lines")
    amounts = [amount for amount, _ in lines]
    if any(a <= 0 for a in amounts):
        raise InvalidInput("Every line amount must be positive.", code="invalid_amount")
    for _, rule in lines:
        if not 0 <= rule.basis_points <= BASIS_POINTS_DENOMINATOR or rule.fixed_amount < 0:
            raise InvalidInput("Fee rule out of range.", code="invalid_fee_rule")
    total = sum(amounts)
    weighted = sum(amount * rule.basis_points for amount, rule in lines)
    percentage_part = money.round_half_up_div(weighted, BASIS_POINTS_DENOMINATOR)
    fixed_part = max(rule.fixed_amount for _, rule in lines)
    uncapped = percentage_part + fixed_part
    fee = min(uncapped, total)
    parts = _split_fee(fee=fee, total=total, lines=lines, fixed_part=fixed_part)
    return FeeQuote(
        currency=code,
        amount=total,
        fee=fee,
        percentage_part=percentage_part,
        fixed_part=fixed_part,
        capped=uncapped > total,
        lines=tuple(
            FeeQuoteLine(amount=amount, fee=part, rule=rule) for (amount, rule), part in zip(lines, parts, strict=True)
        ),
    )


def _split_fee(*, fee: int, total: int, lines: Sequence[tuple[int, AppliedRule]], fixed_part: int) -> list[int]:
    amounts = [amount for amount, _ in lines]
    if fee == total:
        return list(amounts)
    # Line i contributes amount_i * bp_i / 10,000 + fixed * amount_i / total; scaled by 10,000 * total to stay integer.
    weights = [amount * (rule.basis_points * total + fixed_part * BASIS_POINTS_DENOMINATOR) for amount, rule in lines]
    if sum(weights) == 0:
        weights = list(amounts)
    return cap_parts(money.split_by_largest_remainder(fee, weights), caps=amounts)


def cap_parts(parts: list[int], *, caps: list[int]) -> list[int]:
    """Move any part above its cap to the parts still below theirs (by largest remainder on the room left).

    Needs sum(parts) <= sum(caps), which holds because the fee never exceeds the amount.
    """
    parts = list(parts)
    while True:
        excess = sum(max(0, p - c) for p, c in zip(parts, caps, strict=True))
        if excess == 0:
            return parts
        parts = [min(p, c) for p, c in zip(parts, caps, strict=True)]
        room = [c - p for p, c in zip(parts, caps, strict=True)]
        extra = money.split_by_largest_remainder(excess, room)
        parts = [p + e for p, e in zip(parts, extra, strict=True)]


def rules_for(*, seller_id: int | None, currency: str, category_ids: set[int | None]) -> dict[int | None, AppliedRule]:
    """The winning rule per category for this seller and currency (one query)."""
    code = money.normalise_currency(currency)
    wanted = {c for c in category_ids if c is not None}
    candidates = list(
        FeeRule.objects.filter(currency=code)
        .filter(Q(seller__isnull=True) | Q(seller_id=seller_id))
        .filter(Q(category__isnull=True) | Q(category_id__in=wanted))
    )
    out: dict[int | None, AppliedRule] = {}
    for category_id in category_ids:
        matching = [
            r
            for r in candidates
            if (r.seller_id is None or r.seller_id == seller_id)
            and (r.category_id is None or r.category_id == category_id)
        ]
        if matching:
            best = max(matching, key=lambda r: r.specificity)
            out[category_id] = AppliedRule(
                basis_points=best.basis_points, fixed_amount=best.fixed_amount, rule_id=best.pk, scope=best.scope_label
            )
        else:
            out[category_id] = AppliedRule(basis_points=FALLBACK_BASIS_POINTS, fixed_amount=0)
    return out


def fee_for(*, seller: Seller | int | None, lines: Sequence[FeeLine]) -> FeeQuote:
    """The application fee for one seller's payment (one checkout): call once, snapshot the quote.

    All lines must share one currency: a payment is in one currency.
    """
    if not lines:
        raise InvalidInput("A payment needs at least one line.", code="no_lines")
    currencies = {money.normalise_currency(line.currency) for line in lines}
    if len(currencies) != 1:
        raise InvalidInput("A payment is in one currency; these lines mix several.", code="mixed_currencies")
    currency = currencies.pop()
    seller_id: int | None = seller if seller is None or isinstance(seller, int) else seller.pk
    rules = rules_for(seller_id=seller_id, currency=currency, category_ids={line.category_id for line in lines})
    return compute_fee(currency=currency, lines=[(line.amount, rules[line.category_id]) for line in lines])
