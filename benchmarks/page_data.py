"""The rows `benchmarks/bench_pages.py` measures the storefront on: run inside Django (`manage.py shell`).

Six categories (one of them `ceramics`), 20 sellers who can sell (a quarter in JPY), `n` published
listings spread over them, two cover images on every other listing, a few drafts and a paused shop (hidden
rows the storefront's filters must skip), and a buyer with three items in a cart. Image rows point at names
only: a card builds the URL from the name, it never opens the file.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from catalog.models import Cart, CartItem, Category, Listing, ListingImage, ListingStatus
from marketplace.models import User
from sellers.models import Seller

BUYER_EMAIL = "bench-buyer@example.com"
BUYER_PASSWORD = "bench-password-1"
CATEGORIES = ["ceramics", "prints", "textiles", "kitchen", "outdoors", "books"]
WORDS = ["mug", "bowl", "print", "towel", "board", "bag", "vase", "plate", "scarf", "book"]


@transaction.atomic
def seed(n: int) -> dict[str, int]:
    """Create the rows; returns the ids the benchmark's URLs need."""
    categories = [
        Category.objects.create(name=slug.title(), slug=slug, position=i) for i, slug in enumerate(CATEGORIES)
    ]
    sellers = []
    for i in range(21):
        user = User.objects.create_user(email=f"bench-seller{i}@example.com", password=None)
        jpy = i % 4 == 3
        sellers.append(
            Seller.objects.create(
                user=user,
                shop_name=f"Bench shop {i}",
                country="JP" if jpy else "US",
                default_currency="jpy" if jpy else "usd",
                stripe_account_id=f"acct_bench{i:06d}",
                charges_enabled=True,
                payouts_enabled=True,
                details_submitted=True,
                status="active",
                paused_at=timezone.now() if i == 20 else None,  # a paused shop: its listings are hidden
            )
        )
    now = timezone.now()
    listings = Listing.objects.bulk_create(
        Listing(
            seller=sellers[i % 21],
            category=categories[i % len(categories)],
            title=f"Handmade {WORDS[i % len(WORDS)]} no. {i}",
            description="Made by hand in a small workshop. " * 4,
            price=1_000 + 37 * i if sellers[i % 21].default_currency == "usd" else 1_500 + 11 * i,
            currency=sellers[i % 21].default_currency,
            stock=5 + i % 20,
            status=ListingStatus.DRAFT if i % 17 == 16 else ListingStatus.PUBLISHED,
            published_at=now,
        )
        for i in range(n)
    )
    ListingImage.objects.bulk_create(
        ListingImage(
            listing=listing,
            image=f"listings/{listing.pk}/{k}{listing.pk:08x}.png",
            content_type="image/png",
            size=1_000,
            position=k,
        )
        for listing in listings[::2]
        for k in range(2)
    )
    buyer = User.objects.create_user(email=BUYER_EMAIL, password=BUYER_PASSWORD)
    cart = Cart.objects.create(user=buyer)
    visible = [x for x in listings if x.status == ListingStatus.PUBLISHED and x.seller.paused_at is None]
    for listing in visible[:3]:
        CartItem.objects.create(cart=cart, listing=listing, quantity=1)
    return {"listing": visible[1].pk, "category": categories[0].pk, "buyer": buyer.pk}


def session_cookie(email: str) -> str:
    """A session cookie of the user, signed in (as the login page would leave it)."""
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(email=email))
    return str(client.cookies["sessionid"].value)
