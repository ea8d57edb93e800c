"""A NUL character anywhere in a request is a 400 (or, in an API body, a 422) that says so, never a 500:
Postgres refuses NUL in text. Each URL below gave a 500 before (issue 11): query strings, a path part,
form fields and API bodies. A form Django cannot parse is a 400 in words too.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.models import Listing
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, png_bytes
from tests.factories import UserFactory, make_platform_admin

pytestmark = pytest.mark.django_db

SENTENCE = "This request contains a NUL character (%00)"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/")
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


def assert_page_400(response: Any) -> None:
    assert response.status_code == 400
    page = response.content.decode()
    assert SENTENCE in page and "Back to the storefront" in page


def assert_api_400(response: Any) -> None:
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_characters" and error["message"].startswith(SENTENCE)


@pytest.mark.parametrize("url", ["/search/?q=a%00b", "/?page=1%00", "/search/?q%00=a"])
def test_anonymous_pages(url: str) -> None:
    assert_page_400(Client().get(url))


@pytest.mark.parametrize("url", ["/api/v1/listings?q=a%00b", "/api/v1/listings?category=a%00b"])
def test_anonymous_api_query_strings(url: str) -> None:
    ListingFactory()
    assert_api_400(Client().get(url))


def test_the_checkout_success_page_of_a_signed_in_buyer() -> None:
    assert_page_400(signed_in(UserFactory()).get("/checkout/success/?session_id=cs_%00"))


@pytest.mark.parametrize(
    "url",
    [
        "/console/events/?q=a%00",
        "/console/events/?type=a%00",
        "/console/events/?account=acct_%00",
        "/console/events/evt_%00/",
        "/console/sellers/?q=a%00",
    ],
)
def test_the_admin_console(url: str) -> None:
    assert_page_400(signed_in(make_platform_admin()).get(url))


def assert_form_400(response: Any) -> str:
    """The 400 page of a page's form: it says what was typed is kept and leads back to the form."""
    assert response.status_code == 400
    page = response.content.decode()
    assert "This form contains a NUL character (%00)" in page and "What you typed is still in the form" in page
    assert "Back to the form" in page and "js/history-back.js" in page and "Back to the storefront" in page
    return page


def test_a_form_field_on_the_sell_form() -> None:
    seller = SellerFactory()
    client = signed_in(seller.user)
    form = {"title": "Mug", "price": "12.00", "stock": "1", "category": CategoryFactory().pk}
    assert_form_400(client.post("/sell/listings/new/", {**form, "title": "Mu\x00g"}))  # multipart, as the page
    assert_form_400(client.post("/sell/listings/new/", {**form, "description\x00": "x"}))
    urlencoded = urlencode({**form, "title": "Mu\x00g"})
    assert_form_400(client.post("/sell/listings/new/", urlencoded, content_type="application/x-www-form-urlencoded"))
    assert not Listing.objects.exists()
    assert client.post("/sell/listings/new/", form).status_code == 302  # the same form without NUL is saved


@pytest.mark.parametrize(
    ("referer", "secure", "link"),
    [
        ("http://testserver/sell/listings/new/?from=home", False, "/sell/listings/new/?from=home"),
        ("https://testserver/sell/", True, "https://testserver/sell/"),
        ("https://evil.example/sell/listings/new/", False, None),  # another site: never a link to it
        ("//evil.example/sell/", False, None),
        ("javascript:alert(1)", False, None),
        ("http://testserver/sell/", True, None),  # from https down to http: not the same origin
        ("", False, None),
    ],
)
def test_back_to_the_form_links_only_to_a_page_of_this_site(referer: str, secure: bool, link: str | None) -> None:
    """Without scripts "Back to the form" is a link to the page the form came from (the Referer),
    when it is a page of this site; else it is a button a script shows, going back in history."""
    client = signed_in(SellerFactory().user)
    extra = {"HTTP_REFERER": referer} if referer else {}
    page = assert_form_400(client.post("/sell/listings/new/", {"title": "Mu\x00g"}, secure=secure, **extra))
    anchors = re.findall(r'<a class="button" href="([^"]*)" data-history-back>Back to the form</a>', page)
    if link is None:
        assert anchors == [] and "evil.example" not in page and "javascript:" not in page
        assert '<button type="button" data-history-back hidden>Back to the form</button>' in page
    else:
        assert [html.unescape(a) for a in anchors] == [referer]
        assert link in html.unescape(anchors[0])


def test_a_nul_in_the_address_of_a_form_or_in_an_api_form_is_not_answered_as_a_typed_form() -> None:
    """The back-to-the-form page is for what was typed in a page's form; a NUL in the address (which
    going back would not remove) or in a form sent to the API keeps the answers it had."""
    listing = ListingFactory()
    client = signed_in(listing.seller.user)
    page = client.post("/sell/listings/new/?from=a%00b", {"title": "Mug"}).content.decode()
    assert SENTENCE in page and "Back to the form" not in page
    api = client.post(f"/api/v1/seller/listings/{listing.pk}/images", {"alt_text": "a\x00b"})
    assert_api_400(api)


