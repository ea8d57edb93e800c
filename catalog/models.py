"""The catalog: categories, sellers' listings with their images, and buyers' carts.

Prices are integer minor units in the listing's currency, which is the seller's currency when the listing
is created and never changes afterwards (an order line must be able to trust it).

How checkout plugs in: a cart is grouped by seller (`catalog.selectors.cart_view`); each group becomes one
order paid by one Checkout Session. The order snapshots title, unit price, currency, quantity and the fee
quote at that moment; `Listing.stock` is the number of units still for sale, which checkout decrements
with a conditional UPDATE (`stock__gte=quantity`) when it reserves, so two buyers cannot take the last unit.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.db.models import Q

from sellers.models import Seller

# The one limit of a listing's description, for the API, the Sell form and the services alike.
DESCRIPTION_MAX_LENGTH = 10_000
MAX_STOCK = 1_000_000  # units of a listing a seller may put on sale (form, API and edits alike)


class Category(models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first in menus.")

    class Meta:
        ordering = ("position", "name")
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ListingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    UNPUBLISHED = "unpublished", "Unpublished"


class ListingQuerySet(models.QuerySet["Listing"]):
    def visible(self) -> ListingQuerySet:
        """What buyers may see and buy: published listings of sellers who can take charges.

        "Can take charges" is the sellers app's one definition (`Seller.objects.sellable()`: charges
        enabled, not paused by the platform, not disconnected), reused here so the two never disagree.
        """
        return self.filter(status=ListingStatus.PUBLISHED, seller__in=Seller.objects.sellable())

    def for_cards(self) -> ListingQuerySet:
        """Everything a listing card shows, in one query: seller, category, the cover image's name and
        the subscription plan, if any (the card says "monthly" as the listing's page does)."""
        cover = ListingImage.objects.filter(listing=models.OuterRef("pk")).order_by("position", "id").values("image")
        return self.select_related("seller", "category", "subscription_plan").annotate(
            cover_name=models.Subquery(cover[:1])
        )

    def search(self, text: str) -> ListingQuerySet:
        """Every word must appear in the title, the description or the shop's name (case-insensitive).

        The shop's name counts because every card shows it ("by Brooklyn Ceramics"): a buyer typing a
        shop's name expects its items, and "brooklyn mug" its mugs. Only the listings this queryset
        already holds are searched, so `visible()` still hides a paused shop's items, by name too.

        The shops are matched first, in a subquery per word (`seller_id IN (...)`, which Postgres hashes
        once: shops are few next to listings), not through the join to the seller that `for_cards()`
        selects: a condition on the joined seller is checked only after the join, on every published
        listing, and made searches 1.1-3x slower on 20,000 listings (the shop's name alone the most).

        Plain `icontains` keeps the demo's SQLite and Postgres identical (it escapes `%`, `_` and the
        backslash, so a buyer's are searched for as themselves); a Postgres full-text index is the next
        step when the catalog grows (noted in the catalog report).
        """
        qs = self
        for word in text.split()[:8]:
            shops = Seller.objects.filter(shop_name__icontains=word).values("pk")
            qs = qs.filter(Q(seller__in=shops) | Q(title__icontains=word) | Q(description__icontains=word))
        return qs


ListingManager = models.Manager.from_queryset(ListingQuerySet)


class Listing(models.Model):
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="listings")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(max_length=140)
    description = models.TextField(blank=True, default="")
    price = models.BigIntegerField(help_text="Minor units of `currency` (cents; yen for JPY).")
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217; the seller's currency at creation.")
    stock = models.PositiveIntegerField(default=0, help_text="Units still for sale.")
    status = models.CharField(max_length=12, choices=ListingStatus.choices, default=ListingStatus.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    form_token = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The new-listing form's hidden token: posted twice, it finds the draft the first post made.",
    )
    edit_token = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The hidden token of the last edit form applied: posted again, it is not applied again.",
    )

    objects = ListingManager()

    class Meta:
        ordering = ("-published_at", "-id")
        indexes = [
            models.Index(fields=["status", "-published_at"], name="listing_status_published"),
            models.Index(fields=["category", "status"], name="listing_category_status"),
            models.Index(fields=["seller", "status"], name="listing_seller_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="listing_price_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="listing_currency_lowercase_iso"),
            models.UniqueConstraint(
                fields=["seller", "form_token"], condition=~Q(form_token=""), name="listing_unique_form_token"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == ListingStatus.PUBLISHED

    @property
    def cover_url(self) -> str:
        """URL of the first image; needs `for_cards()` (annotation) or falls back to one query."""
        name = getattr(self, "cover_name", None)
        if name is None and not hasattr(self, "cover_name"):
            first = self.images.order_by("position", "id").first()
            name = first.image.name if first else None
        return default_storage.url(name) if name else ""


def listing_image_path(instance: ListingImage, filename: str) -> str:
    """Never trust the uploaded name: a random name with the extension of the decoded type."""
    extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(instance.content_type, "bin")
    return f"listings/{instance.listing_id}/{uuid.uuid4().hex}.{extension}"


class ListingImage(models.Model):
    """An image of a listing, stored through Django's default storage (local folder or S3).

    A FileField, not an ImageField: the stored file is the one `catalog.images.clean_image_upload` wrote
    from the decoded pixels, with the type Pillow found, never the browser's claim or the upload's bytes.
    """

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=listing_image_path, max_length=255)
    content_type = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    alt_text = models.CharField(max_length=200, blank=True, default="")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return str(self.image.name)


class Cart(models.Model):
    """One cart per browser session, or per user once signed in (merged at login)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="cart"
    )
    opening_add = models.CharField(
        max_length=32,
        null=True,
        blank=True,
        unique=True,
        help_text="A visitor's cart: the token of the Add to cart form (a listing page's visit) that opened "
        "it, so that the same form posted twice at once, before either answer brought the session's "
        "cookie, opens one cart. Cleared when a user takes the cart at sign-in.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"cart {self.pk}"


class CartItem(models.Model):
    """A listing and a quantity. No price is stored: the cart always shows today's price; checkout snapshots it."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="cart_items")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)
    add_token = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The token of the last add that made this quantity (a listing page's visit, an API "
        "Idempotency-Key): posted again, it adds nothing.",
    )

    class Meta:
        ordering = ("added_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["cart", "listing"], name="cart_item_one_row_per_listing"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x listing {self.listing_id}"
