"""`{% load nav %}{% main_nav %}`: the site's main navigation (`_nav.html`), rendered once per process for
each kind of visitor and reused.

Why: a profile (callgrind, instructions per request in one process) of the signed-in storefront pages
put the header at about 18% of a page: some fifteen links and conditions evaluated on every request,
though what they render depends only on which faces the visitor has (signed in, seller, platform
admin, from `frontend.context_processors.roles`) and, for a seller, the number of refund requests
waiting. That is the whole key of a rendered navigation, so one rendering serves every visitor of the
same kind and nothing of one person is kept: the visitor's email and the logout form with its CSRF
token stay in `base.html`, rendered for each request. The links depend on the URLconf and the script
prefix, which are part of the key too (as in `links.py`). With `DEBUG` on, nothing is kept, so that an
edited `_nav.html` shows at once.
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

TEMPLATE = "_nav.html"


def _render(signed_in: bool, seller: bool, platform_admin: bool, open_refund_requests: int) -> SafeString:
    context = {
        "signed_in": signed_in,
        "user_is_seller": seller,
        "user_is_platform_admin": platform_admin,
        "open_refund_requests": open_refund_requests,
    }
    return mark_safe(render_to_string(TEMPLATE, context))  # noqa: S308  (our template, escaping as it does)


@functools.lru_cache(maxsize=256)
def _kept(urlconf: str | None, prefix: str, *kind: Any) -> SafeString:
    del urlconf, prefix  # part of the key only: the links read them themselves
    return _render(*kind)


@register.simple_tag(takes_context=True)
def main_nav(context: Any) -> SafeString:
    user = context.get("user")
    signed_in = bool(user is not None and user.is_authenticated)
    kind = (
        signed_in,
        bool(context.get("user_is_seller")),
        bool(context.get("user_is_platform_admin")),
        int(context.get("open_refund_requests") or 0),
    )
    urlconf = get_urlconf()
    if settings.DEBUG or (urlconf is not None and not isinstance(urlconf, str)):
        return _render(*kind)
    return _kept(urlconf, get_script_prefix(), *kind)
