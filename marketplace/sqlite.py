"""SQLite (the demo's database) made to fold case as Postgres does when it compares text.

Django's `icontains`, `iexact`, `istartswith` ... are LIKE on SQLite, and SQLite's own LIKE folds the
case of ASCII letters only: a buyer searching "CRÈME" did not find a "Crème brûlée dish" in the demo,
while Postgres (`UPPER(...) LIKE UPPER(...)`) finds it. Each new SQLite connection gets a LIKE that
folds every letter (`str.casefold`); Postgres is untouched. On SQLite `contains` is LIKE too, and so
was case-insensitive already (Django documents it): only the letters it folds change.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.db.backends.signals import connection_created


@functools.lru_cache(maxsize=1024)
def _like_pattern(pattern: str, escape: str | None) -> re.Pattern[str]:
    """LIKE's `pattern` as a regular expression: `%` any run, `_` one character, `escape` before
    either takes it as itself; every other character compared case-folded."""
    parts: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if escape is not None and ch == escape:
            escaped = next(chars, None)
            if escaped is None:  # a lone escape at the end: SQLite's LIKE matches nothing then
                return re.compile(r"(?!)")
            parts.append(re.escape(escaped.casefold()))
        elif ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch.casefold()))
    return re.compile("".join(parts), re.DOTALL)


def sqlite_like(pattern: Any, value: Any, escape: Any = None) -> int | None:
    """SQLite's `like(pattern, value[, escape])`, the function behind `value LIKE pattern`."""
    if pattern is None or value is None:
        return None  # as SQLite's: NULL LIKE anything is NULL
    found = _like_pattern(str(pattern), None if escape is None else str(escape)).fullmatch(str(value).casefold())
    return int(found is not None)


def _fold_case_on_sqlite(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("like", 2, sqlite_like, deterministic=True)
    raw.create_function("like", 3, sqlite_like, deterministic=True)


def sqlite_like_install() -> None:
    """Called once from the app's `ready()`: every SQLite connection opened after gets the LIKE above."""
    connection_created.connect(_fold_case_on_sqlite, dispatch_uid="marketplace.sqlite.fold_case")
