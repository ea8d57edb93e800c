"""Reads of the catalog. Each page's reads cost a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from catalog.models import Cart, CartItem, Category, Listing, ListingImage, ListingQuerySet, ListingStatus
from marketplace import money
from marketplace.errors import NotFound
from orders.selectors import units_held_for_cart
from sellers.selectors import seller_can_sell

if TYPE_CHECKING:
    from sellers.models import Seller


def categories() -> list[Category]:
    return list(Category.objects.all())


# The storefront's grid, a page at a time: its pages and `GET /api/v1/listings`, so that a storefront
# built on the API shows the pages the site shows (the one list not `marketplace.schemas.PER_PAGE`: its
# answers, cached for every visitor alike, are the API's busiest; README's Benchmarks measure 24 cards).
STOREFRONT_PER_PAGE = 24


def storefront_listings(*, category: Category | None = None, seller_id: int | None = None, query: str = "") -> Any:
    """Visible listings for a storefront page, newest first, ready for cards (one query per page)."""
    qs: ListingQuerySet = Listing.objects.visible().for_cards()
    if category is not None:
        qs = qs.filter(category=category)
    if seller_id is not None:
        qs = qs.filter(seller_id=seller_id)
    if query:
        qs = qs.search(query)
    return qs.order_by("-published_at", "-id")


def storefront_listing(*, listing_id: int) -> Listing:
    listing = (
        Listing.objects.visible()
        .select_related("seller", "category", "subscription_plan")
        .filter(pk=listing_id)
        .first()
    )
    if listing is None:
        raise NotFound("This listing is not for sale.", code="listing_unavailable")
    return listing


def storefront_seller(*, seller_id: int) -> Seller:
    from sellers.models import Seller

    seller = Seller.objects.sellable().filter(pk=seller_id).first()
    if seller is None:
        raise NotFound("This shop is not open.")
    return seller


def storefront_closed_shop(*, seller_id: int) -> Seller | None:
    """A shop that exists but can't take orders now (paused by the platform, not or no longer able to
    take payments, disconnected), so that an old link to it gets a page saying so; None if no such shop."""
    from sellers.models import Seller

    return Seller.objects.filter(pk=seller_id).first()


def storefront_unavailable_listing(*, listing_id: int) -> Listing | None:
    """A listing buyers could once see but can't now (unpublished, or its shop can't take orders), for
    the same page; None for drafts, which were never public, and for listings that don't exist."""
    return Listing.objects.exclude(status=ListingStatus.DRAFT).select_related("seller").filter(pk=listing_id).first()


def listings_for_seller(*, seller: Seller) -> Any:
    """The seller's own listings, all statuses, for the Sell area."""
    return Listing.objects.filter(seller=seller).for_cards().order_by("-updated_at", "-id")


def listing_for_seller(*, seller: Seller, listing_id: int) -> Listing:
    """Only the seller's own listing; anyone else's is a 404 (we do not confirm it exists)."""
    listing = (
        Listing.objects.select_related("category", "subscription_plan").filter(seller=seller, pk=listing_id).first()
    )
    if listing is None:
        raise NotFound("No such listing.", code="listing_not_found")
    return listing


def listing_images(*, listing: Listing) -> list[ListingImage]:
    return list(listing.images.all())


# --- Cart ----------------------------------------------------------------------------------------


@dataclass
class CartLine:
    item_id: int
    listing: Listing
    quantity: int
    unit_price: int
    currency: str
    line_total: int
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass
class CartGroup:
    """The items of one seller in one currency: what one checkout will pay."""

    seller: Seller
    currency: str
    lines: list[CartLine] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        """The sum of the lines shown, problem lines included: a disabled Pay button or a total never
        reads ¥0 beside lines that add up to more (the button says why it cannot pay; `payable`)."""
        return sum(line.line_total for line in self.lines)

    @property
    def too_large(self) -> str:
        """Why the total cannot be one card payment ("" if it can): each price is capped, a quantity of them is not."""
        if self.subtotal <= money.MAXIMUM_CHARGE_AMOUNT:
            return ""
        most = money.format_money(money.MAXIMUM_CHARGE_AMOUNT, self.currency)
        return (
            f"{money.format_money(self.subtotal, self.currency)} is more than one card payment can be ({most}):"
            " lower the quantities and pay the rest in another order."
        )

    @property
    def payable(self) -> bool:
        lines_ok = any(line.ok for line in self.lines) and all(line.ok for line in self.lines)
        return lines_ok and not self.too_large

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines if line.ok)


