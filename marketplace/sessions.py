"""Django's database sessions, read with one plain SQL statement instead of a query built by the ORM.

Every signed-in request reads its session. In a profile of the storefront's pages, building that query
(`Session.objects.get(session_key=..., expire_date__gt=now)`) cost more CPU than Postgres took to answer
it; the statement here is the same SQL, written once. Same table, same rows, same expiry rule: sessions
made by Django's own store keep working, and everything else (saving, rotating, deleting) is Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.utils import timezone


class SessionStore(DbSessionStore):
    def _get_session_from_db(self) -> Any:
        meta = self.model._meta
        table, key, expires = (
            meta.db_table,
            meta.get_field("session_key").column,
            meta.get_field("expire_date").column,
        )
        sql = f'SELECT * FROM "{table}" WHERE "{key}" = %s AND "{expires}" > %s'  # noqa: S608  (names from _meta)
        found = list(self.model.objects.raw(sql, [self.session_key, timezone.now()]))
        if not found:
            self._session_key = None
            return None
        return found[0]
