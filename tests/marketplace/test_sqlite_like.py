"""The demo's SQLite LIKE (`marketplace.sqlite`): on ASCII it answers as SQLite's own LIKE does,
escapes and wildcards included (Django escapes a searched "50%" or "a_b" with a backslash); beyond
ASCII it folds case as Postgres's `UPPER() LIKE UPPER()` does, which SQLite's own does not."""

from __future__ import annotations

import sqlite3

from hypothesis import example, given
from hypothesis import strategies as st

from marketplace.sqlite import sqlite_like

ASCII = st.text(alphabet="aAbB_%\\ x", max_size=8)


@given(pattern=ASCII, value=st.text(alphabet="aAbB_%\\ x", max_size=8))
@example(pattern="a\\", value="a")  # a lone escape at the end matches nothing
def test_on_ascii_it_answers_as_sqlites_own_like(pattern: str, value: str) -> None:
    with sqlite3.connect(":memory:") as builtin:
        expected = builtin.execute("SELECT ? LIKE ? ESCAPE '\\'", (value, pattern)).fetchone()[0]
    assert sqlite_like(pattern, value, "\\") == expected


def test_beyond_ascii_it_folds_case_and_a_searched_wildcard_stays_a_character() -> None:
    with sqlite3.connect(":memory:") as conn:
        conn.create_function("like", 3, sqlite_like, deterministic=True)
        conn.create_function("like", 2, sqlite_like, deterministic=True)
        ask = "SELECT ? LIKE ? ESCAPE '\\'"
        assert conn.execute(ask, ("Crème brûlée dish", "%CRÈME BRÛLÉE%")).fetchone() == (1,)
        assert conn.execute(ask, ("ÉVORA", "%évora%")).fetchone() == (1,)
        assert conn.execute(ask, ("50 % off", "%50 \\%%")).fetchone() == (1,)
        assert conn.execute(ask, ("500 off", "%50\\%%")).fetchone() == (0,)
        assert conn.execute(ask, ("a-b", "%a\\_b%")).fetchone() == (0,)
        assert conn.execute("SELECT 'Äpfel' LIKE 'äPFEL'").fetchone() == (1,)
        assert conn.execute("SELECT NULL LIKE 'a'").fetchone() == (None,)
        assert conn.execute(ask, ("a", "a\\")).fetchone() == (0,)  # a lone escape at the end, as SQLite's
