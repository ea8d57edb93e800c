from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from marketplace.roles import is_platform_admin, is_seller


def roles(request: HttpRequest) -> dict[str, bool | int]:
    """Which faces the navigation shows, and for a seller how many refund requests wait for an
    answer (the count in the nav); computed once per request."""
    user = getattr(request, "user", None)
    seller = is_seller(user)
    return {
        "user_is_seller": seller,
        "user_is_platform_admin": is_platform_admin(user),
        "open_refund_requests": _open_refund_requests(user) if seller else 0,
    }


def _open_refund_requests(user: Any) -> int:
    from orders.models import RefundRequest, RefundRequestStatus

    return RefundRequest.objects.filter(order__seller__user=user, status=RefundRequestStatus.OPEN).count()
