"""Writes of the catalog: listings, their images, carts. Every function is `<entity>_<action>(*, ...)`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, router, transaction
from django.utils import timezone

from catalog.images import MAX_IMAGES_PER_LISTING, clean_image_upload
from catalog.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_STOCK,
    Cart,
    CartItem,
    Category,
    Listing,
    ListingImage,
    ListingStatus,
)
from marketplace import money
from marketplace.errors import InvalidInput, NotFound
from marketplace.sessions import CART_ID
from marketplace.text import DIRECTION_CONTROLS_REFUSED, has_direction_controls, on_one_line, shows_something
from orders.selectors import units_held_for_cart

if TYPE_CHECKING:
    from marketplace.models import User
    from sellers.models import Seller

CART_SESSION_KEY = "cart_id"
MAX_QUANTITY_PER_ITEM = 99


# --- Listings ------------------------------------------------------------------------------------


def price_below_minimum(currency: str) -> InvalidInput:
    """The refusal of a price under Stripe's minimum charge, zero and a negative one alike (the listing
    form's own parse refuses a negative before this service sees it: `catalog.forms.PriceField`)."""
    minimum = money.minimum_charge_amount(currency)
    return InvalidInput(
        f"The lowest price Stripe can charge in {currency.upper()} is {money.format_money(minimum, currency)}.",
        code="price_below_minimum",
    )


def _check_price(price: int, currency: str) -> None:
    if price < money.minimum_charge_amount(currency):
        raise price_below_minimum(currency)
    if price > money.MAXIMUM_CHARGE_AMOUNT:
        raise InvalidInput(
            f"The highest price is {money.format_money(money.MAXIMUM_CHARGE_AMOUNT, currency)}.",
            code="price_above_maximum",
        )


def _check_fields(*, title: str, stock: int, description: str = "") -> None:
    if not title.strip():
        raise InvalidInput("Give the listing a title.", code="title_required")
    if not shows_something(title):  # zero-width spaces, bidi controls: a blank title everywhere
        raise InvalidInput(
            "Give the listing a title people can see: at least one letter, digit or sign.", code="title_invisible"
        )
    if not on_one_line(title):
        raise InvalidInput(
            "Keep the title on one line, without tabs or other control characters.", code="title_one_line"
        )
    if has_direction_controls(title):
        raise InvalidInput(DIRECTION_CONTROLS_REFUSED, code="title_direction_controls")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(
            f"The description can be at most {DESCRIPTION_MAX_LENGTH:,} characters; this one has {len(description):,}.",
            code="description_too_long",
        )
    if stock < 0:
        raise InvalidInput("Stock cannot be negative.", code="negative_stock")


@transaction.atomic
def listing_create(
    *,
    seller: Seller,
    title: str,
    description: str,
    price: int,
    stock: int,
    category: Category,
    image: UploadedFile | None = None,
    image_alt: str = "",
    form_token: str = "",
) -> Listing:
    """A draft in the seller's currency (with its first image if given); visible only once published.

    `form_token` names the submission (the new-listing form's hidden token): the same token of the
    same seller returns the draft it made first, unchanged, so a double click makes one draft (a
    listing cannot be deleted). Two at once: the unique index makes the second wait for the first
    and then find its draft."""
    currency = money.normalise_currency(seller.default_currency)
    _check_fields(title=title, stock=stock, description=description)
    _check_price(price, currency)
    if form_token:
        made = Listing.objects.filter(seller=seller, form_token=form_token).first()
        if made is not None:
            return made
    try:
        with transaction.atomic():
            listing = Listing.objects.create(
                seller=seller,
                title=title.strip(),
                description=description.strip(),
                price=price,
                currency=currency,
                stock=stock,
                category=category,
                form_token=form_token,
            )
    except IntegrityError:
        made = Listing.objects.filter(seller=seller, form_token=form_token).first() if form_token else None
        if made is None:
            raise
        return made
    if image is not None:
        listing_image_add(listing=listing, upload=image, alt_text=image_alt)
    return listing


UPDATABLE_FIELDS = frozenset({"title", "description", "price", "stock", "category"})


