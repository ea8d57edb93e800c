"""`/api/v1/listings` (public reads), `/api/v1/seller/listings` (the signed-in seller's own listings:
anyone else's is a 404) and `/api/v1/cart` (the session's cart, signed in or not; CSRF still applies)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Status, UploadedFile
from ninja.params import HeaderEx, P

from catalog import selectors, services
from catalog.cache import storefront_cached
from catalog.models import Category, Listing
from catalog.schemas import (
    CartGroupOut,
    CartItemIn,
    CartItemPatch,
    CartLineOut,
    CartOut,
    CategoryOut,
    ListingIn,
    ListingOut,
    ListingPageOut,
    ListingPatch,
    MoneyOut,
    SellerBriefOut,
)
from marketplace import money
from marketplace.errors import InvalidInput, NotFound
from marketplace.schemas import PER_PAGE, Id, Page, Text, errors, paged
from sellers.selectors import seller_for_user

public_router = Router(tags=["listings"], auth=None)
seller_router = Router(tags=["seller listings"])
cart_router = Router(tags=["cart"], auth=None)

# What `POST /api/v1/checkout` does with this cart (orders/api.py), said to the API's clients.
MULTI_SELLER_NOTE = (
    "One payment per currency: POST /api/v1/checkout with a currency pays every shop of that currency at once, "
    "one order per shop; with a seller_id too, it pays that shop alone."
)


def money_out(amount: int, currency: str) -> MoneyOut:
    return MoneyOut(amount=amount, currency=currency, display=money.format_money(amount, currency))


def listing_out(listing: Listing, image_urls: list[str] | None = None) -> ListingOut:
    urls = image_urls if image_urls is not None else ([listing.cover_url] if listing.cover_url else [])
    return ListingOut(
        id=listing.pk,
        title=listing.title,
        description=listing.description,
        price=money_out(listing.price, listing.currency),
        stock=listing.stock,
        status=listing.status,
        category=CategoryOut(id=listing.category.pk, slug=listing.category.slug, name=listing.category.name),
        seller=SellerBriefOut(id=listing.seller.pk, shop_name=listing.seller.shop_name),
        image_urls=urls,
        published_at=listing.published_at,
        subscription_interval=plan.interval if (plan := getattr(listing, "subscription_plan", None)) else None,
    )


def _category(slug: str) -> Category:
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        raise InvalidInput(f"No category “{slug}”.", code="unknown_category")
    return category


def _page(queryset: Any, page: int, *, per_page: int = PER_PAGE) -> ListingPageOut:
    return ListingPageOut(**paged(queryset, page, listing_out, per_page=per_page))


# --- Public --------------------------------------------------------------------------------------


@public_router.get("/listings", response=ListingPageOut, url_name="listings")
def listings(
    request: HttpRequest, q: Text = "", category: Text = "", seller: Id | None = None, page: Page = 1
) -> ListingPageOut:
    """The listings for sale, newest first, 24 a page as on the storefront (past the last, no items):
    `q` holds words that must each appear in the title, the description or the shop's name, `category`
    is a category's slug (an unknown one is a 422), `seller` a shop's id."""
    # What every visitor sees alike: from the storefront's cache (`catalog.cache`) while the catalog is
    # unchanged. A profile showed the page's time in its two queries and in building 24 items.
    query = q.strip()[:100]

    def compute() -> ListingPageOut:
        current = _category(category) if category else None  # unknown: a 422, never cached
        found = selectors.storefront_listings(category=current, seller_id=seller, query=query)
        return _page(found, page, per_page=selectors.STOREFRONT_PER_PAGE)

    return storefront_cached(f"api-listings:{(category, seller, page, query)!r}", compute)


@public_router.get("/listings/{listing_id}", response={200: ListingOut, **errors(404)}, url_name="listing")
def listing(request: HttpRequest, listing_id: int) -> ListingOut:
    item = selectors.storefront_listing(listing_id=listing_id)
    return listing_out(item, [image.image.url for image in selectors.listing_images(listing=item)])


# --- Seller --------------------------------------------------------------------------------------


def _own(request: HttpRequest, listing_id: int) -> Listing:
    seller = seller_for_user(user=request.user)
    return selectors.listing_for_seller(seller=seller, listing_id=listing_id)


@seller_router.get("/seller/listings", response={200: ListingPageOut, **errors(404)}, url_name="seller_listings")
def seller_listings(request: HttpRequest, page: Page = 1) -> ListingPageOut:
    """The shop's listings, newest first, 100 a page (past the last, no items)."""
    return _page(selectors.listings_for_seller(seller=seller_for_user(user=request.user)), page)


def _idempotency_token(key: str | None) -> str:
    """The token of a listing's creation or a cart's add from the `Idempotency-Key` header: a digest, in
    a namespace of its own (a form's tokens are hex, never starting "api"), that fits the token's column
    whatever the key."""
    if key is None or not key.strip():
        return ""
    key = key.strip()
    if len(key) > 80 or not all(" " <= c <= "~" for c in key):
        raise InvalidInput("Idempotency-Key: at most 80 printable ASCII characters.", code="invalid_idempotency_key")
    return "api" + hashlib.sha256(key.encode()).hexdigest()[:60]


