from __future__ import annotations

from django.http import HttpRequest

from marketplace.roles import is_platform_admin, is_seller


def roles(request: HttpRequest) -> dict[str, bool]:
    """Which faces the navigation shows; computed once per request."""
    user = getattr(request, "user", None)
    return {"user_is_seller": is_seller(user), "user_is_platform_admin": is_platform_admin(user)}
