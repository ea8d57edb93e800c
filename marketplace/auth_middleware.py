"""Django's AuthenticationMiddleware, handing the backends the user read with the session.

`marketplace.sessions` reads a session and its user in one statement; Django's `auth.get_user` then
asks the backend for the user by the id in the session data. Around that call the store's user is
offered to the backends (`marketplace.sessions.prefetched_user`), which take it only when its id is
that one; Django still verifies the session's password hash as always. The async path (`auser`) is
Django's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from marketplace.sessions import prefetched_user


def get_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        with prefetched_user(request.session):
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # checks the session middleware; sets auser
        request.user = SimpleLazyObject(lambda: get_user(request))  # type: ignore[assignment]
