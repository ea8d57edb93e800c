"""The three faces of the platform, decided in one place.

- buyer: any signed-in user;
- seller: a user with a seller profile;
- platform admin: a staff user in the "platform admins" group.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def is_buyer(user: Any) -> bool:
    return bool(user and user.is_authenticated)


# The id of the user's seller profile, or None, as `marketplace.auth_backends` loads the signed-in user.
SELLER_ID = "seller_profile_id"


def is_seller(user: Any) -> bool:
    if not is_buyer(user):
        return False
    if hasattr(user, SELLER_ID):
        return getattr(user, SELLER_ID) is not None
    return hasattr(user, "seller")


def is_platform_admin(user: Any) -> bool:
    if not is_buyer(user) or not user.is_staff or not user.is_active:
        return False
    cached = getattr(user, "_is_platform_admin", None)
    if cached is None:
        cached = user.groups.filter(name=settings.PLATFORM_ADMINS_GROUP).exists()
        user._is_platform_admin = cached
    return bool(cached)
