"""CSV text columns are read as text by a spreadsheet, never as a formula (`marketplace.text.spreadsheet_text`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.text import FORMULA_STARTS, spreadsheet_text


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_text_starting_as_a_formula_gets_an_apostrophe(text: str) -> None:
    assert spreadsheet_text(text) == f"'{text}"


@given(st.text())
def test_nothing_it_gives_starts_a_formula_and_only_the_apostrophe_is_added(text: str) -> None:
    safe = spreadsheet_text(text)
    assert not safe.startswith(FORMULA_STARTS)
    assert safe in (text, f"'{text}")
    assert (safe == text) == (not text.startswith(FORMULA_STARTS))
