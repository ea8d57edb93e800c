"""The templates' `csrf_token`: Django's `get_token`, drawing its random characters from one read of the
system's random source instead of one read per character.

Why: a profile of the signed-in storefront pages (whose logout form needs the token) showed Django's
token at about 5% of a page's time: a new secret and the mask that hides it in the page (against BREACH)
are 32 characters each, and `get_random_string` draws each character with `secrets.choice`, one
`os.urandom` call apiece, 64 per request. Here each string is one `os.urandom` read, turned into
characters by rejection sampling (a byte is used only below 248, the largest multiple of the 62
characters' count, so every character stays equally likely), from the same source.

Everything else is Django's, unchanged: the same secret in `request.META` (read from the cookie, or a new
one marked to be sent), the same masking (`_mask_cipher_secret`'s arithmetic), so `CsrfViewMiddleware`
checks these tokens and sets the cookie as it does Django's own. `settings.TEMPLATES` lists this after
Django's built-in `csrf` context processor, whose `csrf_token` it replaces.
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.functional import SimpleLazyObject

_COUNT = len(CSRF_ALLOWED_CHARS)
_LIMIT = 256 - 256 % _COUNT  # 248: bytes from here up would favour the first characters
_INDEX = {char: i for i, char in enumerate(CSRF_ALLOWED_CHARS)}


def random_string(length: int = CSRF_SECRET_LENGTH) -> str:
    """`length` characters of CSRF_ALLOWED_CHARS, each equally likely, from `os.urandom`."""
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(CSRF_ALLOWED_CHARS[b % _COUNT] for b in os.urandom(length + 8) if b < _LIMIT)
    return "".join(chars[:length])


def masked(secret: str) -> str:
    """The secret hidden under a new mask, as Django's `_mask_cipher_secret` makes it."""
    mask = random_string()
    cipher = "".join(CSRF_ALLOWED_CHARS[(_INDEX[s] + _INDEX[m]) % _COUNT] for s, m in zip(secret, mask, strict=True))
    return mask + cipher


def get_token(request: HttpRequest) -> str:
    """Django's `django.middleware.csrf.get_token`, with the random strings above."""
    if "CSRF_COOKIE" in request.META:
        secret = request.META["CSRF_COOKIE"]
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # renew the cookie's expiry, as Django does
    else:
        secret = random_string()
        request.META.update({"CSRF_COOKIE": secret, "CSRF_COOKIE_NEEDS_UPDATE": True})
    return masked(secret)


def csrf(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `csrf_token`, made only when a template uses it (as Django's)."""
    return {"csrf_token": SimpleLazyObject(lambda: get_token(request))}
