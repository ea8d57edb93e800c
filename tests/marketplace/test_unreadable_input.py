"""A NUL character anywhere in a request is a 400 (or, in an API body, a 422) that says so, never a 500:
Postgres refuses NUL in text. Each URL below gave a 500 before (issue 11): query strings, a path part,
form fields and API bodies. A form Django cannot parse is a 400 in words too.
"""

from __future__ import annotations

import json
from typing import Any

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


def test_a_form_field_on_the_sell_form() -> None:
    seller = SellerFactory()
    client = signed_in(seller.user)
    form = {"title": "Mug", "price": "12.00", "stock": "1", "category": CategoryFactory().pk}
    assert_page_400(client.post("/sell/listings/new/", {**form, "title": "Mu\x00g"}))
    assert_page_400(client.post("/sell/listings/new/", {**form, "description\x00": "x"}))
    assert not Listing.objects.exists()
    assert client.post("/sell/listings/new/", form).status_code == 302  # the same form without NUL is saved


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
