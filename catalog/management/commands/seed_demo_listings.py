"""Demo listings for every demo seller, in the seller's currency (USD, JPY, EUR), across several categories,
each with a small generated PNG (zlib + struct, no Pillow), so a newcomer can buy within a minute.

Called by `seed_demo` after `seed_demo_sellers`. Listings of sellers who cannot take charges are created too
(the Sell area shows them) but stay hidden from the storefront, as they would be for real.
Idempotent: a listing with the same seller and title is left alone.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.models import Category, Listing
from catalog.services import listing_create, listing_publish
from marketplace import money
from sellers.models import Seller

CATEGORIES = [
    ("Prints & art", "prints-art"),
    ("Ceramics", "ceramics"),
    ("Textiles", "textiles"),
    ("Kitchen", "kitchen"),
    ("Outdoors", "outdoors"),
]

# (title, category slug, {currency: price in minor units}, description). Other currencies use the USD figure.
PRODUCTS = [
    (
        "Woodblock print: the great wave",
        "prints-art",
        {"usd": 4_800, "eur": 4_500, "jpy": 7_200},
        "A hand-pulled woodblock print on washi paper.",
    ),
    (
        "Speckled stoneware mug",
        "ceramics",
        {"usd": 2_400, "eur": 2_200, "jpy": 3_600},
        "Holds 350 ml. Dishwasher safe, glazed by hand.",
    ),
    (
        "Linen tea towel",
        "textiles",
        {"usd": 1_600, "eur": 1_500, "jpy": 2_400},
        "Stonewashed European linen, 50 x 70 cm.",
    ),
    (
        "Walnut serving board",
        "kitchen",
        {"usd": 5_500, "eur": 5_000, "jpy": 8_200},
        "Oiled walnut, made from one piece.",
    ),
    (
        "Waxed canvas bike bag",
        "outdoors",
        {"usd": 7_900, "eur": 7_200, "jpy": 11_800},
        "Fits any handlebar; waterproof waxed cotton.",
    ),
    ("Porcelain tea bowl", "ceramics", {"usd": 3_200, "eur": 2_900, "jpy": 4_800}, "Celadon glaze, fired at 1,280 °C."),
]


def png_bytes(seed: str, size: int = 48) -> bytes:
    """A size x size two-colour diagonal PNG whose colours come from `seed`, written by hand."""
    digest = hashlib.sha256(seed.encode()).digest()
    a, b = digest[0:3], digest[3:6]
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter type 0
        for x in range(size):
            row += a if (x + y) % 16 < 8 else b
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def demo_price(prices: dict[str, int], currency: str) -> int:
    """The product's price in `currency` (minor units), never below Stripe's minimum charge."""
    return max(prices.get(currency, prices["usd"]), money.minimum_charge_amount(currency))


class Command(BaseCommand):
    help = "Seed demo listings (with images) for every demo seller, in each seller's currency."

    def handle(self, *args: Any, **options: Any) -> None:
        categories = {}
        for position, (name, slug) in enumerate(CATEGORIES):
            category, _ = Category.objects.get_or_create(slug=slug, defaults={"name": name, "position": position})
            categories[slug] = category
        sellers = list(Seller.objects.order_by("pk"))
        if not sellers:
            self.stdout.write("No sellers yet: run seed_demo_sellers first.")
            return
        created = 0
        for index, seller in enumerate(sellers):
            currency = seller.default_currency.lower()
            # Each shop gets four products, rotating through the list so shops differ.
            for offset in range(4):
                title, slug, prices, description = PRODUCTS[(index + offset) % len(PRODUCTS)]
                if Listing.objects.filter(seller=seller, title=title).exists():
                    continue
                with transaction.atomic():
                    listing = listing_create(
                        seller=seller,
                        title=title,
                        description=description,
                        price=demo_price(prices, currency),
                        stock=5 + offset * 3,
                        category=categories[slug],
                        image=SimpleUploadedFile(
                            "demo.png", png_bytes(f"{seller.pk}-{title}"), content_type="image/png"
                        ),
                        image_alt=f"{title} (demo picture)",
                    )
                    listing_publish(listing=listing)
                created += 1
        visible = Listing.objects.visible().count()
        self.stdout.write(f"Demo listings: {created} created; {visible} visible in the storefront.")
