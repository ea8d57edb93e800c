"""The fee policy: worked examples in USD and JPY, the most specific rule wins, and the arithmetic's laws."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fees.models import FeeRule
from fees.policy import AppliedRule, FeeLine, compute_fee
from fees.services import fee_for, fee_rule_set
from marketplace.errors import InvalidInput
from tests.catalog.factories import CategoryFactory, SellerFactory, jpy_seller

# --- Worked examples -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_usd_worked_example_10_percent_plus_30_cents() -> None:
    seller = SellerFactory()
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=30)
    quote = fee_for(seller=seller, lines=[FeeLine(amount=10_000, currency="usd")])
    assert (quote.fee, quote.percentage_part, quote.fixed_part) == (1_030, 1_000, 30)
    assert quote.seller_net == 8_970


@pytest.mark.django_db
def test_jpy_worked_example_10_percent_plus_nothing() -> None:
    seller = jpy_seller()
    fee_rule_set(currency="jpy", basis_points=1000, fixed_amount=0)
    quote = fee_for(seller=seller, lines=[FeeLine(amount=1_000, currency="jpy")])
    assert quote.fee == 100
    assert quote.currency == "jpy"
    assert quote.seller_net == 900


def test_percentage_is_rounded_half_up_once_on_the_total() -> None:
    ten_percent = AppliedRule(basis_points=1000, fixed_amount=0)
    assert compute_fee(currency="usd", lines=[(5, ten_percent)]).fee == 1  # 0.5 cent -> 1
    assert compute_fee(currency="usd", lines=[(4, ten_percent)]).fee == 0  # 0.4 cent -> 0
    # Three lines of 5 cents: 1.5 cents on the total -> 2, not 3 (per-line rounding would say 3).
    quote = compute_fee(currency="usd", lines=[(5, ten_percent)] * 3)
    assert quote.fee == 2
    assert sum(line.fee for line in quote.lines) == 2
    # JPY: ¥1,005 at 2.9 % = ¥29.145 -> ¥29; ¥1,500 at 2.9 % = ¥43.5 -> ¥44.
    rate = AppliedRule(basis_points=290, fixed_amount=0)
    assert compute_fee(currency="jpy", lines=[(1_005, rate)]).fee == 29
    assert compute_fee(currency="jpy", lines=[(1_500, rate)]).fee == 44


def test_fee_never_exceeds_the_amount() -> None:
    quote = compute_fee(currency="usd", lines=[(50, AppliedRule(basis_points=1000, fixed_amount=30))] * 1)
    assert quote.fee == 35
    quote = compute_fee(currency="usd", lines=[(20, AppliedRule(basis_points=1000, fixed_amount=30))])
    assert quote.fee == 20 and quote.capped and quote.seller_net == 0


def test_fee_split_over_lines_adds_up_usd_two_sellers_worth_of_lines() -> None:
    rule = AppliedRule(basis_points=1000, fixed_amount=30)
    quote = compute_fee(currency="usd", lines=[(2_500, rule), (2_500, rule), (5_000, rule)])
    assert quote.fee == 1_030
    assert [line.fee for line in quote.lines] == [258, 257, 515]


# --- Most specific rule wins ---------------------------------------------------------------------


@pytest.mark.django_db
def test_most_specific_rule_wins() -> None:
    seller, other = SellerFactory(), SellerFactory()
    books, art = CategoryFactory(slug="books"), CategoryFactory(slug="art")
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=30)  # platform default
    fee_rule_set(currency="usd", basis_points=800, fixed_amount=20, category=books)
    fee_rule_set(currency="usd", basis_points=500, fixed_amount=10, seller=seller)
    fee_rule_set(currency="usd", basis_points=200, fixed_amount=0, seller=seller, category=books)

    def fee(s: object, category_id: int | None) -> int:
        return fee_for(seller=s, lines=[FeeLine(amount=10_000, currency="usd", category_id=category_id)]).fee

    assert fee(seller, books.pk) == 200  # seller + category
    assert fee(seller, art.pk) == 510  # seller
    assert fee(other, books.pk) == 820  # category
    assert fee(other, art.pk) == 1_030  # platform default
    # A JPY payment ignores the USD rules: the JPY default applies (seeded at 10 % + ¥0).
    assert fee_for(seller=seller, lines=[FeeLine(amount=1_000, currency="jpy", category_id=books.pk)]).fee == 100


@pytest.mark.django_db
def test_mixed_categories_take_each_lines_rule_and_the_fixed_part_once() -> None:
    seller = SellerFactory()
    books, art = CategoryFactory(slug="books"), CategoryFactory(slug="art")
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=30)
    fee_rule_set(currency="usd", basis_points=500, fixed_amount=10, category=books)
    quote = fee_for(
        seller=seller,
        lines=[
            FeeLine(amount=10_000, currency="usd", category_id=books.pk),
            FeeLine(amount=10_000, currency="usd", category_id=art.pk),
        ],
    )
    assert quote.percentage_part == 500 + 1_000
    assert quote.fixed_part == 30  # the largest fixed part among the lines' rules, once
    assert quote.fee == 1_530
    # Each line: its own percentage part plus half of the fixed part (equal amounts).
    assert [line.fee for line in quote.lines] == [515, 1_015]


@pytest.mark.django_db
def test_a_currency_without_any_rule_falls_back_to_10_percent() -> None:
    FeeRule.objects.filter(currency="chf").delete()
    quote = fee_for(seller=SellerFactory(), lines=[FeeLine(amount=1_000, currency="chf")])
    assert quote.fee == 100
    assert quote.lines[0].rule.rule_id is None


@pytest.mark.django_db
def test_rule_set_replaces_the_rule_of_its_scope() -> None:
    fee_rule_set(currency="usd", basis_points=1000, fixed_amount=30)
    fee_rule_set(currency="usd", basis_points=900, fixed_amount=25)
    assert FeeRule.objects.filter(currency="usd", seller=None, category=None).count() == 1
    with pytest.raises(InvalidInput):
        fee_rule_set(currency="usd", basis_points=10_001, fixed_amount=0)
    with pytest.raises(InvalidInput):
        fee_rule_set(currency="usd", basis_points=100, fixed_amount=-1)


def test_a_payment_is_in_one_currency() -> None:
    with pytest.raises(InvalidInput, match="one currency"):
        fee_for(seller=None, lines=[FeeLine(amount=100, currency="usd"), FeeLine(amount=100, currency="jpy")])


# --- Properties ----------------------------------------------------------------------------------

rules = st.builds(
    AppliedRule,
    basis_points=st.integers(min_value=0, max_value=10_000),
    fixed_amount=st.integers(min_value=0, max_value=5_000),
)
lines = st.lists(st.tuples(st.integers(min_value=1, max_value=99_999_999), rules), min_size=1, max_size=12)


@given(lines=lines, currency=st.sampled_from(["usd", "jpy"]))
def test_fee_laws(lines: list[tuple[int, AppliedRule]], currency: str) -> None:
    quote = compute_fee(currency=currency, lines=lines)
    total = sum(amount for amount, _ in lines)
    assert quote.amount == total
    assert 0 <= quote.fee <= total
    assert sum(line.fee for line in quote.lines) == quote.fee
    assert all(0 <= line.fee <= line.amount for line in quote.lines)
    assert quote.seller_net + quote.fee == total


@given(amount=st.integers(min_value=1, max_value=99_999_999), rule=rules)
def test_single_rule_fee_formula(amount: int, rule: AppliedRule) -> None:
    quote = compute_fee(currency="usd", lines=[(amount, rule)])
    exact_twice = 2 * amount * rule.basis_points  # twice the percentage part, times 10,000
    percentage = (exact_twice + 10_000) // 20_000
    assert quote.fee == min(percentage + rule.fixed_amount, amount)


@given(amounts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=10), rule=rules)
def test_same_rule_split_is_proportional_to_line_amounts(amounts: list[int], rule: AppliedRule) -> None:
    quote = compute_fee(currency="jpy", lines=[(a, rule) for a in amounts])
    total = sum(amounts)
    for line in quote.lines:
        # within one unit of the exact proportional share
        assert abs(line.fee * total - quote.fee * line.amount) < total


def test_a_line_never_carries_more_fee_than_its_own_amount() -> None:
    # 100 % on one line, 0 % on the other, 0.50 fixed: the first line's share (100 + 25) would exceed its
    # amount, so the excess moves to the other line; the parts still add up to the fee.
    quote = compute_fee(
        currency="usd",
        lines=[
            (100, AppliedRule(basis_points=10_000, fixed_amount=50)),
            (100, AppliedRule(basis_points=0, fixed_amount=0)),
        ],
    )
    assert quote.fee == 150
    assert [line.fee for line in quote.lines] == [100, 50]
