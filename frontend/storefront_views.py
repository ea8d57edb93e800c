"""The buyer's pages: home, categories, search, listing, seller shops and the cart.

Each list page costs a fixed number of queries (count + page, with seller, category and cover image
joined in), whatever the number of listings; tests/catalog/test_storefront.py asserts it. What every
visitor sees alike (the cards of a page, the categories, a listing's page but its forms) comes from
the storefront's cache (`catalog.cache`), rendered, while the catalog is unchanged: a profile of these
pages showed about two thirds of their time in rendering the cards, one third in their queries. The
rest of the page (the header with the visitor's name, the CSRF token, messages, a listing's forms) is
rendered for each request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.messages.storage.base import BaseStorage
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from catalog import selectors, services
from catalog.cache import storefront_cached
from catalog.models import Category
from frontend import kept_input
from frontend.paging import page_number
from marketplace.errors import DomainError, NotFound
from marketplace.money import format_money
from orders.services import PAYMENT_NOT_COMPLETED, saved_cards
from sellers.selectors import seller_can_sell
from subscriptions import selectors as subscription_selectors


@dataclass(frozen=True)
class Cards:
    """What a list page shows every visitor alike, rendered: the search box and the categories' menu
    (`browse`, marking the category the page is about), one page of listing cards (`html`); and the
    number of listings on all pages, and the category of the page, if any."""

    browse: str
    html: str
    count: int
    current: Category | None = None


def _browse(*, query: str = "", current: Category | None = None) -> str:
    context = {"categories": selectors.categories(), "query": query, "current": current}
    return render_to_string("storefront/_browse.html", context)


def _cards(listings: Any, number: int, *, empty_text: str, query: str = "", current: Category | None = None) -> Cards:
    page = Paginator(listings, selectors.STOREFRONT_PER_PAGE).get_page(number)
    html = render_to_string("storefront/_cards.html", {"page": page, "query": query, "empty_text": empty_text})
    browse = _browse(query=query, current=current)
    return Cards(browse=browse, html=html, count=page.paginator.count, current=current)


def _render(request: HttpRequest, template: str, cards: Cards, **context: Any) -> HttpResponse:
    # Our templates rendered both, escaping as they do.
    context |= {"browse": mark_safe(cards.browse), "cards": mark_safe(cards.html), "count": cards.count}  # noqa: S308
    return render(request, template, context)


def home(request: HttpRequest) -> HttpResponse:
    number = page_number(request)
    cards = storefront_cached(f"home:{number}", lambda: _cards(selectors.storefront_listings(), number, empty_text=""))
    return _render(request, "storefront/home.html", cards)


def _category_cards(slug: str, number: int) -> Cards | None:
    current = Category.objects.filter(slug=slug).first()
    if current is None:
        return None
    listings = selectors.storefront_listings(category=current)
    return _cards(listings, number, empty_text="Nothing for sale in this category yet.", current=current)


def category(request: HttpRequest, slug: str) -> HttpResponse:
    number = page_number(request)
    cards = storefront_cached(f"category:{slug}:{number}", lambda: _category_cards(slug, number))
    if cards is None:
        raise Http404("No such category.")
    return _render(request, "storefront/category.html", cards, current=cards.current)


def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    if not query:
        browse = mark_safe(storefront_cached("browse", _browse))  # noqa: S308  (rendered by our template)
        return render(request, "storefront/search.html", {"query": query, "browse": browse})
    number = page_number(request)
    empty_text = "No listing matches every word. Try fewer words."
    cards = storefront_cached(
        f"search:{number}:{query}",
        lambda: _cards(selectors.storefront_listings(query=query), number, empty_text=empty_text, query=query),
    )
    return _render(request, "storefront/search.html", cards, query=query)


def shop(request: HttpRequest, seller_id: int) -> HttpResponse:
    try:
        seller = selectors.storefront_seller(seller_id=seller_id)
    except NotFound:
        closed = selectors.storefront_closed_shop(seller_id=seller_id)
        if closed is None:
            raise Http404("No such shop.") from None
        return _unavailable(
            request,
            f"{closed.shop_name} isn't open right now",
            "This shop can't take orders at the moment, so its items are hidden. It may be back later.",
        )
    number = page_number(request)
    empty_text = "This shop has nothing for sale right now."
    cards = storefront_cached(
        f"shop:{seller.pk}:{number}",
        lambda: _cards(selectors.storefront_listings(seller_id=seller.pk), number, empty_text=empty_text),
    )
    return _render(request, "storefront/shop.html", cards, seller=seller)


@dataclass(frozen=True)
class ListingPage:
    """What a listing's page shows every visitor alike: its parts rendered (`storefront/_listing_parts.html`:
    the way back to its category, the images, the heading with the price and the shop, the description),
    and what the forms rendered for each request need (the stock, the subscription's interval and price,
    the forms' addresses). A profile of the signed-in listing page showed a quarter of its time in
    rendering these parts and unpickling the listing and its images they were rendered from."""

    pk: int
    title: str
    stock: int
    interval: str | None  # sold by subscription, charged every `interval`; None: sold one by one
    price: str
    price_amount: int  # minor units, with `currency`: what Buy now's form says the buyer saw
    currency: str
    subscribe_url: str
    buy_now_url: str
    back: SafeString
    images: SafeString
    heading: SafeString
    description: SafeString


PART = "<!--part-->"


def _listing_page(listing_id: int) -> ListingPage:
    item = selectors.storefront_listing(listing_id=listing_id)
    context = {"listing": item, "images": selectors.listing_images(listing=item)}
    back, images, heading, description = render_to_string("storefront/_listing_parts.html", context).split(PART)
    plan = getattr(item, "subscription_plan", None)
    return ListingPage(
        pk=item.pk,
        title=item.title,
        stock=item.stock,
        interval=plan.interval if plan is not None else None,
        price=format_money(item.price, item.currency),
        price_amount=item.price,
        currency=item.currency,
        subscribe_url=reverse("subscribe", args=[item.pk]),
        buy_now_url=reverse("buy_now", args=[item.pk]),
        # Rendered by our template, escaping as it does.
        back=mark_safe(back),  # noqa: S308
        images=mark_safe(images),  # noqa: S308
        heading=mark_safe(heading),  # noqa: S308
        description=mark_safe(description),  # noqa: S308
    )


def listing(request: HttpRequest, listing_id: int) -> HttpResponse:
    if request.GET.get("left") == "checkout":
        # Stripe's Cancel link of a subscription's Checkout (`subscription_views.subscribe`): the buyer,
        # maybe after a declined card, came back to the listing without a word. Said once, as an order's
        # Checkout says it, then the listing's own address.
        messages.warning(request, PAYMENT_NOT_COMPLETED)
        return redirect("storefront_listing", listing_id=listing_id)
    try:
        page = storefront_cached(f"listing-page:{listing_id}", lambda: _listing_page(listing_id))
    except NotFound:
        gone = selectors.storefront_unavailable_listing(listing_id=listing_id)
        if gone is None:
            raise Http404("No such listing.") from None
        return _unavailable(
            request,
            f"{gone.title} isn't available right now",
            "This item can't be bought at the moment. It may be back later.",
            shop=gone.seller if seller_can_sell(gone.seller) else None,
        )
    return render(
        request,
        "storefront/listing.html",
        {
            "page": page,
            "buy_card": _buy_now_card(request),
            # One "Buy now" pays once, one "Add to cart" adds once, however often the form is sent.
            "attempt": uuid.uuid4().hex,
            "quantity": _typed_quantity(request),
            # The person's, so never in the cached page: a subscriber is told, not offered "Subscribe" again.
            "subscribed": subscription_selectors.buyer_subscription_to(user=request.user, listing_id=page.pk)
            if page.interval and request.user.is_authenticated
            else None,
        },
    )


def _buy_now_card(request: HttpRequest) -> saved_cards.SavedCard | None:
    """The saved card "Buy now" offers; none when Stripe cannot tell us now (the cart still works)."""
    if not request.user.is_authenticated:
        return None
    try:
        return saved_cards.default_card_for(user=request.user)
    except DomainError:
        return None


def _unavailable(request: HttpRequest, heading: str, text: str, *, shop: Any = None) -> HttpResponse:
    """An old link to a shop or listing that can't take orders now (a paused shop, an unpublished item):
    the site's own page, saying so, with the way back. 404, not 410: it may well come back. It never
    says why (a pause is between the platform and the seller)."""
    context = {"heading": heading, "text": text, "shop": shop}
    return render(request, "storefront/unavailable.html", context, status=404)


# --- Cart ----------------------------------------------------------------------------------------


def cart(request: HttpRequest) -> HttpResponse:
    current = services.cart_find(user=request.user, session=request.session)
    # A refused quantity (`cart_item_update`): said beside its line's box, which keeps what was typed.
    kept = kept_input.take(request, "cart_item:")
    kept_item = int(kept["form"].removeprefix("cart_item:")) if kept else None
    context = {"cart": selectors.cart_view(cart=current), "kept": kept, "kept_item": kept_item}
    return render(request, "storefront/cart.html", context)


def posted_quantity(request: HttpRequest) -> int:
    """A quantity box (the listing page's, for Add to cart and Buy now; the cart's): 1 when absent
    (an older page), 0 when not a whole number, which the services refuse with a sentence."""
    try:
        return int(request.POST.get("quantity", "1"))
    except ValueError:
        return 0


def _quantity_in(text: str) -> int | None:
    """A quantity box's text as a positive whole number of at most six digits, else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 and int(text) > 0 else None


def back_to_listing(request: HttpRequest, listing_id: int) -> HttpResponse:
    """A refused Add to cart or Buy now (a quantity over the stock, a declined card) goes back to the listing
    with the quantity typed in its box again (`?quantity=`), so the buyer loses nothing."""
    url = reverse("storefront_listing", kwargs={"listing_id": listing_id})
    typed = _quantity_in(request.POST.get("quantity", ""))
    return redirect(f"{url}?quantity={typed}" if typed else url)


def _typed_quantity(request: HttpRequest) -> int:
    """The quantity a refusal brought back (`back_to_listing`), else 1."""
    return _quantity_in(request.GET.get("quantity", "")) or 1


def _add_token(request: HttpRequest) -> str | None:
    """The Add to cart form's token (drawn on each render of the listing's page), or None."""
    try:
        return uuid.UUID(request.POST.get("attempt", "")).hex
    except ValueError:
        return None


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add to cart, once per visit of the listing's page: the form's token makes a double click (or
    the browser sending the form again) the same add, landing on the cart as the first did. A form
    without a token (a page from before tokens, curl) adds nothing: it cannot be told from its own
    second click, so the buyer is sent back to the listing's page, whose form has one, and told to
    press again. The token also opens a visitor's cart, so that a first double click, whose posts
    both come before the session's cookie, opens one (`services.cart_get_or_create`). Programs add
    through the API (`POST /api/v1/cart/items`, `Idempotency-Key`)."""
    try:
        listing_id = int(request.POST.get("listing", ""))
    except ValueError:
        raise Http404("No such listing.") from None
    if listing_id < 1:  # no listing has it, and the way back below could not be built
        raise Http404("No such listing.")
    token = _add_token(request)
    if token is None:
        messages.error(request, "Nothing was added: the page was out of date. Press Add to cart again.")
        return redirect("storefront_listing", listing_id=listing_id)
    try:
        current = services.cart_get_or_create(user=request.user, session=request.session, opening_add=token)
        added = services.cart_item_add(
            cart=current, listing_id=listing_id, quantity=posted_quantity(request), token=token
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return back_to_listing(request, listing_id)
    said = f"Added to your cart: {added.item.listing.title} (now {added.item.quantity})."
    if not added.repeated:
        messages.success(request, said)
    elif said not in _waiting_messages(request):  # the first post's page was shown: say why nothing was added
        messages.success(request, f"{said} Pressed twice: added once.")
    return redirect("cart")


def _waiting_messages(request: HttpRequest) -> set[str]:
    """The messages not shown yet (a double click's first answer is never shown: the browser leaves it
    for the second's), kept for the next page."""
    waiting = messages.get_messages(request)
    said = {str(m) for m in waiting}
    if isinstance(waiting, BaseStorage):
        waiting.used = False
    return said


@require_POST
def cart_item_update(request: HttpRequest, item_id: int) -> HttpResponse:
    current = services.cart_find(user=request.user, session=request.session)
    if current is None:
        raise Http404("Your cart is empty.")
    try:
        services.cart_item_set_quantity(cart=current, item_id=item_id, quantity=posted_quantity(request))
    except DomainError as exc:  # said beside the line's box, focused: at the top it left the cursor nowhere
        kept_input.keep(
            request, f"cart_item:{item_id}", ["quantity"], extra={"error": exc.message, "error_box": "quantity"}
        )
    else:
        messages.success(request, "Quantity updated.")
    return redirect("cart")


@require_POST
def cart_item_remove(request: HttpRequest, item_id: int) -> HttpResponse:
    current = services.cart_find(user=request.user, session=request.session)
    if current is None:
        raise Http404("Your cart is empty.")
    try:
        services.cart_item_remove(cart=current, item_id=item_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Removed from your cart.")
    return redirect("cart")


urlpatterns = [
    path("", home, name="home"),
    path("category/<slug:slug>/", category, name="storefront_category"),
    path("search/", search, name="storefront_search"),
    path("shop/<int:seller_id>/", shop, name="storefront_shop"),
    path("listing/<int:listing_id>/", listing, name="storefront_listing"),
    path("cart/", cart, name="cart"),
    path("cart/add/", cart_add, name="cart_add"),
    path("cart/items/<int:item_id>/update/", cart_item_update, name="cart_item_update"),
    path("cart/items/<int:item_id>/remove/", cart_item_remove, name="cart_item_remove"),
]
