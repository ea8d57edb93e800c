"""Count the requests the app sends to Stripe (the sandbox), by method and path, without patching the
gateway: the SDK's HTTP client sends them through `requests.Session.request`, which this wraps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings


@contextmanager
def stripe_requests(monkeypatch: Any) -> Iterator[list[tuple[str, str]]]:
    """The (method, path) of every request to `STRIPE_API_BASE` made inside the block, in order."""
    calls: list[tuple[str, str]] = []
    send = requests.Session.request

    def counted(self: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if str(url).startswith(str(settings.STRIPE_API_BASE)):
            calls.append((method.upper(), urlsplit(str(url)).path))
        return send(self, method, url, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(requests.Session, "request", counted)
        yield calls
