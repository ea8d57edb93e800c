"""A share of a count as a person reads it: "12.5%", "33.33%", "0.75%", "100%".

Hundredths of a percent, rounded half up, trailing zeros dropped. Django's `widthratio` rounds to a
whole percent, half to even: 1 dispute in 8 payments read "12%", half a point under the truth, and a
dispute rate is read against a threshold of 0.75%, so whole percents hide what matters. Every page
that shows a rate of payments (the console's payment health and its sellers' dispute rates) formats
it here, so one rate reads the same wherever it is. A decision against a threshold compares the
exact counts, never this text (`payments.selectors.sellers_dispute_rates`).
"""

from __future__ import annotations


def basis_points_text(basis_points: int, *, space: str = "") -> str:
    """Hundredths of a percent as a person reads them, trailing zeros dropped: 1250 -> "12.5%", 5 ->
    "0.05%" (the fee policy's labels put a `space` before the sign: "10 %")."""
    units, fraction = divmod(basis_points, 100)
    return f"{units}.{fraction:02d}".rstrip("0").rstrip(".") + space + "%"


def percent_text(part: int, whole: int) -> str:
    hundredths = (2 * part * 10_000 + whole) // (2 * whole)  # part / whole in 0.01%, half up; integers only
    return basis_points_text(hundredths)
