"""Prepared statements for the few statements run on every event of the webhook worker, or on every
signed-in page (the session's read, `marketplace.sessions`).

Django's psycopg cursors bind parameters on the client (the SQL text sent holds the values), so
Postgres parses and plans every statement anew. For the ledger's posting (a CTE that locks,
inserts a transaction and its legs, looking up their accounts) that planning was most of the
statement's cost: measured here in one Postgres backend's CPU over 2,000 postings, each in its own
transaction, about 700 us planned every time against 160-380 us prepared; a plain one-row INSERT
costs about 150 us. `prepared_cursor` binds on the server instead, and psycopg prepares a
statement once a connection has run it `prepare_threshold` times (the `DATABASES` option, from
`DB_PREPARE_THRESHOLD`: 2 by default; empty means never, the right setting behind a
transaction-pooling PgBouncer older than 1.21, where a prepared statement may not be on the next
server connection).

Prepared is not yet planned once: Postgres plans a prepared statement for its values on its first
five runs, and after them on every run whose generic plan looks costlier than those plans. The
posting's did on every run while its legs came as arrays with their accounts looked up by key (an
array parameter's length is guessed at ten, so the generic plan looked up ten accounts: 800 runs,
800 plans). Its legs are therefore a VALUES list of their own length (`ledger.services`), and a test
checks that it runs on its generic plan. Measured as above, with the seller's lock and mirror row:
525-547 us planned each run, 357-370 us on the generic plan.

Only SQL written for it goes through it: server-side binding sends `%s` as `$n` parameters, which
not every ORM-built statement accepts (Django's own reason for binding on the client).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> CursorWrapper:
    """A cursor of database `using` that binds its parameters on the server (Postgres), wrapped like
    Django's own, so the statement is counted and logged as any other (query-count tests,
    `connection.queries`); Django's ordinary cursor on other databases."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg  # the Postgres driver; this module is only reached with it installed

    # What `connection.cursor()` does before it creates its cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = psycopg.Cursor(connection.connection)
    # django-stubs types the driver's cursor these wrap as the wrapper itself.
    if connection.queries_logged:
        return _DebugCursor(raw, connection)
    return connection.make_cursor(raw)  # type: ignore[arg-type]


def prepared_fetchone(sql: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS) -> tuple[Any, ...] | None:
    """The first row of a read-only statement run on `prepared_cursor`; when it is the first statement
    of a request on a kept connection, it is also the connection's health check.

    Why: with `CONN_HEALTH_CHECKS` Django sends `SELECT 1` before a request's first statement, a round
    trip of its own; on the signed-in storefront pages, whose one statement is the session's read, a
    profile showed it at about 8% of a page's CPU. Here the statement goes first. Should it fail,
    Django's own check (`is_usable`) decides: a connection that fails it is closed and the statement
    runs once more on a new one, as the health check would have replaced it before; any other error is
    raised. Inside a transaction the statement is never retried: it runs as any other, Django's check
    first."""
    connection: Any = connections[using]  # django-stubs lacks the health check's attributes
    is_check = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if is_check:
        connection.health_check_done = True  # this statement is the check: `prepared_cursor` skips its own
        try:
            return _fetchone(sql, params, using)
        except Error:
            if connection.is_usable():
                raise
            connection.close()  # the next cursor connects anew
    return _fetchone(sql, params, using)


def _fetchone(sql: str, params: Sequence[Any], using: str) -> tuple[Any, ...] | None:
    with prepared_cursor(using) as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


class _DebugCursor(CursorDebugWrapper):
    """Logs each statement with its values filled in, as Django's own cursors are logged (Django
    reads the text off a client-binding cursor, which this is not)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        import psycopg

        text = psycopg.ClientCursor(self.cursor.connection).mogrify(sql, params)
        with self.debug_sql(text, params):
            return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)
