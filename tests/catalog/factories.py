"""Factories of the catalog tests: sellers who can sell, categories, listings, images (tiny real PNGs)."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Category, Listing, ListingStatus
from sellers.models import Seller
from tests.factories import UserFactory


def png_bytes(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    """A valid PNG written by hand (no Pillow): signature, IHDR, one IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def png_upload(name: str = "photo.png", **kwargs: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


class SellerFactory(factory.django.DjangoModelFactory):
    """A seller Stripe lets charge (charges enabled, not paused, connected)."""

    class Meta:
        model = Seller

    user = factory.SubFactory(UserFactory)
    shop_name = factory.Sequence(lambda n: f"Shop {n}")
    country = "US"
    default_currency = "usd"
    stripe_account_id = factory.Sequence(lambda n: f"acct_test{n:08d}")
    charges_enabled = True
    payouts_enabled = True
    details_submitted = True
    status = "active"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ListingFactory(factory.django.DjangoModelFactory):
    """A published listing by a seller who can sell, priced in the seller's currency."""

    class Meta:
        model = Listing

    seller = factory.SubFactory(SellerFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Handmade mug {n}")
    description = "Stoneware, glazed by hand."
    price = 2500
    currency = factory.LazyAttribute(lambda o: o.seller.default_currency)
    stock = 10
    status = ListingStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


def jpy_seller(**kwargs: Any) -> Seller:
    return SellerFactory(country="JP", default_currency="jpy", **kwargs)