@dataclass
class CartPayment:
    """What one payment covers: the cart's groups in one currency (one shop: a destination charge;
    several: one payment for all of them, an order per shop)."""

    currency: str
    groups: list[CartGroup] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(group.subtotal for group in self.groups)

    @property
    def too_large(self) -> str:
        """Why the total cannot be one card payment ("" if it can)."""
        return CartGroup(seller=self.groups[0].seller, currency=self.currency, lines=self.lines).too_large

    @property
    def lines(self) -> list[CartLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def payable(self) -> bool:
        return all(group.payable for group in self.groups) and not self.too_large

    @property
    def shop_count(self) -> int:
        return len(self.groups)


@dataclass
class CartView:
    cart_id: int | None
    groups: list[CartGroup]

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def totals(self) -> dict[str, int]:
        """Per-currency totals: amounts in different currencies are never added together."""
        out: dict[str, int] = {}
        for group in self.groups:
            out[group.currency] = out.get(group.currency, 0) + group.subtotal
        return out

    @property
    def item_count(self) -> int:
        return sum(group.item_count for group in self.groups)

    @property
    def payments(self) -> list[CartPayment]:
        """One payment per currency, in the order the currencies first appear in the cart."""
        out: dict[str, CartPayment] = {}
        for group in self.groups:
            out.setdefault(group.currency, CartPayment(currency=group.currency)).groups.append(group)
        return list(out.values())


# A shop's owner does not buy from it (subscriptions refuse it too): it would only move money in a
# circle, the marketplace's fee out of it, and count as a sale.
OWN_LISTING_PROBLEM = "This is your own shop's listing: remove it to pay for the rest."
# Put in the cart before its seller sold it by subscription: paying it once would bypass the plan.
SUBSCRIPTION_PROBLEM = "Now sold by subscription: remove it, and press Subscribe on its page."


def cart_view(*, cart: Cart | None, lock: bool = False) -> CartView:
    """The cart grouped by seller (and currency), with per-line problems (unpublished, sold by
    subscription since it was added, out of stock).

    One query for the items with their listings and sellers (`lock`: and the cart's row lock, for
    checkout, which reads the cart it pays under that lock). Whether a listing can still be bought is
    `Listing.objects.visible()`'s rule (published, and its seller can sell: `seller_can_sell`, the
    sellers app's own form of `Seller.objects.sellable()`) applied to the rows read, not a subquery per
    item: a profile of checkout showed this query's building (a correlated EXISTS and a cover image
    subquery nobody showed) at ~2.6 ms of CPU, the largest part of checkout's own time.

    The stock a line may take counts back the units the buyer's own pending checkout holds of it
    (`orders.selectors.units_held_for_cart`, a subquery of that same statement, for a signed-in
    buyer's cart only): paying again reuses or replaces that checkout, so coming back from Stripe's
    page unpaid must not read the buyer's own reservation as "Only 1 left". Once it is released
    (expired, canceled), the stock has the units back and nothing is counted.
    """
    if cart is None:
        return CartView(cart_id=None, groups=[])
    items = (
        CartItem.objects.filter(cart=cart)
        .select_related("listing__seller", "listing__subscription_plan")
        .order_by("added_at", "id")
    )
    if cart.user_id is not None:  # a session's cart has no checkout: only a signed-in buyer pays
        items = items.annotate(held=units_held_for_cart(buyer_id=cart.user_id))
    if lock:  # in the caller's transaction: the cart's row, locked by the same statement (checkout)
        items = items.select_related("cart").select_for_update(of=("cart",))
    groups: dict[tuple[int, str], CartGroup] = {}
    for item in items:
        listing = item.listing
        stock = listing.stock + getattr(item, "held", 0)  # what this cart may take: see the docstring
        problem = ""
        if cart.user_id is not None and listing.seller.user_id == cart.user_id:
            problem = OWN_LISTING_PROBLEM
        elif listing.status != ListingStatus.PUBLISHED or not seller_can_sell(listing.seller):
            problem = "Not for sale now: remove it to pay for the rest."
        elif hasattr(listing, "subscription_plan"):  # the subscriptions app's plan
            problem = SUBSCRIPTION_PROBLEM
        elif stock == 0:
            problem = "Out of stock: remove it to pay for the rest."
        elif item.quantity > stock:
            problem = f"Only {stock} left: lower the quantity."
        key = (listing.seller_id, listing.currency)
        group = groups.get(key)
        if group is None:
            group = groups[key] = CartGroup(seller=listing.seller, currency=listing.currency)
        group.lines.append(
            CartLine(
                item_id=item.pk,
                listing=listing,
                quantity=item.quantity,
                unit_price=listing.price,
                currency=listing.currency,
                line_total=listing.price * item.quantity,
                problem=problem,
            )
        )
    return CartView(cart_id=cart.pk, groups=list(groups.values()))
