"""The control API and the hosted pages act on a form only when it comes from the sandbox's own pages,
and the sandbox answers only to the names a machine gives itself.

The demo runs the app and the sandbox side by side (127.0.0.1:8000 and 127.0.0.1:12111: one site to a
browser), and the control API acts for whoever asks: no key, by design, so a tester's plain HTML form works.
A page of another origin could post to it as well, the app's as much as any site the tester visits while
the demo runs: empty the sandbox under the app, send every event (buyers' emails in them) to another
address, lose a seller's disputes, fail its payouts. A browser names the page a form comes from (`Origin`);
a script names none and keeps working, as the seed commands and the tests do.
"""

from __future__ import annotations

import html
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
from playwright.sync_api import Page, expect

from stripe_sandbox import Sandbox

from .helpers import control, destination_session, get_json, onboarded_account

# The demo app's own origin (the sandbox is on another port of the same host), another site, and the
# opaque origin a browser sends from a sandboxed frame or a page told to send no referrer.
OTHER_ORIGINS = ["http://127.0.0.1:8000", "https://attacker.example", "null", "http://[x"]


def _post(url: str, origin: str, **data: Any) -> tuple[int, str]:
    """A form posted by a browser on `origin`."""
    headers = {"Accept": "text/html,*/*;q=0.8", "Origin": origin}
    req = urllib.request.Request(url, data=urlencode(data).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize("origin", OTHER_ORIGINS)
def test_a_control_form_from_another_origin_is_refused_and_changes_nothing(
    client: stripe.StripeClient, sb: Sandbox, origin: str
) -> None:
    seller = onboarded_account(client, sb)
    before = get_json(sb, "/_sandbox/clock")

    status, page = _post(f"{sb.url}/_sandbox/clock/advance", origin, seconds=86_400)
    assert status == 403
    assert f"only from the sandbox's own pages; it came from {origin}." in html.unescape(page)
    assert get_json(sb, "/_sandbox/clock")["offset"] == before["offset"]

    status, _ = _post(f"{sb.url}/_sandbox/webhooks", origin, webhook_url="https://attacker.example/hook")
    assert status == 403
    assert sb.core.hooks.config.url is None

    status, _ = _post(f"{sb.url}/_sandbox/accounts/{seller}/requirements", origin, past_due="external_account")
    assert status == 403
    assert client.v1.accounts.retrieve(seller).charges_enabled

    status, _ = _post(f"{sb.url}/_sandbox/reset", origin)
    assert status == 403
    assert client.v1.accounts.retrieve(seller).id == seller


def test_a_hosted_checkout_form_from_another_origin_pays_nothing(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session = destination_session(client, seller, 5_000, 500)
    status, _ = _post(session.url, "https://attacker.example", card="4242424242424242", email="b@example.com")
    assert status == 403
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_a_form_from_the_sandboxs_own_page_and_a_script_still_act(client: stripe.StripeClient, sb: Sandbox) -> None:
    status, page = _post(f"{sb.url}/_sandbox/clock/advance", sb.url, seconds=60)
    assert status == 200, page
    assert get_json(sb, "/_sandbox/clock")["offset"] == 60
    assert control(sb, "clock/advance", seconds=60)["offset"] == 120  # no Origin: a script


def test_no_other_site_can_frame_a_sandbox_page(sb: Sandbox) -> None:
    """Framed under a page of another origin, the control page's buttons could be clicked for the tester
    (and its form's post would come from the sandbox's own page)."""
    for path in ("/_sandbox/", "/hosted/checkout/cs_missing"):
        try:
            with urllib.request.urlopen(f"{sb.url}{path}") as resp:
                headers = resp.headers
        except urllib.error.HTTPError as exc:
            headers = exc.headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Content-Security-Policy"] == "frame-ancestors 'none'", path


@pytest.mark.e2e
def test_a_browser_posting_a_control_form_from_the_apps_origin_reads_why_nothing_happened(
    page: Page, sb: Sandbox, page_is_usable: Callable[[], None]
) -> None:
    """Chromium names the app's page as the form's origin; the sandbox answers with its refusal page."""
    app_page = "http://127.0.0.1:8000/innocent-looking-page"
    form = (
        '<!doctype html><html lang="en"><head><title>A page</title></head><body><main>'
        f'<form method="post" action="{sb.url}/_sandbox/reset"><button>Win a prize</button></form>'
        "</main></body></html>"
    )
    page.route(app_page, lambda route: route.fulfill(body=form, content_type="text/html"))
    page.goto(app_page)
    page.get_by_role("button", name="Win a prize").click()
    expect(page.get_by_role("alert")).to_have_text(
        "This form is taken only from the sandbox's own pages; it came from http://127.0.0.1:8000."
    )
    page_is_usable()
    page.get_by_role("link", name="Back to the control page").click()
    expect(page).to_have_url(f"{sb.url}/_sandbox/")


def _as_host(url: str, host: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(
        url, method=method, headers={"Host": host, **(headers or {})}, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize("name", ["attacker.example", "rebind.attacker.example", "[x"])
def test_a_page_whose_name_was_rebound_to_the_sandbox_gets_nothing(
    client: stripe.StripeClient, sb: Sandbox, name: str
) -> None:
    """DNS rebinding: a site the tester visits points its own name at 127.0.0.1 once its page is
    loaded; the page's requests then go to the sandbox as same-origin ones (Host and Origin both its
    name), so it could read every object and post any control form, or call the API with any test key."""
    seller = onboarded_account(client, sb)
    port = sb.url.rsplit(":", 1)[1]
    host = f"{name}:{port}"
    status, page = _as_host(f"{sb.url}/_sandbox/", host)
    assert status == 403
    assert seller not in page
    status, _ = _as_host(f"{sb.url}/_sandbox/reset", host, "POST", {"Origin": f"http://{host}"})
    assert status == 403
    status, body = _as_host(f"{sb.url}/v1/accounts/{seller}", host, headers={"Authorization": "Bearer sk_test_x"})
    assert status == 403
    assert seller not in body
    assert client.v1.accounts.retrieve(seller).id == seller


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "stripe-sandbox", "[::1]", "0.0.0.0"])
def test_the_names_a_machine_or_a_compose_network_gives_the_sandbox_are_answered(sb: Sandbox, name: str) -> None:
    port = sb.url.rsplit(":", 1)[1]
    status, _ = _as_host(f"{sb.url}/_sandbox/clock", f"{name}:{port}")
    assert status == 200
