"""The sandbox's hosted pages, opened in a browser, log no errors: they asked for /favicon.ico,
which the sandbox does not serve, and the 404 was an error in every page's console."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import ConsoleMessage, Page


def test_a_hosted_page_logs_no_console_errors(page: Page, sandbox: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda message: _keep_errors(message, errors))
    page.goto(f"{sandbox.url}/_sandbox/", wait_until="networkidle")
    assert page.title() and errors == []


def _keep_errors(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(message.text)
