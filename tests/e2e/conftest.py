from __future__ import annotations

import pytest
from playwright.sync_api import Page


@pytest.fixture(autouse=True)
def _short_browser_timeouts(page: Page) -> None:
    """Fail in seconds, not half a minute: every step here is a local round trip."""
    page.set_default_timeout(10_000)
