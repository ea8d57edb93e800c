"""Forms of the Sell area and the console. They parse and report errors; services decide."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from django import forms

from catalog.images import ACCEPTED, MAX_IMAGE_BYTES
from catalog.models import DESCRIPTION_MAX_LENGTH, MAX_STOCK, Category
from catalog.services import price_below_minimum
from marketplace import money
from marketplace.errors import InvalidInput
from marketplace.text import TextAreaField


class PriceField(forms.CharField):
    """Major units typed by a person ("12.50", "1,000") -> integer minor units of the given currency."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        self.currency = currency
        places = money.exponent(currency)
        example = "1,000" if places == 0 else "12." + "5" + "0" * (places - 1)
        kwargs.setdefault("help_text", f"In {currency.upper()}, e.g. {example}.")
        super().__init__(**kwargs)
        # No autocomplete="off": Chromium does not bring such a box back with the browser's Back, and a
        # form refused before its view reads it (a NUL, marketplace.middleware) is retyped from there.
        self.widget.attrs.update({"inputmode": "decimal"})

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return money.parse_major_units(str(text), self.currency)
        except InvalidInput as exc:
            if exc.code == "negative_amount":  # "zero or more" (the parser's) sent the seller to a refused 0
                exc = price_below_minimum(self.currency)
            raise forms.ValidationError(exc.message, code=exc.code) from exc


class UnitsField(forms.IntegerField):
    """A count typed by a person, read as amounts are (`money.parse_major_units`): ASCII digits, and
    full-width ones as ASCII. Django's own field reads any script's digits: "100" and an Arabic-Indic
    zero, which reads as "100." to a Latin eye, was 1000 units."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).strip()
            if not value.isascii():
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class ListingForm(forms.Form):
    title = forms.CharField(max_length=140)
    description = TextAreaField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=DESCRIPTION_MAX_LENGTH
    )
    category = forms.ModelChoiceField(queryset=Category.objects.all(), empty_label="Choose a category")
    stock = UnitsField(min_value=0, max_value=MAX_STOCK, help_text="Units you can ship.")
    image = forms.FileField(
        required=False,
        help_text=f"{ACCEPTED}, up to {MAX_IMAGE_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    image_alt = forms.CharField(
        max_length=200, required=False, label="Image description", help_text="For people using screen readers."
    )

    field_order = ("title", "description", "price", "stock", "category", "image", "image_alt")

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["price"] = PriceField(currency=currency, label=f"Price ({currency.upper()})")
        self.order_fields(self.field_order)


PERCENT_NOTATION = "Type the percentage as a number such as 10 or 2.9."


class FeeRuleForm(forms.Form):
    """A fee rule typed by an admin: percentage with up to two decimals, fixed part in major units."""

    currency = forms.ChoiceField(choices=[(c, c.upper()) for c in money.LISTING_CURRENCIES])
    percent = forms.DecimalField(
        min_value=0,
        max_value=100,
        decimal_places=2,
        label="Percentage",
        help_text="e.g. 10 or 2.9",
        error_messages={"invalid": PERCENT_NOTATION},
    )
    fixed = forms.CharField(label="Fixed amount per payment", help_text="In the currency above, e.g. 0.30 or 30.")
    seller = forms.IntegerField(required=False, min_value=1, label="Seller id (optional)")
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, empty_label="Any category", label="Category (optional)"
    )

    def clean_percent(self) -> Decimal:
        """Digits and a point only: Python's Decimal reads "1e2" as 100, a fee of 100 % nobody typed."""
        if not re.fullmatch(r"\d+(\.\d+)?", str(self.data.get(self.add_prefix("percent"), "")).strip()):
            raise forms.ValidationError(PERCENT_NOTATION, code="invalid")
        percent: Decimal = self.cleaned_data["percent"]
        return percent

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency, fixed = data.get("currency"), data.get("fixed")
        if currency and fixed is not None:
            try:
                data["fixed_amount"] = money.parse_major_units(str(fixed), str(currency))
            except InvalidInput as exc:
                self.add_error("fixed", exc.message)
        if data.get("percent") is not None:
            data["basis_points"] = int(data["percent"] * 100)
        return data