@transaction.atomic
def listing_update(
    *,
    listing: Listing,
    data: Mapping[str, Any],
    image: UploadedFile | None = None,
    image_alt: str = "",
    stock_seen: int | None = None,
    edit_token: str = "",
) -> Listing:
    """Change some fields (and add an image); the currency never changes (orders and carts rely on it).

    Only the fields given are written, under the listing's row lock, so units a checkout reserved (or
    gave back) meanwhile are kept. `stock_seen` is the stock the seller's form showed: its stock is
    then applied as a change from that figure, since the form shows the stock of when it was opened and
    saving it as typed would put units sold since then back on sale (an edit of the title alone did).

    `edit_token` names the edit form's submission: the same token as the last edit applied is that
    edit posted again (a double click), and nothing is applied again, since its stock change would
    add up a second time and its image be attached twice."""
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="readonly_field")
    current = Listing.objects.select_for_update().only("stock", "edit_token").get(pk=listing.pk)  # this transaction's
    if edit_token and current.edit_token == edit_token:
        listing.refresh_from_db()
        return listing
    listing.stock = current.stock
    if stock_seen is not None and isinstance(data.get("stock"), int):
        data = {**data, "stock": max(0, current.stock + data["stock"] - stock_seen)}
        if data["stock"] > MAX_STOCK and data["stock"] > current.stock:  # units given back may pass it
            raise InvalidInput(
                f"At most {MAX_STOCK:,} units can be on sale; this change would make {data['stock']:,}.",
                code="stock_too_high",
            )
    for field, value in data.items():
        setattr(listing, field, value.strip() if isinstance(value, str) else value)
    _check_fields(title=listing.title, stock=listing.stock, description=listing.description)
    _check_price(listing.price, listing.currency)
    listing.edit_token = edit_token or current.edit_token
    listing.save(update_fields=[*data, "edit_token", "updated_at"])
    if image is not None:
        listing_image_add(listing=listing, upload=image, alt_text=image_alt)
    return listing


def listing_publish(*, listing: Listing) -> Listing:
    _check_fields(title=listing.title, stock=listing.stock)
    _check_price(listing.price, listing.currency)
    listing.status = ListingStatus.PUBLISHED
    listing.published_at = listing.published_at or timezone.now()
    listing.save(update_fields=["status", "published_at", "updated_at"])
    return listing


def listing_unpublish(*, listing: Listing) -> Listing:
    """Hidden from the storefront at once; carts holding it show it as no longer available."""
    listing.status = ListingStatus.UNPUBLISHED
    listing.save(update_fields=["status", "updated_at"])
    return listing


def listing_image_add(*, listing: Listing, upload: UploadedFile, alt_text: str = "") -> ListingImage:
    """Store an uploaded image as we re-encoded it (`images.clean_image_upload`), never the upload's bytes.

    The cap is a count of rows, so it is counted again under the listing's row lock, held until the
    new row is committed: two uploads at once would otherwise both count 7 and both insert. The first
    count, without the lock, only spares decoding an image that cannot be added; the decoding (a large
    photo takes a while) is done before the lock is taken."""
    too_many = InvalidInput(f"A listing can have at most {MAX_IMAGES_PER_LISTING} images.", code="too_many_images")
    if listing.images.count() >= MAX_IMAGES_PER_LISTING:
        raise too_many
    clean = clean_image_upload(upload)
    with transaction.atomic():
        if not Listing.objects.select_for_update().filter(pk=listing.pk).exists():
            raise NotFound("This listing no longer exists.", code="listing_not_found")
        count = listing.images.count()
        if count >= MAX_IMAGES_PER_LISTING:
            raise too_many
        image = ListingImage(
            listing=listing,
            content_type=clean.content_type,
            size=len(clean.content),
            alt_text=(alt_text or listing.title)[:200],
            position=count,
        )
        image.image.save("upload", ContentFile(clean.content), save=False)
        image.save()
        return image


