"""The server-drawn bar charts (`frontend.charts.bar_chart`)."""

from __future__ import annotations

import re

import pytest

from frontend.charts import Bar, bar_chart


@pytest.mark.parametrize(("currency", "amount"), [("usd", 12_345), ("jpy", 12_345)])
@pytest.mark.parametrize("weeks", [7, 12, 13])
def test_the_latest_bar_is_labelled_and_every_other_one_before_it(currency: str, amount: int, weeks: int) -> None:
    """Twelve weeks labelled 1st, 3rd, ... 11th: the 12th, this week's, the one holding the money a
    seller looks for, had no date under it."""
    bars = [Bar(label=f"w{n}", amount=amount * n) for n in range(1, weeks + 1)]
    svg = str(bar_chart(chart_id="c", title="t", bars=bars, currency=currency))
    labels = re.findall(r"<text [^>]*>([^<]*)</text>", svg)
    assert labels == [f"w{n}" for n in range(weeks, 0, -2)][::-1]
    assert labels[-1] == f"w{weeks}"
    assert len(re.findall(r'<rect class="bar"', svg)) == weeks


def test_six_bars_or_fewer_are_all_labelled() -> None:
    bars = [Bar(label=f"m{n}", amount=n) for n in range(6)]
    labels = re.findall(
        r"<text [^>]*>([^<]*)</text>", str(bar_chart(chart_id="c", title="t", bars=bars, currency="usd"))
    )
    assert labels == [f"m{n}" for n in range(6)]
