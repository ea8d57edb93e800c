"""Money: integer minor units plus a lowercase ISO 4217 code, everywhere.

Why this module exists: the number of decimals of a currency decides what "100" means (one dollar,
or one hundred yen), and getting it wrong is a bug that costs real money. So there is exactly one
exponent table, one formatter for people, one parser for typed amounts and one largest-remainder split,
and nothing else in the project multiplies or divides by 100.

- Floats are never used. `Decimal` appears only at the parse boundary (`parse_major_units`) and in
  `format_money`, which turns minor units into text.
- The zero- and three-decimal lists follow Stripe's "Supported currencies" page. Stripe treats a few
  more currencies specially (ISK, HUF, TWD, UGX are charged as if two-decimal in some flows); we follow
  the ISO exponent of the list below and do not sell in those currencies.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from marketplace.errors import InvalidInput

# Stripe's zero-decimal currencies: the amount is in major units (¥1 = 1).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# Stripe's three-decimal currencies: 1 BHD = 1000 minor units.
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

# Stripe's minimum charge amount per settlement currency, in minor units ("Minimum and maximum charge
# amounts" on Stripe's currencies page). A listing priced below it could never be bought on its own.
MINIMUM_CHARGE_AMOUNTS: dict[str, int] = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "huf": 17500,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}
# Stripe refuses amounts with more than 8 digits in minor units (99,999,999) for most currencies.
MAXIMUM_CHARGE_AMOUNT = 99_999_999

# The currencies sellers may price listings in (a subset Stripe Connect settles in our demo countries).
LISTING_CURRENCIES: tuple[str, ...] = ("usd", "eur", "gbp", "cad", "aud", "jpy")

_SYMBOLS: dict[str, str] = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "cad": "CA$",
    "aud": "A$",
    "krw": "₩",
    "inr": "₹",
}


def normalise_currency(currency: str) -> str:
    code = (currency or "").strip().lower()
    if not re.fullmatch(r"[a-z]{3}", code):
        raise InvalidInput(f"“{currency}” is not a currency code.", code="invalid_currency")
    return code


def exponent(currency: str) -> int:
    """How many decimals the currency has: 0 for JPY, 3 for KWD, 2 otherwise."""
    code = normalise_currency(currency)
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def minimum_charge_amount(currency: str) -> int:
    """Stripe's minimum charge in minor units; unknown currencies get the USD-equivalent guess of 50."""
    return MINIMUM_CHARGE_AMOUNTS.get(normalise_currency(currency), 50)


def format_money(amount: int, currency: str) -> str:
    """For people: "$10.00", "¥1,000", "-€3.50", "KWD 1.500". Never fed back into arithmetic."""
    code = normalise_currency(currency)
    places = exponent(code)
    sign = "-" if amount < 0 else ""
    major = Decimal(abs(int(amount))).scaleb(-places)
    number = f"{major:,.{places}f}"
    symbol = _SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{code.upper()} {number}"


# ASCII digits only: `\d` and `int()` also read other scripts' digits, so "100\u0660" (an Arabic-Indic
# zero, which reads as "100." to a Latin eye) was 1000. Full-width digits, which a Japanese keyboard types,
# become ASCII by NFKC before this. Thousands are grouped by commas or by spaces, one kind in an amount.
_NUMBER = re.compile(r"^(?P<int>[0-9]{1,3}(?P<sep>[, ])[0-9]{3}(?:(?P=sep)[0-9]{3})*|[0-9]+)?(?:\.(?P<frac>[0-9]*))?$")
# "1.000" or "12.500": a point followed by three digits, as other countries group thousands.
_POINT_GROUPED = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{3})+$")


