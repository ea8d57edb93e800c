"""Sandbox tests: pure HTTP against an embedded sandbox through the real SDK; no Django involved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import Page

from stripe_sandbox import Sandbox

from .helpers import client_for


@pytest.fixture
def client(sb: Sandbox) -> stripe.StripeClient:
    return client_for(sb)


@pytest.fixture
def page_is_usable(page: Page, axe_js: Path) -> Callable[[], None]:
    """Check the page in the browser now: no critical or serious axe-core violation, and no sideways scroll at
    375 px (a table may scroll inside its own box)."""

    def check() -> None:
        page.add_script_tag(path=axe_js)
        found = page.evaluate(
            "async () => (await axe.run()).violations"
            ".filter(v => ['critical', 'serious'].includes(v.impact)).map(v => v.id + ': ' + v.nodes[0].html)"
        )
        assert found == [], (page.url, found)
        size = page.viewport_size
        page.set_viewport_size({"width": 375, "height": 800})
        try:
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url
        finally:
            if size:
                page.set_viewport_size(size)

    return check
