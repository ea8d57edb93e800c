"""A request body larger than `REQUEST_BODY_MAX_BYTES` is refused by its declared length, unread.

Django parses a multipart form whole when anything first reads `request.POST` (our NUL check, then
CSRF), writing each file to a temporary file, and caps neither files nor the whole body: an anonymous
POST of 400 MB to `/` was read to the end and spooled to /tmp before its 403 (CSRF), and so was any
upload before its own size was checked. The cap is well above every size a form or the API accepts,
so a file just too large still gets its own sentence beside its box.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import Client

from catalog.images import MAX_IMAGE_BYTES
from catalog.models import Listing
from payments.disputes import MAX_FILE_BYTES
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SENTENCE = "larger than the 10 MB this site accepts"
CAP = 10 * 1024 * 1024


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/")
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


def too_large(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG" + b"\0" * CAP, content_type="image/png")


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose multipart body Django parsed (each file of it written to a temporary file)."""
    seen: list[str] = []
    parse = MultiPartParser.parse

    def spy(self: MultiPartParser) -> Any:
        seen.append(self._meta["PATH_INFO"])
        return parse(self)

    monkeypatch.setattr(MultiPartParser, "parse", spy)
    return seen


def test_the_cap_is_above_every_size_the_site_accepts() -> None:
    cap = settings.REQUEST_BODY_MAX_BYTES
    assert cap == CAP
    accepted = (MAX_IMAGE_BYTES, MAX_FILE_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.WEBHOOK_MAX_BODY_BYTES)
    assert all(size * 3 // 2 < cap for size in accepted)


def test_an_anonymous_post_of_a_huge_form_is_refused_unread(parsed: list[str]) -> None:
    response = Client().post("/", {"file": too_large()})
    assert response.status_code == 413
    assert SENTENCE in response.content.decode()
    assert parsed == []  # answered from the declared length: the body was not parsed


def test_the_listing_form_with_a_huge_photo_says_so_and_makes_nothing() -> None:
    seller = SellerFactory()
    client = signed_in(seller.user)
    form = {"title": "Mug", "price": "12.00", "stock": "1", "category": CategoryFactory().pk, "image": too_large()}
    response = client.post("/sell/listings/new/", form, HTTP_REFERER="http://testserver/sell/listings/new/")
    assert response.status_code == 413
    page = response.content.decode()
    assert SENTENCE in page and "choose a smaller file" in page
    assert 'href="http://testserver/sell/listings/new/" data-history-back>Back to the form</a>' in page
    assert "remove the invalid character" not in page  # the NUL page's advice is not this one's
    assert not Listing.objects.exists()


def test_a_photo_just_too_large_still_gets_its_sentence_beside_the_box() -> None:
    seller = SellerFactory()
    client = signed_in(seller.user)
    photo = SimpleUploadedFile("photo.png", b"\x89PNG" + b"\0" * (MAX_IMAGE_BYTES + 1024), content_type="image/png")
    form = {"title": "Mug", "price": "12.00", "stock": "1", "category": CategoryFactory().pk, "image": photo}
    response = client.post("/sell/listings/new/", form)
    assert response.status_code == 422
    assert "Images can be at most 5 MB; this one is 5.0 MB." in response.content.decode()


def test_the_api_answers_413_in_its_error_shape() -> None:
    listing = ListingFactory()
    client = signed_in(listing.seller.user)
    response = client.post(f"/api/v1/seller/listings/{listing.pk}/images", {"image": too_large()})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "body_too_large" and SENTENCE in error["message"]
    assert not listing.images.exists()


def test_a_huge_webhook_in_a_multipart_body_is_refused_unread(parsed: list[str]) -> None:
    """The intake reads its JSON body with its own bound, but a multipart body was parsed by the NUL
    check (a middleware) before the intake's view ran."""
    response = Client().post("/webhooks/stripe/", {"file": too_large("event.json")})
    assert response.status_code == 413
    assert parsed == []


def test_a_signed_in_buyer_is_refused_too() -> None:
    client = signed_in(UserFactory())
    response = client.post("/cart/add/", {"listing_id": "1", "file": too_large()})
    assert response.status_code == 413
