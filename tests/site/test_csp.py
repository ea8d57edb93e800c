"""Content-Security-Policy: every page and the API send it, no template needs what it forbids, and pages
(the API docs' Swagger UI first) work under it in Chromium without a single violation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import log_in
from tests.site.conftest import ROLES, World
from tests.site.pages import page_url, project_pages, real_path_values

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend" / "templates"
API_URLS = ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/listings", "/api/v1/me", "/api/v1/nowhere")


def directives(header: str) -> dict[str, set[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: set(sources) for name, *sources in parts}


def assert_strict(header: str | None, url: str) -> None:
    assert header, f"{url} has no Content-Security-Policy"
    policy = directives(header)
    assert "'self'" in policy["script-src"], url
    assert not {"'unsafe-inline'", "'unsafe-eval'"} & (policy["script-src"] | policy["style-src"]), url
    assert policy["object-src"] == {"'none'"} and policy["frame-ancestors"] == {"'none'"}, url


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_api_answer_sends_the_policy(world: World, role: str) -> None:
    client = world.client(role)
    real = real_path_values(world)
    urls = [url for route, pattern in project_pages() if (url := page_url(route, pattern, real))]
    assert len(urls) > 60
    for url in [*urls, *API_URLS]:
        response = client.get(url)
        assert_strict(response.get("Content-Security-Policy"), f"{role} {url} ({response.status_code})")


def test_no_template_needs_inline_script_style_or_handlers() -> None:
    """What the policy would block: a <script> without src or nonce, a style="" or an on...= handler."""
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "nonce=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.name}: {tag}")
        offenders += [f"{template.name}: {m}" for m in re.findall(r"""\s(?:style|on[a-z]+)=["']""", text)]
    assert not offenders, offenders


def watch_violations(page: Page) -> list[str]:
    """Collect every CSP violation the page reports, and console errors, from before its first script."""
    seen: list[str] = []

    def on_console(message: Any) -> None:
        url = message.location.get("url", "")
        if message.type == "error":
            seen.append(f"{message.text} ({url})")

    page.on("console", on_console)
    page.expose_function("__cspViolation", lambda text: seen.append(f"violation: {text}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__cspViolation(e.violatedDirective + ' blocked ' + e.blockedURI));"
    )
    return seen


@pytest.mark.e2e
def test_the_api_docs_work_under_the_policy_in_chromium(world: World, live_server: Any, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = watch_violations(page)
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None
    assert_strict(response.headers.get("content-security-policy"), "/api/v1/docs")
    # Swagger UI ran (its scripts), fetched the document (connect-src) and drew every operation.
    expect(page.locator(".opblock").nth(19)).to_be_visible()
    operation = page.locator(".opblock-get", has=page.get_by_text("/api/v1/listings", exact=True))
    operation.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(page.locator(".live-responses-table")).to_contain_text("Blue mug")
    assert seen == []
    context.close()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("role", "paths"),
    [
        ("anonymous", lambda w: ["/", f"/listing/{w.listing.pk}/", "/cart/", "/accounts/login/"]),
        ("buyer", lambda w: [f"/orders/{w.order.pk}/", "/cart/", "/accounts/email/"]),
        ("seller", lambda w: ["/sell/", f"/sell/listings/{w.listing.pk}/edit/", f"/sell/orders/{w.order.pk}/"]),
        ("admin", lambda w: ["/console/", f"/console/sellers/{w.seller.pk}/", "/console/events/", "/console/fees/"]),
    ],
)
def test_pages_show_without_a_policy_violation_in_chromium(
    world: World, live_server: Any, browser: Browser, role: str, paths: Any
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = watch_violations(page)
    if world.users[role] is not None:
        log_in(page, live_server.url, world.users[role].email)
    for path in paths(world):
        page.goto(live_server.url + path)
        expect(page.locator("main h1").first).to_be_visible()
        # The site's stylesheet loaded and applies (style-src 'self').
        assert page.evaluate(
            "[...document.styleSheets].some(s => s.href.endsWith('site.css') && s.cssRules.length > 10)"
        )
    assert seen == [], seen
    context.close()
