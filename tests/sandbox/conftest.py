"""Sandbox tests: pure HTTP against an embedded sandbox through the real SDK; no Django involved."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import Page

from stripe_sandbox import Sandbox

from .helpers import client_for

AXE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"


@pytest.fixture
def client(sb: Sandbox) -> stripe.StripeClient:
    return client_for(sb)


@pytest.fixture(scope="session")
def axe_js() -> str:
    """axe-core from npm, kept under .cache/ (no CDN at test time)."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is needed to fetch axe-core")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(AXE_DIR),
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_JS.read_text()


@pytest.fixture
def page_is_usable(page: Page, axe_js: str) -> Callable[[], None]:
    """Check the page in the browser now: no critical or serious axe-core violation, and no sideways scroll at
    375 px (a table may scroll inside its own box)."""

    def check() -> None:
        page.add_script_tag(content=axe_js)
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
