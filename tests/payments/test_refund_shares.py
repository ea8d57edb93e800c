"""The seller's share of refunds on a payment for several shops (`refund_share_of_transfer`), for any
order, transfer and sequence of partial refunds, in minor units (odd JPY amounts included): each
share is within a unit of its exact proportion and never more than the refund (the platform never
gives back a negative fee share), and the shares add up to the transfer once the whole order is."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import split_by_largest_remainder
from payments.services import refund_share_of_transfer


@st.composite
def orders_and_refunds(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    total = draw(st.integers(min_value=1, max_value=10_000_000))
    transfer = draw(st.integers(min_value=0, max_value=total))  # the order less the platform's fee
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=total), max_size=8, unique=True)))
    bounds = [0, *[c for c in cuts if c < total], total]
    return total, transfer, [b - a for a, b in pairwise(bounds)]


@given(orders_and_refunds())
def test_shares_add_up_to_the_transfer_and_each_is_within_a_unit(case: tuple[int, int, list[int]]) -> None:
    total, transfer, refunds = case
    before, shares = 0, []
    for amount in refunds:
        share = refund_share_of_transfer(transfer=transfer, order_total=total, before=before, amount=amount)
        assert 0 <= share <= amount
        assert abs(share - Fraction(transfer * amount, total)) < 1
        shares.append(share)
        before += amount
    assert sum(shares) == transfer
    assert sum(refunds) - sum(shares) == total - transfer  # the fee shares add up to the fee


@given(orders_and_refunds(), st.data())
def test_a_refund_the_platform_paid_leaves_the_seller_its_share(
    case: tuple[int, int, list[int]], data: st.DataObject
) -> None:
    """Refunds the platform paid are left out of `before`: the others take only their own shares."""
    total, transfer, refunds = case
    paid_by_platform = [data.draw(st.booleans()) for _ in refunds]
    before, taken = 0, 0
    for amount, platform in zip(refunds, paid_by_platform, strict=True):
        if platform:
            continue
        share = refund_share_of_transfer(transfer=transfer, order_total=total, before=before, amount=amount)
        assert 0 <= share <= amount
        taken += share
        before += amount
    exact = Fraction(transfer * before, total)
    assert abs(taken - exact) < 1 and taken <= transfer


def test_the_worked_example_in_jpy_with_odd_amounts() -> None:
    """¥9,999 order, ¥8,999 transfer (fee ¥1,000), refunded ¥3,333 three times: 2,999 + 3,000 + 3,000."""
    shares, before = [], 0
    for amount in (3_333, 3_333, 3_333):
        shares.append(refund_share_of_transfer(transfer=8_999, order_total=9_999, before=before, amount=amount))
        before += amount
    assert shares == [3_000, 2_999, 3_000] and sum(shares) == 8_999
    assert split_by_largest_remainder(8_999, [3_333, 3_333, 3_333]) == [3_000, 3_000, 2_999]
