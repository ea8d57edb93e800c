"""The site's own 404 and 500 pages: in its layout, with a way back that fits where the visitor was,
never Django's debug page; in the test settings and in the running demo (DEBUG off there too)."""

from __future__ import annotations

import re

import pytest
import requests
from django.db import connection
from django.test import Client

from tests.demo.conftest import Demo
from tests.factories import UserFactory

DEBUG_PAGE_MARKERS = ("Using the URLconf", "DEBUG = True", "Traceback", "Request Method:")


def assert_site_page(html: str, heading: str) -> None:
    assert 'class="site-header"' in html and 'class="site-footer"' in html  # base.html's layout
    assert f"<h1>{heading}</h1>" in html
    assert '<a href="/">Back to the storefront</a>' in html
    assert not [m for m in DEBUG_PAGE_MARKERS if m in html]


def links(html: str) -> list[tuple[str, str]]:
    """The error card's links, as (text, href)."""
    card = html.split('data-testid="error-page"', 1)[1].split("</section>", 1)[0]
    return [(text, href) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', card)]


pytestmark = pytest.mark.urls("tests.demo.urls")


@pytest.mark.django_db
def test_a_missing_page_is_the_sites_404_with_a_way_back(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert_site_page(html, "Page not found")
    assert "There is nothing at this address" in html
    assert links(html) == [("Back to the storefront", "/")]


@pytest.mark.django_db
def test_a_views_own_404_sentence_is_shown_with_the_way_back_of_its_area(client: Client) -> None:
    buyer = UserFactory()
    client.force_login(buyer)
    html = client.get("/orders/987654/").content.decode()
    assert_site_page(html, "Page not found")
    assert "No such order." in html and buyer.email in html  # rendered with the request: signed in
    assert links(html) == [("Your orders", "/orders/"), ("Back to the storefront", "/")]
    html = client.get("/sell/orders/1/").content.decode()
    assert "You don&#x27;t have a shop yet." in html
    assert links(html) == [("Your shop", "/sell/"), ("Back to the storefront", "/")]


def test_an_unknown_api_path_answers_in_the_apis_error_shape(client: Client) -> None:
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint."}}


@pytest.mark.django_db
def test_a_form_sent_with_a_stale_csrf_token_is_the_sites_403_with_a_way_back() -> None:
    """A tab left open across a log-out or a new session posts a token that no longer matches:
    the buyer reads what happened and how to retry, in the site's layout, signed in as they are."""
    buyer = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer)
    client.get("/cart/")
    response = client.post("/checkout/", {"seller_id": "1", "csrfmiddlewaretoken": "stale"})
    assert response.status_code == 403
    html = response.content.decode()
    assert_site_page(html, "This form has expired")
    assert "Reload the page" in html and buyer.email in html
    assert links(html) == [("Your orders", "/orders/"), ("Back to the storefront", "/")]
    assert "CSRF_FAILURE_VIEW" not in html and "csrfmiddlewaretoken" not in html.split("error-page")[1]


@pytest.mark.django_db
def test_a_page_post_without_any_csrf_cookie_is_the_sites_403() -> None:
    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post("/accounts/login/", {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert_site_page(response.content.decode(), "This form has expired")


@pytest.mark.django_db
def test_an_api_call_with_a_wrong_csrf_token_stays_in_the_apis_error_shape() -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    response = client.post("/api/v1/cart/items", {}, content_type="application/json", HTTP_X_CSRFTOKEN="wrong")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


@pytest.mark.django_db
def test_permission_denied_is_the_sites_403_page(client: Client) -> None:
    client.raise_request_exception = False
    response = client.get("/test-error/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_site_page(html, "You can't open this page")
    assert links(html) == [("Back to the storefront", "/")]


@pytest.mark.django_db
def test_a_failing_view_is_the_sites_500_page(client: Client) -> None:
    client.raise_request_exception = False
    response = client.get("/test-error/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_site_page(html, "Something went wrong on our side")
    assert "a bug in a view" not in html
    assert links(html) == [("Back to the storefront", "/")]
    checkout = client.get("/checkout/test-error/").content.decode()
    assert "If you have just paid, your payment is safe" in checkout
    assert links(checkout) == [("Your orders", "/orders/"), ("Back to the storefront", "/")]


@pytest.mark.django_db(transaction=True)
def test_the_500_page_renders_when_the_database_itself_is_gone(client: Client) -> None:
    """Signed in, so the layout would want the user from the session table: the 500 page must not ask."""
    client.force_login(UserFactory())
    client.raise_request_exception = False
    try:
        response = client.get("/test-error/database/")
    finally:
        connection.close()  # the server ended it; the next query connects afresh
    assert response.status_code == 500
    assert_site_page(response.content.decode(), "Something went wrong on our side")


@pytest.mark.slow
def test_the_demo_shows_the_sites_own_404_and_500_and_still_serves_static_files_and_uploads(demo: Demo) -> None:
    missing = requests.get(f"{demo.url}/no-such-page/", timeout=60)
    assert missing.status_code == 404
    assert_site_page(missing.text, "Page not found")
    failing = requests.get(f"{demo.url}/test-error/", timeout=60)
    assert failing.status_code == 500
    assert_site_page(failing.text, "Something went wrong on our side")
    demo.wait_for_output("RuntimeError: a bug in a view", timeout=30)  # recorded where the demo logs
    css = requests.get(f"{demo.url}/static/css/site.css", timeout=60)
    assert css.status_code == 200 and ".site-header" in css.text
    listings = requests.get(f"{demo.url}/api/v1/listings", timeout=60).json()["items"]
    image = next(url for item in listings for url in item["image_urls"])
    upload = requests.get(image if image.startswith("http") else f"{demo.url}{image}", timeout=60)
    assert upload.status_code == 200 and upload.headers["Content-Type"].startswith("image/")


@pytest.mark.django_db
def test_a_visit_to_a_forms_address_is_the_sites_405_with_a_way_back(client: Client) -> None:
    """Signed out while sending a form (the session ended, another tab signed out), the buyer signs
    in again and is sent back to the form's address, which takes no visit: a blank page was all
    they got. Now the site's page, saying what happened, with the way back of its area."""
    buyer = UserFactory()
    client.force_login(buyer)
    response = client.get("/orders/5/refund-request/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    html = response.content.decode()
    assert_site_page(html, "This address takes a form")
    assert "send it again from its page" in html and buyer.email in html
    assert links(html) == [("Your orders", "/orders/"), ("Back to the storefront", "/")]
    api = client.get("/api/v1/checkout")
    assert api.status_code == 405 and "form" not in api.content.decode()  # the API keeps its own answer
