"""Money arithmetic: exponents, formatting for people, parsing typed amounts, the largest-remainder split."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace import money
from marketplace.errors import InvalidInput


@pytest.mark.parametrize(
    ("currency", "places"), [("usd", 2), ("USD", 2), ("jpy", 0), ("krw", 0), ("xof", 0), ("kwd", 3), ("bhd", 3)]
)
def test_exponent_table_follows_stripe(currency: str, places: int) -> None:
    assert money.exponent(currency) == places


def test_every_stripe_zero_and_three_decimal_currency_is_listed() -> None:
    assert frozenset(
        ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
    ) == (money.ZERO_DECIMAL_CURRENCIES)
    assert {"bhd", "jod", "kwd", "omr", "tnd"} == money.THREE_DECIMAL_CURRENCIES


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1000, "usd", "$10.00"),
        (5, "usd", "$0.05"),
        (123456789, "usd", "$1,234,567.89"),
        (1000, "jpy", "¥1,000"),
        (50, "jpy", "¥50"),
        (-350, "eur", "-€3.50"),
        (1500, "kwd", "KWD 1.500"),
        (0, "gbp", "£0.00"),
    ],
)
def test_format_money_for_people(amount: int, currency: str, text: str) -> None:
    assert money.format_money(amount, currency) == text


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("10", "usd", 1000),
        ("10.5", "usd", 1050),
        ("10.50", "usd", 1050),
        (" 1,234.56 ", "usd", 123456),
        (".99", "usd", 99),
        ("1000", "jpy", 1000),
        ("1,000", "jpy", 1000),
        ("1000.00", "jpy", 1000),  # trailing zeros are not decimals
        ("1.234", "kwd", 1234),
        ("\uff11\uff10\uff10\uff10", "jpy", 1000),  # full-width digits, as a Japanese keyboard types them
        ("\uff11\uff12\uff0e\uff15\uff10", "usd", 1250),  # with a full-width full stop
        ("1,000", "usd", 100_000),  # one thousand dollars, as an American writes it
        ("1,000.50", "usd", 100_050),
        ("12,345.67", "usd", 1_234_567),
        ("1,000,000", "jpy", 1_000_000),
        (" 12 ", "usd", 1_200),
        (" 12 ", "jpy", 12),
        ("\uff11\uff12", "usd", 1_200),
        ("\uff11\uff12", "jpy", 12),
        ("\uff11\uff0c\uff10\uff10\uff10", "jpy", 1_000),  # full-width digits and comma: 1,000
        ("1 000", "jpy", 1_000),  # thousands grouped by a space
        ("1\u00a0000.50", "usd", 100_050),  # or a no-break space
        ("1\u3000000", "jpy", 1_000),  # or a full-width space
        ("5.", "usd", 500),
        ("1000.00", "usd", 100_000),
    ],
)
def test_parse_major_units(text: str, currency: str, amount: int) -> None:
    assert money.parse_major_units(text, currency) == amount


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [
        ("1.5", "jpy", "too_many_decimals"),
        ("1.005", "usd", "too_many_decimals"),
        ("-1", "usd", "negative_amount"),
        ("+1", "usd", "invalid_amount"),
        ("1e3", "usd", "invalid_amount"),
        ("NaN", "usd", "invalid_amount"),
        ("Infinity", "usd", "invalid_amount"),
        ("", "usd", "invalid_amount"),
        ("10,00", "usd", "invalid_amount"),
        ("1,0000", "usd", "invalid_amount"),
        ("abc", "usd", "invalid_amount"),
        ("1000000", "usd", "amount_too_large"),
        ("100\u0660", "jpy", "invalid_amount"),  # an Arabic-Indic zero reads as "100." and was 1000
        ("\u0661\u0660\u0660", "usd", "invalid_amount"),
        ("1\u09e6", "usd", "invalid_amount"),  # a Bengali zero
    ],
)
def test_parse_major_units_refuses_what_a_seller_did_not_mean(text: str, currency: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        money.parse_major_units(text, currency)
    assert caught.value.code == code


HOW_TO_WRITE = {
    "usd": "Write the amount as 1,234.50 or 1234.50: a point before the decimals, commas only between groups of "
    "three digits.",
    "jpy": "Write the amount as 1,250 or 1250: a whole number, commas only between groups of three digits.",
}


@pytest.mark.parametrize("currency", ["usd", "jpy"])
@pytest.mark.parametrize(
    "text",
    [
        "1,00",  # a comma not before three digits: one, or one hundred?
        "10,5",  # a European decimal comma: ten and a half, never 105
        "10,50",
        "1,0000",
        "1,000,0",
        "12 50",  # spaces not in threes were taken out: 1250 dollars for 12.50
        "1 2",
        "12\u00a050",
        "1,000 000",  # commas and spaces in one amount
        "1 000,50",  # a European amount: 1000.50 written with a decimal comma
        "1.000",  # a European thousands point: one thousand, not one dollar or one yen
        "\uff11\uff0c\uff10\uff10",  # full-width "1,00"
    ],
)
def test_an_ambiguous_or_misgrouped_amount_is_refused_saying_how_to_write_it(text: str, currency: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        money.parse_major_units(text, currency)
    assert (caught.value.code, caught.value.message) == ("invalid_amount", HOW_TO_WRITE[currency])


def test_a_point_before_three_digits_is_refused_unless_the_currency_has_three_decimals() -> None:
    """ "12.500" was $12.50 (its zeros dropped), where a European means twelve thousand five hundred."""
    with pytest.raises(InvalidInput, match=re.escape(HOW_TO_WRITE["usd"])):
        money.parse_major_units("12.500", "usd")
    with pytest.raises(InvalidInput, match="JPY has no decimals"):
        money.parse_major_units("12.500", "jpy")
    assert money.parse_major_units("1.000", "kwd") == 1_000
    assert money.parse_major_units("12.500", "kwd") == 12_500


@given(
    amount=st.integers(min_value=0, max_value=money.MAXIMUM_CHARGE_AMOUNT),
    currency=st.sampled_from(["usd", "jpy"]),
    grouping=st.sampled_from(["", ",", " ", "\u00a0"]),
    full_width=st.booleans(),
    padding=st.sampled_from(["", " ", "  "]),
)
def test_an_amount_formatted_with_or_without_grouping_parses_back_to_the_same_minor_units(
    amount: int, currency: str, grouping: str, full_width: bool, padding: str
) -> None:
    """What a person copies from a receipt ("1,234.50", "¥1,250") or types (grouped or not, on a Japanese
    keyboard's full-width digits) is the amount it shows."""
    places = money.exponent(currency)
    text = f"{Decimal(amount).scaleb(-places):,.{places}f}".replace(",", grouping or "")
    if full_width:
        text = text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789,."})
    assert money.parse_major_units(padding + text + padding, currency) == amount


def test_yen_error_says_there_are_no_decimals() -> None:
    with pytest.raises(InvalidInput, match="JPY has no decimals"):
        money.parse_major_units("99.9", "jpy")


@pytest.mark.parametrize(("currency", "example"), [("usd", "12.50"), ("jpy", "1250"), ("kwd", "12.500")])
def test_an_unreadable_amount_is_answered_with_an_example_the_currency_takes(currency: str, example: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^Enter an amount such as {re.escape(example)}\.$"):
        money.parse_major_units("twelve", currency)
    assert money.parse_major_units(example, currency) > 0


@given(
    amount=st.integers(min_value=0, max_value=money.MAXIMUM_CHARGE_AMOUNT),
    currency=st.sampled_from(["usd", "jpy", "kwd", "eur", "krw"]),
)
def test_parse_inverts_format_major_units(amount: int, currency: str) -> None:
    assert money.parse_major_units(money.format_major_units(amount, currency), currency) == amount


@given(
    amount=st.integers(min_value=0, max_value=money.MAXIMUM_CHARGE_AMOUNT),
    currency=st.sampled_from(["usd", "jpy", "kwd"]),
)
def test_formatted_money_parses_back_without_its_symbol(amount: int, currency: str) -> None:
    text = money.format_money(amount, currency)
    number = text.lstrip("$¥").removeprefix("KWD ")
    assert money.parse_major_units(number, currency) == amount


def test_minimum_charge_amounts() -> None:
    assert money.minimum_charge_amount("usd") == 50
    assert money.minimum_charge_amount("jpy") == 50
    assert money.minimum_charge_amount("gbp") == 30


# --- Largest remainder --------------------------------------------------------------------------


def test_split_worked_examples() -> None:
    assert money.split_by_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert money.split_by_largest_remainder(1030, [5000, 5000]) == [515, 515]
    assert money.split_by_largest_remainder(10, [0, 1]) == [0, 10]
    assert money.split_by_largest_remainder(-100, [1, 1, 1]) == [-34, -33, -33]
    assert money.split_by_largest_remainder(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError):
        money.split_by_largest_remainder(5, [0, 0])


@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_split_parts_sum_exactly_and_stay_within_one_unit_of_the_exact_share(total: int, weights: list[int]) -> None:
    parts = money.split_by_largest_remainder(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact_numerator = abs(total) * weight  # exact share = numerator / weight_sum
        assert abs(abs(part) * weight_sum - exact_numerator) < weight_sum
        if weight == 0:
            assert part == 0


@given(total=st.integers(min_value=0, max_value=10**9), n=st.integers(min_value=1, max_value=20))
def test_equal_weights_differ_by_at_most_one_unit(total: int, n: int) -> None:
    parts = money.split_by_largest_remainder(total, [1] * n)
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # ties go to the earlier parts


@given(numerator=st.integers(min_value=0, max_value=10**15), denominator=st.integers(min_value=1, max_value=10**6))
def test_round_half_up_div(numerator: int, denominator: int) -> None:
    result = money.round_half_up_div(numerator, denominator)
    # result is the integer nearest to n/d, halves going up: n/d - 1/2 < result <= n/d + 1/2 ... with ties up.
    assert 2 * numerator - denominator < 2 * result * denominator <= 2 * numerator + denominator
