"""Access rules for pages, one per face."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from marketplace.roles import is_platform_admin

View = Callable[..., HttpResponse]


def platform_admin_required(view: View) -> View:
    """Anyone else gets a 404: the console does not admit it exists."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_platform_admin(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
