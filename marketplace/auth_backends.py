"""The authentication backends: Django's and allauth's, loading a signed-in user together with whether
the user has a seller profile (the id of the profile, or None), in one query.

Every page's header asks whether the user is a seller (`marketplace.roles.is_seller`, for the Sell
area's links), which cost a query of its own on every signed-in request: one of three, with the session
and the user, in a profile of the storefront. Only the id is joined, not the profile: its JSON columns
(Stripe's requirements) cost more to decode than the query they saved. The statement is written out
(the same SQL the ORM builds for `annotate(seller__id).get(pk=...)`): the profile showed building that
query with the ORM cost twice what running it did, on every signed-in request. Table and column names
come from the models' `_meta`; the relation is named, not imported: this core knows the name of the
role, as `roles` does, and nothing else of the sellers app.

On a page request the user usually comes already read with the session, in the same statement
(`marketplace.sessions`): then no query is made here at all.

Sessions store the path of the backend that signed the user in, so sessions made under the previous
paths (Django's and allauth's own classes) end once: those users sign in again.
"""

from __future__ import annotations

import functools
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import ValidationError

from marketplace.roles import SELLER_ID
from marketplace.sessions import take_prefetched_user


@functools.cache
def _user_sql() -> str:
    users = get_user_model()._meta
    seller_field: Any = users.get_field("seller")
    sellers = seller_field.related_model._meta
    user_pk, seller_pk, seller_user = users.pk.column, sellers.pk.column, sellers.get_field("user").column
    return (
        f'SELECT u.*, s."{seller_pk}" AS {SELLER_ID} FROM "{users.db_table}" u'  # noqa: S608  (names from _meta)
        f' LEFT JOIN "{sellers.db_table}" s ON s."{seller_user}" = u."{user_pk}" WHERE u."{user_pk}" = %s'
    )


def _get_user(backend: DjangoModelBackend, user_id: Any) -> Any:
    user_model = get_user_model()
    try:
        user_id = user_model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    user = take_prefetched_user(user_id)
    if user is None:
        found = list(user_model._default_manager.raw(_user_sql(), [user_id]))
        if not found:
            return None
        user = found[0]
    return user if backend.user_can_authenticate(user) else None


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id: Any) -> Any:
        return _get_user(self, user_id)


class AuthenticationBackend(AllauthBackend):  # type: ignore[misc]
    def get_user(self, user_id: Any) -> Any:
        return _get_user(self, user_id)
