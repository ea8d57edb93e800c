from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from marketplace.roles import SELLER_ID, is_platform_admin, is_seller
from orders.selectors import open_refund_request_count


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
    seller_id = getattr(user, SELLER_ID, None)
    if seller_id is None:
        seller_id = user.seller.pk
    return open_refund_request_count(seller_id=seller_id)
