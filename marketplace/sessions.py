"""Database sessions (`marketplace.models.Session`: Django's table plus the signed-in user's id), read
together with their user in one statement.

Why: a profile of the storefront's signed-in pages showed three round trips to Postgres before the
view ran (Django's connection health check, the session, then the user, whose id is inside the
session's signed data), and the ORM building the two queries cost more CPU than Postgres took to
answer them. Here `load()` runs one written-out statement: the session's row, with the user of its
`user_id` column joined, with three of the user's one-to-one rows (`USER_JOINS`), and keeps that
user on the store. The statement is prepared on the server (`marketplace.prepared`): measured here
over 3,000 reads on one connection, about 270 us of Postgres CPU each planned every time against 60 us
prepared, and 170 against 110 us of Python CPU; and, being a request's first statement, it serves as
the connection's health check (`prepared_fetchone`), one round trip fewer.
`marketplace.auth_middleware` hands it to the authentication backends, which use it only when it is
the user the verified session data names (`prefetched_user`); anything else (an old row, a user
signed in by another path) falls back to the backends' own query. Saving, rotating, deleting and
expiring are Django's; `create_model_instance` keeps the column in step with the data on every save.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.db import connections, router
from django.utils import timezone

from marketplace.prepared import prepared_fetchone
from marketplace.roles import SELLER_ID

# The request's session store, while `marketplace.auth_middleware` asks the backends for the request's
# user; unset at any other time, so the user read with it never outlives the request.
_prefetched: contextvars.ContextVar[Any] = contextvars.ContextVar("prefetched_user", default=None)


def _session_model() -> Any:
    from marketplace.models import Session

    return Session


# One-to-one rows of the user read in the same statement: (the relation's name on the user, the
# field read, the attribute it lands on, None when the user has no such row). The core knows these
# names, not the apps: the seller profile's id (every header asks `roles.is_seller`), the buyer's
# Stripe Customer id (the listing page's "Buy now" asks whether the buyer ever paid) and the id of
# the buyer's cart (the cart, checkout). The apps that write these rows keep the attribute true for
# the rest of the request when they create one (`buyer_customer_ensure`, `cart_get_or_create`).
STRIPE_CUSTOMER_ID = "stripe_customer_ref"
CART_ID = "cart_ref"
USER_JOINS = (
    ("seller", "id", SELLER_ID),
    ("stripe_customer", "stripe_customer_id", STRIPE_CUSTOMER_ID),
    ("cart", "id", CART_ID),
)


@functools.cache
def _statement() -> tuple[str, list[str], list[list[Callable[..., Any]]]]:
    """The statement, the user's attribute names in the order it selects them, and the converters each
    column needs (none today, as for the ORM; kept so that a new user field stays right)."""
    sessions, users = _session_model()._meta, get_user_model()._meta
    connection = connections[router.db_for_read(_session_model())]
    fields: list[Any] = list(users.concrete_fields)
    converters = [
        connection.ops.get_db_converters(field.get_col(users.db_table)) + field.get_db_converters(connection)
        for field in fields
    ]
    columns = [f'u."{field.column}"' for field in fields]
    for n, (relation, read, _) in enumerate(USER_JOINS):
        related: Any = users.get_field(relation)
        other = related.related_model._meta
        # A scalar subquery, not a LEFT JOIN: Postgres plans it in a third of the time (EXPLAIN: 0.08
        # against 0.25 ms for the three joins), and the relation is one-to-one, so it has one row or none.
        columns.append(
            f'(SELECT j{n}."{other.get_field(read).column}" FROM "{other.db_table}" j{n}'  # noqa: S608  (_meta)
            f' WHERE j{n}."{related.field.column}" = u."{users.pk.column}")'
        )
    sql = (
        f'SELECT s."session_data", {", ".join(columns)} FROM "{sessions.db_table}" s'  # noqa: S608  (names from _meta)
        f' LEFT JOIN "{users.db_table}" u ON u."{users.pk.column}" = s."user_id"'
        f' WHERE s."session_key" = %s AND s."expire_date" > %s'
    )
    return sql, [field.attname for field in fields], converters


class SessionStore(DbSessionStore):
    loaded_user: Any = None  # the user read with the session (None: nobody, or not read yet)

    @classmethod
    def get_model_class(cls) -> Any:
        return _session_model()

    def load(self) -> dict[str, Any]:
        sql, names, converters = _statement()
        using = router.db_for_read(self.model)
        connection = connections[using]
        row = prepared_fetchone(sql, [self.session_key, timezone.now()], using=using)
        if row is None:
            self._session_key = None
            return {}
        data, values, joined = row[0], list(row[1 : 1 + len(names)]), row[1 + len(names) :]
        if values[names.index(get_user_model()._meta.pk.attname)] is not None:
            for i, convert in enumerate(converters):
                for converter in convert:
                    values[i] = converter(values[i], None, connection)
            user = get_user_model().from_db(using, names, values)
            for (_, _, attribute), value in zip(USER_JOINS, joined, strict=True):
                setattr(user, attribute, value)
            self.loaded_user = user
        return self.decode(data)

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance: Any = super().create_model_instance(data)
        try:
            instance.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            instance.user_id = None
        return instance


@contextlib.contextmanager
def prefetched_user(session: Any) -> Iterator[None]:
    """While inside, the authentication backends may take the user read with `session` (which is
    usually loaded inside, when Django reads the user's id from it)."""
    token = _prefetched.set(session)
    try:
        yield
    finally:
        _prefetched.reset(token)


def take_prefetched_user(user_id: Any) -> Any:
    """The user read with the session, if it is the one with this id (the session data's), else None."""
    user = getattr(_prefetched.get(), "loaded_user", None)
    return user if user is not None and user.pk == user_id else None
