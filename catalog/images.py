"""Upload checks for listing images: the type comes from the bytes, never from the name or the browser.

Why sniff: a file called cat.png with `Content-Type: image/png` can be HTML or an executable; serving it
from our media domain would be an XSS or malware vector. Pillow is not a dependency, so we recognise the
three formats we accept by their magic numbers and refuse everything else.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile

from marketplace.errors import InvalidInput

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGES_PER_LISTING = 8
ACCEPTED = "PNG, JPEG or WebP"


def sniff_image(head: bytes) -> str | None:
    """The MIME type of a PNG, JPEG or WebP file from its first bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image_upload(upload: UploadedFile) -> str:
    """Refuse empty, oversized or non-image uploads; return the sniffed content type."""
    size = upload.size or 0
    if size == 0:
        raise InvalidInput("The image file is empty.", code="image_empty")
    if size > MAX_IMAGE_BYTES:
        raise InvalidInput(
            f"Images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB; this one is {size / 1024 / 1024:.1f} MB.",
            code="image_too_large",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff_image(head)
    if content_type is None:
        raise InvalidInput(f"This file is not an image we accept ({ACCEPTED}).", code="image_type")
    return content_type
