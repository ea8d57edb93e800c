"""Two image uploads to the same listing at once, through the API, on real Postgres.

The cap of `MAX_IMAGES_PER_LISTING` is a count of rows: two requests that both count before either
inserts would both pass it. The uploads here are held together (a barrier inside the image check,
which both requests reach before they insert) so the race happens every time, not now and then.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.test import Client

from catalog import services
from catalog.images import MAX_IMAGES_PER_LISTING, CleanImage, clean_image_upload
from catalog.models import ListingImage
from tests.catalog.factories import ListingFactory, png_upload

pytestmark = pytest.mark.django_db(transaction=True)


def _api_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/")
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


def test_two_uploads_at_once_to_a_listing_one_short_of_the_cap_add_one_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listing = ListingFactory()
    for _ in range(MAX_IMAGES_PER_LISTING - 1):
        services.listing_image_add(listing=listing, upload=png_upload())
    both_checking = threading.Barrier(2, timeout=30)

    def held_together(upload: UploadedFile) -> CleanImage:
        both_checking.wait()  # each request is inside the upload (past any count made before the check)
        return clean_image_upload(upload)

    monkeypatch.setattr(services, "clean_image_upload", held_together)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            client = _api_client(listing.seller.user)
            response = client.post(f"/api/v1/seller/listings/{listing.pk}/images", {"image": png_upload()})
            statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(statuses) == [201, 422]
    images = ListingImage.objects.filter(listing=listing)
    assert images.count() == MAX_IMAGES_PER_LISTING
    assert sorted(images.values_list("position", flat=True)) == list(range(MAX_IMAGES_PER_LISTING))
