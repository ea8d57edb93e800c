"""`{% load rates %}{{ m.disputed|percent_of:m.payments }}` -> "12.5%"; "—" when there is nothing to be a share of."""

from __future__ import annotations

from django import template

from marketplace.rates import percent_text

register = template.Library()


@register.filter(name="percent_of")
def percent_of(part: int, whole: int) -> str:
    return percent_text(int(part), int(whole)) if whole else "—"
