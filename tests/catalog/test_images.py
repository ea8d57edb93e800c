"""Listing images are decoded (with a pixel limit) and re-encoded before they are accepted.

The hostile files are real and made here: a PNG followed by an HTML page (a polyglot, which any check
of the first bytes accepts) and a PNG that declares 4 gigapixels in half a megabyte (a decompression
bomb: its zlib stream inflates to 537 MB of pixels).
"""

from __future__ import annotations

import functools
import struct
import time
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from catalog.images import MAX_IMAGE_PIXELS
from catalog.models import Listing, ListingImage
from catalog.services import listing_image_add
from marketplace.errors import InvalidInput
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, png_bytes

pytestmark = pytest.mark.django_db

HTML = b"<html><body><script>alert(document.domain)</script></body></html>"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def png_bomb(side: int) -> bytes:
    """A real 1-bit black PNG of side x side pixels, built without ever holding its pixels in memory.

    After a full flush the compressor starts afresh, so every further block of rows compresses to the
    same bytes: the stream is written once and repeated, and its Adler-32 is computed block by block."""
    rows_per_block = 256
    assert side % rows_per_block == 0
    block = (b"\x00" * (1 + (side + 7) // 8)) * rows_per_block  # filter byte + one bit per pixel
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeated = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    blocks = side // rows_per_block
    adler = 1
    for _ in range(blocks):
        adler = zlib.adler32(block, adler)
    final_empty_block = b"\x03\x00"
    stream = b"\x78\xda" + first + repeated * (blocks - 1) + final_empty_block + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def polyglot_png() -> bytes:
    """A valid PNG with an HTML page after IEND and another in a tEXt chunk."""
    png = png_bytes(width=4, height=3, rgb=(10, 120, 200))
    text = _chunk(b"tEXt", b"Comment\x00" + HTML)
    return png[:33] + text + png[33:] + HTML  # after the signature and IHDR, and after IEND


def encoded(fmt: str, size: tuple[int, int] = (6, 4), **save: object) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def upload(content: bytes, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def stored_bytes(image: ListingImage) -> bytes:
    with image.image.open("rb") as stored:
        return bytes(stored.read())


def test_a_png_html_polyglot_is_stored_as_the_picture_only() -> None:
    hostile = polyglot_png()
    assert Image.open(BytesIO(hostile)).size == (4, 3)  # a real image, which the old magic-number check let through
    image = listing_image_add(listing=ListingFactory(), upload=upload(hostile))
    kept = stored_bytes(image)
    assert b"<script" not in kept and b"<html" not in kept and kept.endswith(_chunk(b"IEND", b""))
    with Image.open(BytesIO(kept)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (4, 3))
        assert decoded.convert("RGB").getpixel((3, 2)) == (10, 120, 200)
    assert (image.content_type, image.size) == ("image/png", len(kept))


def test_the_bomb_maker_writes_real_pngs() -> None:
    """Decoded in full at a size we accept: the same bytes, repeated, make the 4-gigapixel bomb."""
    with Image.open(BytesIO(png_bomb(4096))) as small:
        small.load()
        assert (small.format, small.size, small.getextrema()) == ("PNG", (4096, 4096), (0, 0))


@pytest.mark.parametrize(
    "side",
    [
        65536,  # 4.3 gigapixels: Pillow's own bomb guard would trip too
        5120,  # 26 megapixels: just over our limit, under Pillow's default one
    ],
)
def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(side: int) -> None:
    bomb = png_bomb(side)
    assert side * side > MAX_IMAGE_PIXELS and len(bomb) < 600_000
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refused:
        listing_image_add(listing=ListingFactory(), upload=upload(bomb))
    assert time.monotonic() - started < 1.0  # refused from the header, nothing decoded
    assert refused.value.code == "image_too_many_pixels"
    assert "at most 25 million pixels" in refused.value.message
    assert not ListingImage.objects.exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(HTML, "image_type", id="html"),
        pytest.param(b"GIF89a" + b"\x00" * 20, "image_type", id="gif-magic"),
        pytest.param(encoded("GIF"), "image_type", id="real-gif"),  # an image, in a format we do not accept
        pytest.param(png_bytes()[:-30], "image_type", id="truncated-png"),  # the header is fine, the pixels not
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image_type", id="jpeg-magic-only"),
        pytest.param(b"", "image_empty", id="empty"),
    ],
)
def test_files_that_do_not_decode_as_png_jpeg_or_webp_are_refused(content: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        listing_image_add(listing=ListingFactory(), upload=upload(content))
    assert refused.value.code == code
    assert not ListingImage.objects.exists()


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"), [("JPEG", "image/jpeg", ".jpg"), ("WEBP", "image/webp", ".webp")]
)
def test_jpeg_and_webp_are_re_encoded_in_their_own_format(fmt: str, content_type: str, extension: str) -> None:
    image = listing_image_add(listing=ListingFactory(), upload=upload(encoded(fmt), name="x.png"))
    assert (image.content_type, image.image.name.endswith(extension)) == (content_type, True)
    with Image.open(BytesIO(stored_bytes(image))) as decoded:
        assert (decoded.format, decoded.size) == (fmt, (6, 4))


def test_exif_is_dropped_after_its_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # Make: anything the photo carries, GPS included, must not be published
    image = listing_image_add(listing=ListingFactory(), upload=upload(encoded("JPEG", (6, 4), exif=exif)))
    kept = stored_bytes(image)
    assert b"SecretCam" not in kept
    with Image.open(BytesIO(kept)) as decoded:
        assert decoded.size == (4, 6) and not decoded.getexif()


def test_the_api_answers_a_bomb_with_a_422_in_the_error_shape() -> None:
    listing = ListingFactory()
    client = Client()
    client.force_login(listing.seller.user)
    client.get("/")
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    response = client.post(f"/api/v1/seller/listings/{listing.pk}/images", {"image": upload(png_bomb(65536))})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "image_too_many_pixels"


def test_the_sell_form_shows_the_pixel_limit_next_to_the_image_field(client: Client) -> None:
    seller = SellerFactory()
    client.force_login(seller.user)
    response = client.post(
        reverse("sell_listing_new"),
        {
            "title": "Tea bowl",
            "price": "12.00",
            "stock": "1",
            "category": CategoryFactory().pk,
            "image": upload(png_bomb(65536)),
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Images can have at most 25 million pixels" in page and 'id="id_image_error"' in page
    assert not Listing.objects.exists()
