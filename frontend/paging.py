"""The page number a list page was asked for, read one way everywhere."""

from __future__ import annotations

from django.http import HttpRequest


def page_number(request: HttpRequest, param: str = "page") -> int:
    """The page asked for (in `param`, for a page with two lists); anything but a number is the first
    page, as `Paginator.get_page` has it (cut to 12 digits first, so a page number of a million
    digits is not parsed)."""
    try:
        return int(request.GET.get(param, "1")[:12])
    except ValueError:
        return 1