def test_an_uploaded_files_name_with_nul_is_harmless() -> None:
    """Django drops non-printable characters from file names, and the image is stored under our own name."""
    listing = ListingFactory()
    client = signed_in(listing.seller.user)
    image = SimpleUploadedFile("a\x00.png", png_bytes(), content_type="image/png")
    assert client.post(f"/api/v1/seller/listings/{listing.pk}/images", {"image": image}).status_code == 201
    assert "\x00" not in listing.images.get().image.name


@pytest.mark.parametrize("field", ["title", "description", "category"])
def test_api_json_bodies_refuse_nul_with_a_422_naming_the_field(field: str) -> None:
    listing = ListingFactory(title="Blue mug")
    CategoryFactory(slug="kitchen")
    client = signed_in(listing.seller.user)
    body = {"title": "Mug", "description": "", "price": 1250, "stock": 1, "category": "kitchen"}
    body[field] = "a\u0000b"
    for response in (
        client.post("/api/v1/seller/listings", json.dumps(body), content_type="application/json"),
        client.patch(f"/api/v1/seller/listings/{listing.pk}", {field: "a\u0000b"}, content_type="application/json"),
    ):
        assert response.status_code == 422, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert [f["loc"][-1] for f in error["fields"]] == [field]
    assert Listing.objects.get().title == "Blue mug"


def test_api_json_bodies_refuse_a_lone_surrogate() -> None:
    listing = ListingFactory(title="Blue mug")
    client = signed_in(listing.seller.user)
    body = '{"title": "a\\ud800b"}'  # valid JSON, but not text that UTF-8 (and so Postgres) can hold
    response = client.patch(f"/api/v1/seller/listings/{listing.pk}", body, content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["loc"][-1] == "title"


def test_checkout_and_fulfil_bodies() -> None:
    client = signed_in(UserFactory())
    response = client.post(
        "/api/v1/checkout", {"seller_id": 1, "currency": "us\u0000d"}, content_type="application/json"
    )
    assert response.status_code == 422
    seller = SellerFactory()
    client = signed_in(seller.user)
    response = client.post(
        "/api/v1/seller/orders/1/fulfil", {"tracking_number": "\u0000"}, content_type="application/json"
    )
    assert response.status_code == 422


def test_a_form_django_cannot_parse_is_a_400_in_words_on_pages_and_in_the_error_shape_on_the_api() -> None:
    listing = ListingFactory()
    client = signed_in(listing.seller.user)
    broken = "multipart/form-data"  # no boundary: Django cannot split the body
    page = client.post("/sell/listings/new/", "x", content_type=broken)
    assert page.status_code == 400 and "This form could not be read" in page.content.decode()
    api = client.post(f"/api/v1/seller/listings/{listing.pk}/images", "x", content_type=broken)
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "unreadable_form"


def test_djangos_own_400_uses_the_same_page() -> None:
    """Other bad requests Django refuses itself (here an unknown Host) get the site's 400 page too."""
    response = Client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "We could not read this request" in response.content.decode()


@pytest.mark.parametrize("body", ['"hello world"', "null", "[]", "123", "true"])
def test_an_api_body_that_is_not_a_json_object_is_a_400_and_changes_nothing(body: str) -> None:
    """A schema read a string's attributes: `"hello world"` set the title to `str.title()`'s "Hello World"."""
    listing = ListingFactory(title="Blue mug")
    client = signed_in(listing.seller.user)
    response = client.patch(f"/api/v1/seller/listings/{listing.pk}", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Cannot parse request body"
    listing.refresh_from_db()
    assert listing.title == "Blue mug"


def test_an_api_body_too_large_to_read_is_a_400_in_the_error_shape(settings: Any) -> None:
    listing = ListingFactory(title="Blue mug")
    client = signed_in(listing.seller.user)
    body = json.dumps({"title": "x" * 3_000_000})  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    response = client.patch(f"/api/v1/seller/listings/{listing.pk}", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "body_too_large"
    listing.refresh_from_db()
    assert listing.title == "Blue mug"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("/api/v1/listings?" + "&".join(f"f{i}=1" for i in range(1100)), "testserver"),  # DATA_UPLOAD_MAX_NUMBER_FIELDS
        ("/api/v1/listings", "evil.example"),  # a Host not in ALLOWED_HOSTS
    ],
)
def test_djangos_own_400_under_the_api_keeps_the_error_shape(url: str, host: str) -> None:
    """Requests Django refuses before any view (too many parameters, an unknown Host) were answered with
    the site's HTML 400 page under /api/ too, which a client reading `{"error": {"code", "message"}}` cannot."""
    response = Client().get(url, HTTP_HOST=host)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "bad_request" and error["message"].startswith("This request could not be read")


def test_too_many_parameters_on_a_page_get_the_sites_400_page() -> None:
    response = Client().get("/search/?" + "&".join(f"f{i}=1" for i in range(1100)))
    assert response.status_code == 400
    assert "We could not read this request" in response.content.decode()
