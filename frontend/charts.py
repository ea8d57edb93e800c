"""Bar charts drawn on the server as SVG: no chart library, no script, nothing fetched from a CDN
(the demo runs offline), and the Content-Security-Policy has nothing to allow.

Colours are SVG presentation attributes, not `style`, which the policy would refuse. A chart is an
image with a title and a description for screen readers; the page shows the same figures in a
table next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

from marketplace.money import format_money

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 240, 8, 28, 16


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (a week's date, a month)
    amount: int  # minor units, may be negative


def bar_chart(*, chart_id: str, title: str, bars: list[Bar], currency: str) -> SafeString:
    """An SVG bar chart of `bars` in `currency`, scaled to the largest magnitude, with a zero line
    (bars below it are losses). Every bar carries its formatted amount as a `<title>` tooltip and
    a `data-amount` attribute (minor units) that tests read. Past six bars every other one is labelled,
    the latest (this week, this month: the one a seller looks for) always."""
    top = max([b.amount for b in bars if b.amount > 0], default=0)
    bottom = -min([b.amount for b in bars if b.amount < 0], default=0)
    span = (top + bottom) or 1
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    zero_y = PAD_TOP + plot_h * top / span
    slot = (WIDTH - PAD_LEFT) / max(len(bars), 1)
    total = sum(b.amount for b in bars)
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" data-total="{total}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{len(bars)} bars; total {escape(format_money(total, currency))}.</desc>',
    ]
    for i, bar in enumerate(bars):
        h = plot_h * abs(bar.amount) / span
        x = PAD_LEFT + i * slot + slot * 0.15
        y = zero_y - h if bar.amount >= 0 else zero_y
        fill = "#4f46e5" if bar.amount >= 0 else "#b42318"
        label = f"{bar.label}: {format_money(bar.amount, currency)}"
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{max(h, 0):.1f}" '
            f'fill="{fill}" data-amount="{bar.amount}"><title>{escape(label)}</title></rect>'
        )
        if (len(bars) - 1 - i) % 2 == 0 or len(bars) <= 6:  # every other one, counted from the latest
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - 8}" font-size="12" text-anchor="middle" '
                f'fill="#5b6477">{escape(bar.label)}</text>'
            )
    parts.append(
        f'<line x1="{PAD_LEFT}" x2="{WIDTH}" y1="{zero_y:.1f}" y2="{zero_y:.1f}" stroke="#1a1f36" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number
