"""The storefront: what buyers see, where, and at a fixed cost in queries per page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import ListingStatus
from catalog.services import listing_image_add
from orders.selectors import open_refund_requests_cache_key
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, jpy_seller, png_upload

pytestmark = pytest.mark.django_db


def test_home_shows_published_listings_of_sellers_who_can_sell_with_prices_in_their_currency(client: Client) -> None:
    ListingFactory(title="Blue mug", price=1250)
    ListingFactory(title="Tea bowl", price=3000, seller=jpy_seller())
    ListingFactory(title="Secret draft", status=ListingStatus.DRAFT)
    ListingFactory(title="Blocked seller's vase", seller=SellerFactory(charges_enabled=False))
    page = client.get(reverse("home")).content.decode()
    assert "Blue mug" in page and "$12.50" in page
    assert "Tea bowl" in page and "¥3,000" in page
    assert "Secret draft" not in page
    assert "Blocked seller" not in page


def test_category_page_lists_only_its_category(client: Client) -> None:
    kitchen, books = CategoryFactory(name="Kitchen", slug="kitchen"), CategoryFactory(name="Books", slug="books")
    ListingFactory(title="Blue mug", category=kitchen)
    ListingFactory(title="Poems", category=books)
    page = client.get(reverse("storefront_category", args=["kitchen"])).content.decode()
    assert "Blue mug" in page and "Poems" not in page
    assert client.get(reverse("storefront_category", args=["nope"])).status_code == 404


def test_search_matches_every_word_in_title_or_description(client: Client) -> None:
    ListingFactory(title="Blue mug", description="Stoneware")
    ListingFactory(title="Red mug", description="Porcelain")
    ListingFactory(title="Blue scarf", description="Wool", status=ListingStatus.UNPUBLISHED)
    page = client.get(reverse("storefront_search"), {"q": "blue stoneware"}).content.decode()
    assert "Blue mug" in page and "Red mug" not in page
    assert "1 listing found" in page
    page = client.get(reverse("storefront_search"), {"q": "scarf"}).content.decode()
    assert "No listing matches" in page


def test_shop_page_shows_a_sellers_listings_and_hides_a_shop_that_cannot_sell(client: Client) -> None:
    seller = SellerFactory(shop_name="Kiln & Co")
    ListingFactory(seller=seller, title="Blue mug")
    ListingFactory(title="Someone else's mug")
    page = client.get(reverse("storefront_shop", args=[seller.pk])).content.decode()
    assert "Kiln &amp; Co" in page and "Blue mug" in page and "Someone else" not in page
    closed = SellerFactory(charges_enabled=False)
    assert client.get(reverse("storefront_shop", args=[closed.pk])).status_code == 404


def test_a_paused_shops_old_links_say_it_is_not_available_in_the_sites_layout(client: Client) -> None:
    seller = SellerFactory(shop_name="Kiln & Co", paused_at=timezone.now(), pause_reason="Chargebacks", status="paused")
    mug = ListingFactory(seller=seller, title="Blue mug")

    response = client.get(reverse("storefront_shop", args=[seller.pk]))
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Kiln &amp; Co isn&#x27;t open right now</h1>" in page
    assert 'class="site-header"' in page and f'href="{reverse("home")}">Back to the storefront</a>' in page
    assert "Chargebacks" not in page and "Blue mug" not in page  # why, and what it sells, stay private

    response = client.get(reverse("storefront_listing", args=[mug.pk]))
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Blue mug isn&#x27;t available right now</h1>" in page and "Back to the storefront" in page
    assert "More from" not in page  # the shop is closed too: no link into it

    seller.paused_at = None
    seller.save(update_fields=["paused_at"])
    assert client.get(reverse("storefront_shop", args=[seller.pk])).status_code == 200


def test_an_unpublished_listing_of_an_open_shop_links_to_the_shop(client: Client) -> None:
    seller = SellerFactory(shop_name="Kiln & Co")
    vase = ListingFactory(seller=seller, title="Tall vase", status=ListingStatus.UNPUBLISHED)

    page = client.get(reverse("storefront_listing", args=[vase.pk])).content.decode()

    assert "Tall vase isn&#x27;t available right now" in page
    assert f'href="{reverse("storefront_shop", args=[seller.pk])}">More from Kiln &amp; Co</a>' in page


def test_drafts_and_unknown_ids_stay_plain_404s(client: Client) -> None:
    draft = ListingFactory(title="Secret draft", status=ListingStatus.DRAFT)
    for url in (
        reverse("storefront_listing", args=[draft.pk]),
        reverse("storefront_listing", args=[draft.pk + 1000]),
        reverse("storefront_shop", args=[draft.seller_id + 1000]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert "Secret draft" not in response.content.decode() and "right now" not in response.content.decode()


def test_listing_page_and_hidden_listings_are_404(client: Client) -> None:
    listing = ListingFactory(title="Blue mug", price=1250, stock=3)
    listing_image_add(listing=listing, upload=png_upload(), alt_text="A blue mug on a table")
    page = client.get(reverse("storefront_listing", args=[listing.pk])).content.decode()
    assert "Blue mug" in page and "$12.50" in page and 'alt="A blue mug on a table"' in page and "3 in stock" in page
    draft = ListingFactory(status=ListingStatus.DRAFT)
    assert client.get(reverse("storefront_listing", args=[draft.pk])).status_code == 404


def test_pages_are_paginated(client: Client) -> None:
    category = CategoryFactory()
    seller = SellerFactory()
    ListingFactory.create_batch(30, seller=seller, category=category)
    first = client.get(reverse("home")).content.decode()
    assert first.count('data-testid="listing-card"') == 24 and "Page 1 of 2" in first
    second = client.get(reverse("home"), {"page": 2}).content.decode()
    assert second.count('data-testid="listing-card"') == 6


def _populate(n: int, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    if ctx is None:
        ctx = {"category": CategoryFactory(slug="kitchen"), "sellers": [SellerFactory(), jpy_seller()]}
    for i in range(n):
        listing = ListingFactory(seller=ctx["sellers"][i % 2], category=ctx["category"], title=f"Mug {i}")
        if i % 3 == 0:
            listing_image_add(listing=listing, upload=png_upload())
    ctx.setdefault("listing", listing)
    ctx["seller"] = ctx["sellers"][0]
    return ctx


PAGES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("home", lambda ctx: reverse("home")),
    ("category", lambda ctx: reverse("storefront_category", args=["kitchen"])),
    ("search", lambda ctx: reverse("storefront_search") + "?q=mug"),
    # A shop's name: its items are found through their seller, joined in the same query.
    ("search-shop", lambda ctx: reverse("storefront_search") + "?q=" + ctx["seller"].shop_name),
    ("shop", lambda ctx: reverse("storefront_shop", args=[ctx["seller"].pk])),
    ("listing", lambda ctx: reverse("storefront_listing", args=[ctx["listing"].pk])),
]
# Signed in: the session, with the user, the seller id the header needs and the buyer's Stripe customer
# (whether "Buy now" can offer a saved card: the person's, never cached) joined, in one statement; then,
# the first time after a change, categories + count + page (+ the category on its page, the images on a
# listing page, the shop on its page); from the storefront's cache after that, nothing but the shop on
# its page. A seller's header counts the open refund requests once, then reads it from the cache until
# one changes: each first request below starts without it, so both measure the same work.
MAX_QUERIES = 6
CACHED_QUERIES = {"shop": 2}  # others: 1


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_query_count_per_page_is_the_same_with_12_and_200_listings(
    client: Client, django_assert_max_num_queries: Any, django_assert_num_queries: Any, name: str, url: Any
) -> None:
    ctx = _populate(12)
    client.force_login(ctx["seller"].user)  # a signed-in seller: the heaviest header
    cache.delete(open_refund_requests_cache_key(ctx["seller"].pk))
    with django_assert_max_num_queries(MAX_QUERIES) as with_12:
        response = client.get(url(ctx))
    assert response.status_code == 200 and "Mug" in response.content.decode()
    with django_assert_num_queries(CACHED_QUERIES.get(name, 1)):
        assert "Mug" in client.get(url(ctx)).content.decode()
    _populate(188, ctx)
    cache.delete(open_refund_requests_cache_key(ctx["seller"].pk))
    with django_assert_max_num_queries(MAX_QUERIES) as with_200:
        response = client.get(url(ctx))
    assert response.status_code == 200 and "Mug" in response.content.decode()
    with django_assert_num_queries(CACHED_QUERIES.get(name, 1)):
        assert "Mug" in client.get(url(ctx)).content.decode()
    assert len(with_12.captured_queries) == len(with_200.captured_queries)


@pytest.mark.parametrize(("currency", "price", "shown"), [("usd", 7_900, "$79.00"), ("jpy", 7_900, "¥7,900")])
def test_a_card_says_monthly_and_sold_out_as_the_listings_page_does(
    client: Client, currency: str, price: int, shown: str
) -> None:
    """The cards showed a subscription's price as a one-off price, and a sold-out item as any other:
    the buyer learnt "monthly" or "Out of stock" only on its page."""
    from subscriptions.models import SubscriptionPlan

    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    bag = ListingFactory(seller=seller, title="Bike bag", price=price, currency=currency)
    SubscriptionPlan.objects.create(listing=bag, interval="month")
    ListingFactory(seller=seller, title="Gone vase", price=price, currency=currency, stock=0)
    ListingFactory(seller=seller, title="Blue mug", price=price, currency=currency, stock=3)
    page = client.get(reverse("home")).content.decode()
    cards = {title: card for card in page.split('data-testid="listing-card"')[1:] for title in [_title(card)]}
    assert f"{shown} monthly" in cards["Bike bag"]
    assert "Sold out" in cards["Gone vase"] and "Sold out" not in cards["Blue mug"]
    assert "monthly" not in cards["Blue mug"]


def _title(card: str) -> str:
    return card.split('<h3><a href="', 1)[1].split(">", 1)[1].split("<", 1)[0]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_back_from_a_subscriptions_checkout_by_cancel_the_listing_says_nothing_was_charged_once(
    client: Client, currency: str
) -> None:
    """Stripe's Cancel link of a subscription's Checkout is the listing with `left=checkout`: the
    buyer came back without a word; now the sentence an order's Checkout says, once, then the
    listing's own address (a reload says nothing)."""
    seller = jpy_seller() if currency == "jpy" else SellerFactory()
    listing = ListingFactory(seller=seller, currency=currency, status=ListingStatus.PUBLISHED)
    url = reverse("storefront_listing", args=[listing.pk])
    said = "You left Stripe&#x27;s page: nothing was charged."
    response = client.get(url, {"left": "checkout"})
    assert (response.status_code, response["Location"]) == (302, url)
    assert said in client.get(url).content.decode()
    assert said not in client.get(url).content.decode()
    assert said not in client.get(url, {"left": "elsewhere"}).content.decode()