@seller_router.post(
    "/seller/listings",
    response={201: ListingOut, **errors(404, 422)},
    url_name="seller_listing_create",
    description=(
        "Send an `Idempotency-Key` header to make retrying safe: the same key returns the listing it "
        "made first instead of making a second one (a listing cannot be deleted)."
    ),
)
def seller_listing_create(
    request: HttpRequest,
    payload: ListingIn,
    idempotency_key: HeaderEx[str | None, P(alias="Idempotency-Key", description="At most 80 printable ASCII.")] = None,
) -> Status[ListingOut]:
    seller = seller_for_user(user=request.user)
    created = services.listing_create(
        seller=seller,
        title=payload.title,
        description=payload.description,
        price=payload.price,
        stock=payload.stock,
        category=_category(payload.category),
        form_token=_idempotency_token(idempotency_key),
    )
    return Status(201, listing_out(created, [image.image.url for image in selectors.listing_images(listing=created)]))


@seller_router.patch(
    "/seller/listings/{listing_id}", response={200: ListingOut, **errors(404)}, url_name="seller_listing_update"
)
def seller_listing_update(request: HttpRequest, listing_id: int, payload: ListingPatch) -> ListingOut:
    item = _own(request, listing_id)
    data: dict[str, Any] = payload.dict(exclude_unset=True)
    if "category" in data:
        data["category"] = _category(str(data["category"]))
    services.listing_update(listing=item, data=data)
    return listing_out(item)


@seller_router.post(
    "/seller/listings/{listing_id}/publish",
    response={200: ListingOut, **errors(404)},
    url_name="seller_listing_publish",
)
def seller_listing_publish(request: HttpRequest, listing_id: int) -> ListingOut:
    return listing_out(services.listing_publish(listing=_own(request, listing_id)))


@seller_router.post(
    "/seller/listings/{listing_id}/unpublish",
    response={200: ListingOut, **errors(404)},
    url_name="seller_listing_unpublish",
)
def seller_listing_unpublish(request: HttpRequest, listing_id: int) -> ListingOut:
    return listing_out(services.listing_unpublish(listing=_own(request, listing_id)))


@seller_router.post(
    "/seller/listings/{listing_id}/images",
    response={201: ListingOut, **errors(404)},
    url_name="seller_listing_image_add",
)
def seller_listing_image_add(request: HttpRequest, listing_id: int, image: File[UploadedFile]) -> Status[ListingOut]:
    item = _own(request, listing_id)
    services.listing_image_add(listing=item, upload=image)
    return Status(201, listing_out(item, [i.image.url for i in selectors.listing_images(listing=item)]))


# --- Cart ----------------------------------------------------------------------------------------


def cart_out(request: HttpRequest) -> CartOut:
    view = selectors.cart_view(cart=services.cart_find(user=request.user, session=request.session))
    return CartOut(
        groups=[
            CartGroupOut(
                seller=SellerBriefOut(id=group.seller.pk, shop_name=group.seller.shop_name),
                currency=group.currency,
                lines=[
                    CartLineOut(
                        id=line.item_id,
                        listing_id=line.listing.pk,
                        title=line.listing.title,
                        quantity=line.quantity,
                        unit_price=money_out(line.unit_price, line.currency),
                        line_total=money_out(line.line_total, line.currency),
                        problem=line.problem or None,
                    )
                    for line in group.lines
                ],
                subtotal=money_out(group.subtotal, group.currency),
                payable=group.payable,
            )
            for group in view.groups
        ],
        totals=[money_out(total, currency) for currency, total in view.totals.items()],
        note=MULTI_SELLER_NOTE,
    )


@cart_router.get("/cart", response=CartOut, url_name="cart")
def cart(request: HttpRequest) -> CartOut:
    return cart_out(request)


@cart_router.post(
    "/cart/items",
    response={201: CartOut, **errors(404, 422)},
    url_name="cart_items",
    description=(
        "Adds `quantity` on top of what the cart holds. Send an `Idempotency-Key` header to make retrying "
        "safe: the same key with the same quantity adds nothing more while the item's last add was made "
        "with them (another quantity is another add). Without it, "
        "every request adds."
    ),
)
def cart_item_add(
    request: HttpRequest,
    payload: CartItemIn,
    idempotency_key: HeaderEx[str | None, P(alias="Idempotency-Key", description="At most 80 printable ASCII.")] = None,
) -> Status[CartOut]:
    token = _idempotency_token(idempotency_key)  # refused before a cart is made for it
    current = services.cart_get_or_create(user=request.user, session=request.session)
    services.cart_item_add(cart=current, listing_id=payload.listing_id, quantity=payload.quantity, token=token)
    return Status(201, cart_out(request))


def _cart_or_404(request: HttpRequest) -> Any:
    current = services.cart_find(user=request.user, session=request.session)
    if current is None:
        raise NotFound("This item is not in your cart.", code="cart_item_not_found")
    return current


@cart_router.patch("/cart/items/{item_id}", response={200: CartOut, **errors(404)}, url_name="cart_item")
def cart_item_update(request: HttpRequest, item_id: int, payload: CartItemPatch) -> CartOut:
    services.cart_item_set_quantity(cart=_cart_or_404(request), item_id=item_id, quantity=payload.quantity)
    return cart_out(request)


@cart_router.delete("/cart/items/{item_id}", response={200: CartOut, **errors(404)}, url_name="cart_item_delete")
def cart_item_delete(request: HttpRequest, item_id: int) -> CartOut:
    services.cart_item_remove(cart=_cart_or_404(request), item_id=item_id)
    return cart_out(request)
