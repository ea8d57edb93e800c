"""Thin shared fixtures. Real parts: Postgres (CI), Redis, the sandbox over HTTP, Chromium."""

from __future__ import annotations

import os
from typing import Any

import pytest

# pytest-django's live_server + Playwright's sync API run Django ORM calls from inside an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--disable-gpu", "--disable-quic"]}


@pytest.fixture
def clean_cache() -> None:
    """Rate-limit counters live in the (real, shared) cache: each test starts from zero."""
    from django.core.cache import cache

    cache.clear()
