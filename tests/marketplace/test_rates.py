"""A rate reads as its exact value rounded half up to hundredths of a percent, never half to even."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from marketplace.rates import percent_text


def test_one_in_eight_reads_twelve_and_a_half_percent() -> None:
    assert [percent_text(1, 8), percent_text(1, 3), percent_text(3, 400), percent_text(2, 2), percent_text(0, 5)] == [
        "12.5%",
        "33.33%",
        "0.75%",
        "100%",
        "0%",
    ]


@given(whole=st.integers(min_value=1, max_value=10**9), data=st.data())
def test_the_text_is_the_exact_share_rounded_half_up(whole: int, data: st.DataObject) -> None:
    part = data.draw(st.integers(min_value=0, max_value=whole))
    exact = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert Decimal(percent_text(part, whole).rstrip("%")) == exact
