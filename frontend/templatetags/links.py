"""`{% load links %}{% link 'cart' %}`: the URL of a route that takes no arguments, reversed once per
process (per URLconf and script prefix) instead of on every render.

Why: every page's header names about a dozen such routes. A profile of the signed-in storefront pages
showed `{% url %}` at 10-15% of a page's CPU: it reverses on every render, though these URLs change
only with the code. The result is the same string `{% url %}` gives; routes with arguments keep
`{% url %}`.
"""

from __future__ import annotations

import functools

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

register = template.Library()


@functools.lru_cache(maxsize=512)
def _reversed(urlconf: str | None, prefix: str, name: str) -> SafeString:
    del prefix  # part of the key only: `reverse` reads the script prefix itself
    return conditional_escape(reverse(name, urlconf=urlconf))


@register.simple_tag
def link(name: str) -> SafeString:
    """The escaped URL of route `name`, as `{% url name %}` renders it."""
    urlconf = get_urlconf()
    if urlconf is not None and not isinstance(urlconf, str):  # a module set by a middleware: not a key
        return conditional_escape(reverse(name, urlconf=urlconf))
    return _reversed(urlconf, get_script_prefix(), name)
