"""A keyboard user sees where the focus is: the ring drawn round the focused link, button, box or the
phone's Menu is at least 3:1 against the page around it (WCAG 1.4.11, non-text contrast). The ring was
a pale indigo (#a5b4fc, 2.0:1 on white), hard to find on a page of forms. Chromium, the live server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_stands_out_from_the_page(live_server: Any, page: Page, clean_cache: None) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    rings = {}
    for _ in range(6):  # the skip link, the brand, the Menu, then the form's boxes and buttons
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        expect(focused).to_have_count(1)
        name, ring, style = focused.evaluate(
            "e => [e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 20),"
            " getComputedStyle(e).outlineColor, getComputedStyle(e).outlineStyle]"
        )
        assert style != "none", f"{name}: no focus ring"
        rings[name] = ring
    for background in ("rgb(255, 255, 255)", "rgb(246, 249, 252)"):  # the cards and the page
        weak = {n: f"{_contrast(r, background):.1f}:1" for n, r in rings.items() if _contrast(r, background) < 3}
        assert weak == {}, f"focus rings under 3:1 on {background}"
