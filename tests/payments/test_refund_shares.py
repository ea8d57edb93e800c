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
from payments.services import KeptReversal, kept_reversals_counted, refund_share_of_transfer


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


@st.composite
def kept_reversals_and_a_dispute(draw: st.DrawFn) -> tuple[list[KeptReversal], int, int]:
    shares = draw(st.lists(st.integers(min_value=1, max_value=1_000_000), min_size=1, max_size=4))
    kept = [KeptReversal(f"trr_{i}", s, draw(st.integers(min_value=0, max_value=s))) for i, s in enumerate(shares)]
    share = draw(st.integers(min_value=0, max_value=sum(shares)))
    return kept, share, draw(st.integers(min_value=0, max_value=sum(k.fee for k in kept)))


@given(kept_reversals_and_a_dispute())
def test_a_dispute_counts_its_share_of_the_kept_reversals_and_their_fee_in_proportion(
    case: tuple[list[KeptReversal], int, int],
) -> None:
    """What a lost dispute counts of a failed refund's kept reversals and what stays kept of them add
    up to what was kept, share and fee alike (nothing lost, nothing counted twice); the fee it counts
    of each is within a unit of its proportion and never more than the dispute's own fee share."""
    kept, share, fee_at_most = case
    counted, fee = kept_reversals_counted(kept, share=share, fee_at_most=fee_at_most)
    after = {r.stripe_id: r for r in counted}
    rest = [after.get(k.stripe_id, k) for k in kept]
    assert sum(k.share for k in kept) - sum(r.share for r in rest) == share
    assert sum(k.fee for k in kept) - sum(r.fee for r in rest) == fee <= fee_at_most
    for before, now in zip(kept, rest, strict=True):
        assert 0 <= now.share <= before.share and 0 <= now.fee <= before.fee
        exact = Fraction(before.fee * (before.share - now.share), before.share)
        assert before.fee - now.fee <= exact + Fraction(1, 2)  # capped below it only by `fee_at_most`


def test_the_worked_example_of_a_dispute_smaller_than_the_kept_reversal() -> None:
    """Kiln & Co's whole order refunded and failed (8970 reversed, the fee's 1030 given up; ¥9,000 and
    ¥1,000), then its part of a lost dispute 3449: its share 3094 and fee share 355 are counted
    (¥3,104 and ¥345), and 5876 and 675 stay kept (¥5,896 and ¥655), as a refund of the rest
    (6551) would take them (`tests/orders/test_multi_seller_refunds.py`)."""
    for transfer, fee, share, fee_share in ((8_970, 1_030, 3_094, 355), (9_000, 1_000, 3_104, 345)):
        counted, counted_fee = kept_reversals_counted(
            [KeptReversal("trr_1", transfer, fee)], share=share, fee_at_most=3_449 - share
        )
        assert (counted, counted_fee) == ([KeptReversal("trr_1", transfer - share, fee - fee_share)], fee_share)
        rest = refund_share_of_transfer(transfer=transfer, order_total=10_000, before=0, amount=10_000 - 3_449)
        assert (rest, 10_000 - 3_449 - rest) == (transfer - share, fee - fee_share)
