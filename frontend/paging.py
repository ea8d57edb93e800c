"""The page number a list page was asked for, read one way everywhere."""

from __future__ import annotations

from django.http import HttpRequest


def page_number(request: HttpRequest) -> int:
    """The page asked for; anything but a number is the first page, as `Paginator.get_page` has it
    (cut to 12 digits first, so a page number of a million digits is not parsed)."""
    try:
        return int(request.GET.get("page", "1")[:12])
    except ValueError:
        return 1
