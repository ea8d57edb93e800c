"""`seed_demo_listings`: every demo seller gets listings with real PNG images, visible only if it can sell."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from PIL import Image

from catalog.models import Category, Listing
from tests.catalog.factories import SellerFactory, jpy_seller

pytestmark = pytest.mark.django_db


def test_seed_creates_listings_in_each_sellers_currency_with_images_and_is_idempotent() -> None:
    SellerFactory(shop_name="Brooklyn Ceramics")
    jpy_seller(shop_name="Hokusai Prints")
    SellerFactory(shop_name="Paris Textiles", default_currency="eur", charges_enabled=False)
    out = StringIO()
    call_command("seed_demo_listings", stdout=out)
    assert "12 created; 8 visible in the storefront" in out.getvalue()
    assert Category.objects.count() >= 4
    assert set(Listing.objects.values_list("currency", flat=True)) == {"usd", "jpy", "eur"}
    mug = Listing.objects.get(seller__shop_name="Hokusai Prints", title="Speckled stoneware mug")
    assert (mug.price, mug.currency) == (3_600, "jpy")
    image = mug.images.get()
    with image.image.open("rb") as stored, Image.open(stored) as decoded:
        assert decoded.format == "PNG" and image.content_type == "image/png"
    call_command("seed_demo_listings", stdout=StringIO())
    assert Listing.objects.count() == 12