def listing_image_remove(*, image: ListingImage) -> None:
    """Delete the row, then the stored file once the deletion is committed."""
    name = image.image.name
    storage = image.image.storage
    image.delete()
    transaction.on_commit(lambda: storage.delete(name))


# --- Carts ---------------------------------------------------------------------------------------


_UNKNOWN = object()


def cart_find(*, user: Any, session: SessionBase) -> Cart | None:
    """The current cart without creating one: the user's once signed in, else the session's.

    A user that came with the request's session carries the id of their cart, read in the same
    statement (`marketplace.sessions`): no query then, and the cart's other columns are read only if
    something asks for them (carts are never deleted but with their user)."""
    if user is not None and user.is_authenticated:
        known = getattr(user, CART_ID, _UNKNOWN)
        if known is _UNKNOWN:
            return Cart.objects.filter(user=user).first()
        if known is None:
            return None
        return Cart.from_db(router.db_for_read(Cart), ["id", "user_id"], [known, user.pk])
    cart_id = session.get(CART_SESSION_KEY)
    if cart_id is None:
        return None
    return Cart.objects.filter(pk=cart_id, user__isnull=True).first()


def cart_get_or_create(*, user: Any, session: SessionBase, opening_add: str = "") -> Cart:
    """The current cart, opened when there is none: one per user, else one per browser session.

    A visitor's first Add to cart clicked twice sends both posts before either answer brings the
    session's cookie, so neither finds the other's cart in its (new, empty) session, and each opened
    one. `opening_add`, the token of the Add to cart form (drawn by us for one visit of the listing's
    page, so only that browser has it), is what both posts share: the cart is opened unique on it, and
    the second post joins the first's cart (`cart_item_add` then finds its add already made). Not the
    API's `Idempotency-Key`: its caller chooses it, and another caller may choose the same."""
    cart = cart_find(user=user, session=session)
    if cart is not None:
        return cart
    if user is not None and user.is_authenticated:
        cart, _ = Cart.objects.get_or_create(user=user)
        setattr(user, CART_ID, cart.pk)  # see cart_find
    elif opening_add:
        cart, _ = Cart.objects.get_or_create(opening_add=opening_add)
        session[CART_SESSION_KEY] = cart.pk
    else:
        cart = Cart.objects.create()
        session[CART_SESSION_KEY] = cart.pk
    return cart


def _buyable(listing_id: int, cart: Cart) -> Listing:
    """The listing if it can be put in a cart, with `held`: the units the cart's own pending checkout
    holds of it (same statement), which the cart may take again (`catalog.selectors.cart_view`)."""
    listings = Listing.objects.visible().select_related("seller", "subscription_plan").filter(pk=listing_id)
    if cart.user_id is not None:
        listings = listings.annotate(held=units_held_for_cart(buyer_id=cart.user_id, listing="pk", currency="currency"))
    listing = listings.first()
    if listing is None:
        raise NotFound("This listing is not for sale.", code="listing_unavailable")
    if cart.user_id is not None and listing.seller.user_id == cart.user_id:
        raise InvalidInput("This is your own shop's listing: you cannot buy it.", code="own_listing")
    if hasattr(listing, "subscription_plan"):  # sold by subscription (the subscriptions app's plan)
        raise InvalidInput("This is sold by subscription: press Subscribe on its page.", code="sold_by_subscription")
    return listing


def check_quantity(quantity: int, listing: Listing) -> None:
    """Refuse, with a sentence for the buyer, a quantity of `listing` that is not 1..its stock (plus
    `held`, see `_buyable`) and at most `MAX_QUANTITY_PER_ITEM`: a cart's, or a Buy now's."""
    if quantity < 1:
        raise InvalidInput("Choose a quantity of at least 1.", code="invalid_quantity")
    stock = listing.stock + getattr(listing, "held", 0)  # see _buyable
    if quantity > stock:
        if stock == 0:
            raise InvalidInput(f"“{listing.title}” is out of stock.", code="out_of_stock")
        raise InvalidInput(
            f"Only {stock} of “{listing.title}” left: choose {stock} or fewer.",
            code="not_enough_stock",
        )
    if quantity > MAX_QUANTITY_PER_ITEM:
        raise InvalidInput(f"At most {MAX_QUANTITY_PER_ITEM} per item.", code="invalid_quantity")


