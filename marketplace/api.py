"""Platform-level API: who am I."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from marketplace.roles import is_platform_admin, is_seller

router = Router(tags=["platform"])


class MeOut(Schema):
    email: str
    is_seller: bool
    is_platform_admin: bool


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    user = request.user
    return MeOut(email=user.email, is_seller=is_seller(user), is_platform_admin=is_platform_admin(user))  # type: ignore[union-attr]
