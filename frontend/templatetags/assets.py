"""`{% load assets %}{% asset 'css/site.css' %}` and `{% htmx %}`: what `{% static %}` and django-htmx's
`{% htmx_script %}` render, computed once per process instead of on every render.

Why: every page's `<head>` names three static files. A profile (callgrind, instructions per request in
one process) of the signed-in home page put those three tags at about 9% of the page: each asks the
static files storage to build the URL (in production the manifest storage looks the hashed name up as
well), though the answer changes only with a deploy. With `DEBUG` on nothing is kept (files change under
a running development server), and a change of the settings these read (`override_settings` in tests)
forgets what was kept.
"""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django_htmx.jinja import htmx_script

register = template.Library()


def _asset_url(path: str) -> SafeString:
    return conditional_escape(static(path))


def _htmx_tag() -> SafeString:
    return htmx_script(version=2, minified=True)


_asset = functools.lru_cache(maxsize=128)(_asset_url)
_htmx = functools.lru_cache(maxsize=1)(_htmx_tag)


@register.simple_tag
def asset(path: str) -> SafeString:
    """The escaped URL of static file `path`, as `{% static path %}` renders it."""
    return _asset_url(path) if settings.DEBUG else _asset(path)


@register.simple_tag
def htmx() -> SafeString:
    """The `<script>` of htmx 2 (minified, no nonce: no template gives one), as `{% htmx_script %}`."""
    return _htmx_tag() if settings.DEBUG else _htmx()


@receiver(setting_changed, dispatch_uid="frontend_assets_setting_changed")
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting in ("STATIC_URL", "STORAGES", "STATIC_ROOT", "STATICFILES_DIRS", "DEBUG"):
        _asset.cache_clear()
        _htmx.cache_clear()