def parse_major_units(text: str, currency: str) -> int:
    """A person's "12.50" in USD -> 1250 cents; "1,000" in JPY -> 1000.

    What is read, as an American or a Japanese person writes an amount: a point before the decimals,
    and thousands grouped by commas ("1,000", "12,345.67") or spaces ("1 000", a no-break space too),
    each group of three digits. Full-width digits, comma, point and space (a Japanese keyboard's)
    are read as their ASCII twins: "1,000" typed full-width is the same number.

    What is refused, never read as another number: a grouping that is not in threes ("1,00",
    "1,0000", "12 50") or a comma before the decimals ("10,5", a European decimal comma), with a
    sentence saying how to write the amount; a point followed by three digits in a currency with
    fewer decimals ("1.000", "12.500": a European thousands point, not one dollar or one yen);
    negatives, signs, exponents, NaN/Infinity, more decimals than the currency has ("1.5" yen,
    "1.005" dollars), digits of other scripts than ASCII, and amounts above Stripe's maximum.
    Trailing zero decimals are not decimals ("1000.00" yen is 1000).
    """
    code = normalise_currency(currency)
    places = exponent(code)
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if raw.startswith("-"):
        raise InvalidInput("Enter an amount of zero or more.", code="negative_amount")
    match = _NUMBER.match(raw)
    if match is None and re.fullmatch(r"[0-9][0-9, .]*", raw) and re.search(r"[, ]", raw):
        raise InvalidInput(_how_to_write(code), code="invalid_amount")
    if not raw or not match or (match.group("int") is None and not match.group("frac")):
        # The example is one the currency takes: "12.50" told a yen amount to have decimals it refuses.
        example = format_major_units(1250 * 10 ** max(places - 2, 0), code)
        raise InvalidInput(f"Enter an amount such as {example}.", code="invalid_amount")
    frac = (match.group("frac") or "").rstrip("0")
    if len(frac) > places:
        if places == 0:
            raise InvalidInput(f"{code.upper()} has no decimals: enter a whole number.", code="too_many_decimals")
        raise InvalidInput(f"{code.upper()} has at most {places} decimals.", code="too_many_decimals")
    if places < 3 and _POINT_GROUPED.match(raw):  # its zeros dropped, it would be read: 1 for 1000
        raise InvalidInput(_how_to_write(code), code="invalid_amount")
    digits = re.sub(r"[, ]", "", match.group("int") or "0")
    whole = Decimal(digits + "." + (frac or "0"))
    minor = whole.scaleb(places)
    if minor != minor.to_integral_value():  # pragma: no cover - excluded by the decimals check above
        raise InvalidInput("Too many decimals.", code="too_many_decimals")
    amount = int(minor)
    if amount > MAXIMUM_CHARGE_AMOUNT:
        raise InvalidInput(
            f"The largest amount Stripe accepts is {format_money(MAXIMUM_CHARGE_AMOUNT, code)}.",
            code="amount_too_large",
        )
    return amount


def _how_to_write(currency: str) -> str:
    """How to write an amount of `currency`, for one grouped or pointed otherwise ("10,5", "1,00")."""
    places = exponent(currency)
    example = 123_450 * 10 ** max(places - 2, 0) if places else 1_250
    grouped = format_money(example, currency).lstrip("$¥€£").removeprefix(f"{currency.upper()} ")
    plain = format_major_units(example, currency)
    if places == 0:
        return f"Write the amount as {grouped} or {plain}: a whole number, commas only between groups of three digits."
    return (
        f"Write the amount as {grouped} or {plain}: a point before the decimals, "
        "commas only between groups of three digits."
    )


def format_major_units(amount: int, currency: str) -> str:
    """The inverse of `parse_major_units` for pre-filling forms: 1250 USD -> "12.50", 1000 JPY -> "1000"."""
    places = exponent(currency)
    return f"{Decimal(int(amount)).scaleb(-places):.{places}f}"


def split_by_largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights`; the parts always add up to `total`.

    Each part gets floor(total * w / W); the units left over go one each to the parts with the largest
    remainders (ties: the earlier part), which is the Hamilton method, as in django-hordak's ratio_split.
    A negative total is split as its absolute value, then negated, so refunds mirror charges. Weights
    must be non-negative and not all zero unless the total is zero.
    """
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if not weights:
        if total:
            raise ValueError("cannot split a non-zero total over no parts")
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError("cannot split a non-zero total over zero weights")
        return [0] * len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        quotient, remainder = divmod(magnitude * weight, weight_sum)
        parts.append(quotient)
        remainders.append((remainder, index))
    left = magnitude - sum(parts)
    for _remainder, index in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        parts[index] += 1
    return [sign * p for p in parts]


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers, without floats."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up_div takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)