@dataclass(frozen=True)
class CartAdd:
    item: CartItem
    repeated: bool  # the same token added already: this add was that one, and added nothing


@transaction.atomic
def cart_item_add(*, cart: Cart, listing_id: int, quantity: int, token: str = "") -> CartAdd:
    """Add `quantity` units (on top of any already in the cart), within the stock.

    `token` names the add (the listing page's visit, the API's `Idempotency-Key`): the same token on
    the same item again is the add it made, not another one, so a double click adds one unit and a
    new visit's click adds the next. The cart's row lock makes two at once wait for each other
    (SQLite: the demo's IMMEDIATE transactions do), so the second sees the first's token; it also
    keeps two first adds of a listing from both creating its row. Without a token every call adds.

    The quantity is part of what is remembered: a resend carries the same one, while the same page
    kept by the browser (Back from the cart) or a key reused with another quantity asks for more, and
    replaying the first add then would drop it and say "added once"."""
    Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk").first()
    listing = _buyable(listing_id, cart)
    item = CartItem.objects.select_for_update().filter(cart=cart, listing=listing).first()
    # At most 48 + 1 + 2 (MAX_QUANTITY_PER_ITEM) characters: a form's 32, the API's 63 cut to 48 (180 bits).
    token = f"{token[:48]}:{quantity}" if token else ""
    if item is not None and token and item.add_token == token:
        item.listing = listing
        return CartAdd(item=item, repeated=True)
    total = quantity + (item.quantity if item else 0)
    if quantity < 1:
        check_quantity(quantity, listing)
    check_quantity(total, listing)
    if item is None:
        item = CartItem.objects.create(cart=cart, listing=listing, quantity=total, add_token=token)
    else:
        item.quantity, item.add_token = total, token
        item.save(update_fields=["quantity", "add_token"])
    cart.save(update_fields=["updated_at"])
    return CartAdd(item=item, repeated=False)


def _item_of(cart: Cart, item_id: int) -> CartItem:
    item = CartItem.objects.select_related("listing").filter(cart=cart, pk=item_id).first()
    if item is None:
        raise NotFound("This item is not in your cart.", code="cart_item_not_found")
    return item


def cart_item_set_quantity(*, cart: Cart, item_id: int, quantity: int) -> CartItem:
    item = _item_of(cart, item_id)
    listing = _buyable(item.listing_id, cart)
    check_quantity(quantity, listing)
    item.quantity = quantity
    item.save(update_fields=["quantity"])
    return item


def cart_item_remove(*, cart: Cart, item_id: int) -> None:
    _item_of(cart, item_id).delete()


@transaction.atomic
def cart_merge_on_login(*, user: User, session: SessionBase) -> Cart | None:
    """Bring the anonymous session cart into the user's cart when they sign in.

    Quantities of the same listing add up, capped at the stock (never below what the user already had);
    the anonymous cart is then deleted and the session points at nothing, since the user's cart is found
    by user from now on.
    """
    cart_id = session.pop(CART_SESSION_KEY, None)
    anonymous = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if anonymous is None:
        return Cart.objects.filter(user=user).first()
    mine = Cart.objects.select_for_update().filter(user=user).first()
    if mine is None:
        anonymous.user, anonymous.opening_add = user, None  # no later visitor's form may open it again
        anonymous.save(update_fields=["user", "opening_add", "updated_at"])
        return anonymous
    existing = {item.listing_id: item for item in mine.items.select_related("listing")}
    for incoming in anonymous.items.select_related("listing"):
        current = existing.get(incoming.listing_id)
        if current is None:
            incoming.cart = mine
            incoming.save(update_fields=["cart"])
            continue
        merged = min(current.quantity + incoming.quantity, max(incoming.listing.stock, current.quantity))
        current.quantity = min(merged, MAX_QUANTITY_PER_ITEM)
        current.save(update_fields=["quantity"])
    anonymous.delete()
    mine.save(update_fields=["updated_at"])
    return mine
