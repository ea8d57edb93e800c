"""Sellers' listings: prices in the seller's currency, Stripe's minimums, publishing, images (more in test_images)."""

from __future__ import annotations

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from moto import mock_aws
from PIL import Image

from catalog.models import Listing, ListingStatus
from catalog.services import (
    listing_create,
    listing_image_add,
    listing_image_remove,
    listing_publish,
    listing_unpublish,
    listing_update,
)
from marketplace.errors import InvalidInput
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, jpy_seller, png_bytes, png_upload

pytestmark = pytest.mark.django_db


def test_a_listing_is_priced_in_the_sellers_currency_and_starts_as_a_hidden_draft() -> None:
    seller = jpy_seller()
    listing = listing_create(
        seller=seller, title=" Tea bowl ", description="", price=3_000, stock=2, category=CategoryFactory()
    )
    assert (listing.title, listing.currency, listing.status) == ("Tea bowl", "jpy", ListingStatus.DRAFT)
    assert not Listing.objects.visible().filter(pk=listing.pk).exists()
    listing_publish(listing=listing)
    assert Listing.objects.visible().filter(pk=listing.pk).exists()
    listing_unpublish(listing=listing)
    assert not Listing.objects.visible().filter(pk=listing.pk).exists()


@pytest.mark.parametrize(("currency", "too_low", "lowest"), [("usd", 49, 50), ("jpy", 49, 50)])
def test_prices_below_stripes_minimum_charge_are_refused(currency: str, too_low: int, lowest: int) -> None:
    seller = SellerFactory(default_currency=currency)
    with pytest.raises(InvalidInput) as caught:
        listing_create(seller=seller, title="Pin", description="", price=too_low, stock=1, category=CategoryFactory())
    assert caught.value.code == "price_below_minimum"
    assert listing_create(seller=seller, title="Pin", description="", price=lowest, stock=1, category=CategoryFactory())


def test_the_currency_cannot_be_changed_by_an_update() -> None:
    listing = ListingFactory()
    with pytest.raises(InvalidInput):
        listing_update(listing=listing, data={"currency": "jpy"})
    listing_update(listing=listing, data={"price": 1999, "stock": 0})
    listing.refresh_from_db()
    assert (listing.price, listing.currency, listing.stock) == (1999, "usd", 0)


def test_sellers_who_cannot_take_charges_are_hidden_from_the_storefront() -> None:
    from django.utils import timezone

    shown = ListingFactory()
    ListingFactory(seller=SellerFactory(charges_enabled=False))
    ListingFactory(seller=SellerFactory(paused_at=timezone.now()))
    ListingFactory(status=ListingStatus.DRAFT)
    assert list(Listing.objects.visible()) == [shown]


def test_an_image_is_stored_with_its_decoded_type_and_a_name_we_chose() -> None:
    listing = ListingFactory()
    image = listing_image_add(listing=listing, upload=png_upload("../../etc/evil name.php"))
    assert image.content_type == "image/png"
    assert image.image.name.startswith(f"listings/{listing.pk}/") and image.image.name.endswith(".png")
    with image.image.open("rb") as stored, Image.open(stored) as decoded:
        assert (decoded.format, decoded.size, decoded.getpixel((1, 1))) == ("PNG", (2, 2), (200, 30, 60))
    assert listing.cover_url.endswith(".png")


def test_images_over_5_mb_are_refused() -> None:
    listing = ListingFactory()
    big = SimpleUploadedFile("big.png", png_bytes() + b"\x00" * (5 * 1024 * 1024), content_type="image/png")
    with pytest.raises(InvalidInput, match="at most 5 MB"):
        listing_image_add(listing=listing, upload=big)


@pytest.mark.django_db(transaction=True)
def test_removing_an_image_deletes_the_file_after_commit() -> None:
    listing = ListingFactory()
    image = listing_image_add(listing=listing, upload=png_upload())
    storage, name = image.image.storage, image.image.name
    assert storage.exists(name)
    listing_image_remove(image=image)
    assert not storage.exists(name)


@mock_aws
def test_images_go_to_s3_through_django_storages() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="marketplace-media")
    s3_storage = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "marketplace-media", "region_name": "us-east-1", "querystring_auth": False},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=s3_storage):
        listing = ListingFactory()
        image = listing_image_add(listing=listing, upload=png_upload())
        stored = s3.get_object(Bucket="marketplace-media", Key=image.image.name)
        with Image.open(stored["Body"]) as decoded:
            assert (decoded.format, decoded.size) == ("PNG", (2, 2))
        assert listing.cover_url.startswith("https://marketplace-media.s3.amazonaws.com/listings/")


def test_services_hold_the_description_limit_for_every_caller() -> None:
    listing = ListingFactory(description="Glazed.")
    with pytest.raises(InvalidInput) as refused:
        listing_update(listing=listing, data={"description": "x" * 10_001})
    assert refused.value.code == "description_too_long"
    listing.refresh_from_db()
    assert listing.description == "Glazed."
