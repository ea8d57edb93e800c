"""The project's pages, from the URL resolver (so a new page cannot escape the tests that sweep them),
and the path values that make each one name a row that exists in the `world` fixture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from fees.models import FeeRule
from tests.site.conftest import World

# The API is swept by schemathesis against its own document; Django's admin is Django's code.
NOT_PAGES = ("api/", "django-admin/")


def patterns(resolvers: list[Any] | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every URL pattern of the project with its full route, from the resolver."""
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def path_params(route: str, pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.regex.groupindex) or re.findall(r"<(?:\w+:)?(\w+)>", route)


def url_for(name: str, values: dict[str, Any]) -> str | None:
    try:
        return reverse(name, kwargs=values)
    except NoReverseMatch:
        return None  # the converter refuses this value: the resolver answers 404 before any view


def page_url(route: str, pattern: URLPattern, real: dict[str, Any]) -> str | None:
    """The page's URL with real rows in its path (None for a pattern without a name)."""
    if not pattern.name:
        return None
    return url_for(pattern.name, {p: real.get(p, 1) for p in path_params(route, pattern)})


def real_path_values(world: World) -> dict[str, Any]:
    """Path values by parameter name: rows of the world, and keys allauth will simply not find."""
    cart_item = world.order.buyer.cart.items.first()
    return {
        "slug": world.listing.category.slug,
        "seller_id": world.seller.pk,
        "listing_id": world.listing.pk,
        "image_id": world.listing.images.first().pk,
        "item_id": cart_item.pk if cart_item else 1,
        "order_id": world.order.pk,
        "event_id": world.event.pk,
        "rule_id": FeeRule.objects.values_list("pk", flat=True).first(),
        "key": "not-a-real-key",
        "uidb36": "1",
    }


def project_pages() -> list[tuple[str, URLPattern]]:
    """Every page of the project: (route, pattern), the API and Django's admin left out."""
    return [(route, pattern) for route, pattern in patterns() if not route.startswith(NOT_PAGES)]
