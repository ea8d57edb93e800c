"""Upload checks for listing images: every image is decoded and re-encoded by Pillow before it is accepted.

Why not trust the bytes we were sent: a file called cat.png with `Content-Type: image/png` can be HTML,
or a real PNG followed by HTML (a polyglot) that passes any check of its first bytes; served from our
media domain it is an XSS vector. A few kilobytes can also declare gigapixels (a decompression bomb)
and take a worker's memory when decoded. So an upload is opened by Pillow as PNG, JPEG or WebP only,
its declared size is checked against `MAX_IMAGE_PIXELS` before any pixel is decoded, and what we store
is a new file written from the decoded pixels: nothing of the upload survives but the picture (no
trailing bytes, text chunks, EXIF or GPS; the EXIF orientation is applied first so photos stay upright).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from io import BytesIO

from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import InvalidInput

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# 25 megapixels (a 6000 x 4000 photo): decoded as RGBA that is 100 MB of memory, the most we spend.
MAX_IMAGE_PIXELS = 25_000_000
MAX_IMAGES_PER_LISTING = 8
ACCEPTED = "PNG, JPEG or WebP"
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# Pillow's errors for a damaged or hostile file (a truncated stream, a broken chunk, an oversized text chunk).
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


@dataclass(frozen=True)
class CleanImage:
    """An image we wrote ourselves from the decoded pixels of an upload."""

    content: bytes
    content_type: str
    width: int
    height: int


def clean_image_upload(upload: UploadedFile) -> CleanImage:
    """Refuse empty, oversized, non-image or too-many-pixel uploads; return the image re-encoded."""
    size = upload.size or 0
    if size == 0:
        raise InvalidInput("The image file is empty.", code="image_empty")
    if size > MAX_IMAGE_BYTES:
        raise InvalidInput(
            f"Images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB; this one is {size / 1024 / 1024:.1f} MB.",
            code="image_too_large",
        )
    too_many_pixels = InvalidInput(
        f"Images can have at most {MAX_IMAGE_PIXELS // 1_000_000} million pixels (e.g. 6,000 by 4,000).",
        code="image_too_many_pixels",
    )
    upload.seek(0)
    try:
        with Image.open(upload, formats=tuple(CONTENT_TYPES)) as opened:
            width, height = opened.size
            if width * height > MAX_IMAGE_PIXELS:
                raise too_many_pixels
            image_format = str(opened.format)
            opened.load()
            return _reencode(opened, image_format)
    except Image.DecompressionBombError:
        raise too_many_pixels from None
    except UNREADABLE:
        raise InvalidInput(
            f"This file is not an image we accept ({ACCEPTED}), or it is damaged.", code="image_type"
        ) from None
    finally:
        upload.seek(0)


def _reencode(image: Image.Image, image_format: str) -> CleanImage:
    upright = ImageOps.exif_transpose(image)
    has_alpha = "A" in upright.getbands() or "transparency" in upright.info
    if image_format == "JPEG":
        pixels, options = upright.convert("RGB" if upright.mode != "L" else "L"), {"quality": 90}
    elif image_format == "WEBP":
        pixels, options = upright.convert("RGBA" if has_alpha else "RGB"), {"quality": 90}
    else:
        keep = upright.mode in {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}
        pixels, options = (upright if keep else upright.convert("RGBA" if has_alpha else "RGB")), {}
    out = BytesIO()
    pixels.save(out, format=image_format, **options)
    return CleanImage(
        content=out.getvalue(),
        content_type=CONTENT_TYPES[image_format],
        width=pixels.width,
        height=pixels.height,
    )
