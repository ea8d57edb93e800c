"""`{% load money %}{{ listing.price|money:listing.currency }}` -> "$10.00", "¥1,000"."""

from __future__ import annotations

from django import template

from marketplace.money import format_money

register = template.Library()


@register.filter(name="money")
def money_filter(amount: int | None, currency: str) -> str:
    if amount is None or not currency:
        return ""
    return format_money(int(amount), currency)
