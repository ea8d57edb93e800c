"""No page or email of the app links to a URL that does not exist.

A crawler signs in as each role (anonymous, buyer, seller, platform admin), follows every link it
finds from the pages those people start on, and checks each `href` and form `action` against the
URL configuration; every page it reaches must answer without an error. The emails a real order and
a seller's requirements send are checked the same way, and the templates are scanned for
hard-coded paths, which `{% url %}` would have caught had they been written with it.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import Resolver404, resolve

from orders import services as order_services
from sellers.services import seller_refresh_from_stripe
from tests.catalog.factories import CategoryFactory
from tests.factories import UserFactory, make_platform_admin
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in
from tests.sellers.conftest import set_requirements

pytestmark = pytest.mark.django_db

LINK = re.compile(r"""\b(?:href|action)=["']([^"'#]*)""")
NOT_PAGES = ("/static/", "/media/", "/django-admin/")  # files, and Django's own admin (its links are its own)
START = {
    "anonymous": ["/", "/cart/", "/accounts/login/", "/accounts/signup/"],
    "buyer": ["/", "/cart/", "/checkout/", "/orders/", "/sell/"],
    "seller": ["/sell/", "/sell/listings/", "/sell/orders/", "/orders/"],
    "admin": ["/console/", "/console/sellers/", "/console/events/", "/console/fees/"],
}
TEMPLATES = Path(settings.BASE_DIR) / "frontend" / "templates"


def _internal_path(url: str) -> str | None:
    """The path of a link into this site, or None for mailto:, Stripe's pages and other sites."""
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if parts.netloc and parts.netloc not in ("testserver", urlsplit(settings.SITE_URL).netloc):
        return None
    return parts.path or None


def _dead(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return True
    return False


def crawl(client: Client, start: list[str], limit: int = 150) -> tuple[set[str], dict[str, str]]:
    """(pages visited, {dead link: page it was on}); follows GET links, checks POST targets."""
    seen: set[str] = set()
    dead: dict[str, str] = {}
    queue = deque(start)
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code in (301, 302, 303):
            target = _internal_path(response["Location"])
            if target and not target.startswith(NOT_PAGES):
                queue.append(target)
            continue
        assert response.status_code in (200, 404), (path, response.status_code)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        for match in LINK.finditer(html):
            target = _internal_path(match.group(1))
            if target is None or target.startswith(("/static/", "/media/")):
                continue
            if _dead(target):
                dead.setdefault(target, path)
            elif match.group(0).startswith("href") and not target.startswith(NOT_PAGES):
                queue.append(target)
    return seen, dead


@pytest.fixture
def marketplace(sandbox: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A paid order between a real (sandbox) seller and a buyer, an item in the buyer's cart, a second
    seller whom Stripe asks for more by a deadline, and an admin: every role has something to show."""
    CategoryFactory(name="Kitchen", slug="kitchen")
    seller = active_seller(sandbox, shop="Kiln & Co")
    bowl = listing_of(seller, price=10_000, title="Celadon bowl")
    listing_of(seller, price=1_250, title="Blue mug")
    buyer = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_services.checkout_start(
            buyer=buyer, cart=cart_with(buyer, (bowl, 1)), seller_id=seller.pk, currency="usd", **URLS
        ).order
        pay(sandbox, str(order.checkout_session_id))
        order_services.order_sync_from_stripe(order=order)
    cart_with(buyer, (bowl, 1))
    other = active_seller(sandbox, shop="Lisbon Linen")
    with django_capture_on_commit_callbacks(execute=True):
        set_requirements(
            sandbox,
            str(other.stripe_account_id),
            currently_due=["individual.id_number"],
            past_due=[],
            current_deadline=int(order.created_at.timestamp()) + 5 * 86400,
        )
        seller_refresh_from_stripe(seller=other)
    return {"seller": seller, "buyer": buyer, "order": order, "admin": make_platform_admin()}


def test_no_page_links_to_a_url_that_does_not_exist(marketplace: dict[str, Any]) -> None:
    clients = {
        "anonymous": Client(),
        "buyer": signed_in(marketplace["buyer"]),
        "seller": signed_in(marketplace["seller"].user),
        "admin": signed_in(marketplace["admin"]),
    }
    visited: set[str] = set()
    for role, client in clients.items():
        seen, dead = crawl(client, START[role])
        assert dead == {}, f"{role}: links to URLs that do not exist (link: page): {dead}"
        visited |= seen
    # The crawl reached the pages that matter, not just the start pages.
    order, seller = marketplace["order"], marketplace["seller"]
    for page in (f"/orders/{order.pk}/", f"/sell/orders/{order.pk}/", f"/shop/{seller.pk}/", "/sell/listings/new/"):
        assert page in visited, sorted(visited)
    assert any(p.startswith("/listing/") for p in visited) and f"/console/sellers/{seller.pk}/" in visited
    print(f"{len(visited)} pages crawled")


def test_no_email_links_to_a_url_that_does_not_exist(marketplace: dict[str, Any]) -> None:
    bodies = [m.body for m in mail.outbox]
    subjects = " | ".join(m.subject for m in mail.outbox)
    # The order confirmation, the seller's new order, and the second seller's "action required".
    assert len(bodies) >= 3 and "Action required" in subjects, subjects
    links = [url for body in bodies for url in re.findall(r"https?://\S+", body)]
    assert links
    for url in links:
        path = _internal_path(url)
        assert path is not None and not _dead(path), url


def test_templates_hold_no_hard_coded_internal_paths() -> None:
    """Links are written with {% url %}, which fails loudly when the name does not exist; a literal
    path (say "/sell/disputes/") would not, so none may appear."""
    literal = re.compile(r"""\b(?:href|action)=["'](/[^"'{]*)["']""")
    found = {
        f"{path.relative_to(TEMPLATES)}: {m.group(1)}"
        for path in TEMPLATES.rglob("*.*")
        for m in literal.finditer(path.read_text())
        if _dead(m.group(1))
    }
    assert found == set()


def test_the_favicon_browsers_ask_for_on_their_own_is_there(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]
