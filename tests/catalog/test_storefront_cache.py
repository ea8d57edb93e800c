"""The storefront's cache (catalog/cache.py): every change a buyer could see shows on the very next request,
on every page that shows it (home, category, search, listing, the public API), with no wait for expiry.

Each test first requests the pages so that they are cached, checks that they are (a second request
reads no listing), makes one change the way the app makes it, and requests the pages again.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import cache as storefront_cache
from catalog.models import Category, Listing, ListingImage
from catalog.services import listing_image_add, listing_image_remove, listing_unpublish, listing_update
from marketplace import cache as marketplace_cache
from sellers.services import seller_pause
from subscriptions.services import plan_set
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, png_upload
from tests.factories import make_platform_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def mug() -> Listing:
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    listing: Listing = ListingFactory(
        title="Blue mug", description="Stoneware", price=1250, stock=3, category=kitchen, seller=SellerFactory()
    )
    ListingFactory(title="Tea bowl", price=3000, category=kitchen)  # a neighbour that stays
    return listing


def pages(listing: Listing) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "category": reverse("storefront_category", args=[listing.category.slug]),
        "search": reverse("storefront_search") + "?q=mug",
        "listing": reverse("storefront_listing", args=[listing.pk]),
        "api": "/api/v1/listings",
        "api category": "/api/v1/listings?category=" + listing.category.slug,
    }


def read_all(client: Client, listing: Listing) -> dict[str, str]:
    return {name: client.get(url).content.decode() for name, url in pages(listing).items()}


def assert_cached(client: Client, listing: Listing) -> None:
    """The pages come from the cache now: requesting them again reads no listing."""
    read_all(client, listing)
    with CaptureQueriesContext(connection) as queries:
        read_all(client, listing)
    assert not [q["sql"] for q in queries.captured_queries if "catalog_listing" in q["sql"]]


def test_a_listing_edit_shows_at_once_on_every_page(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    listing_update(listing=mug, data={"title": "Green mug", "description": "Porcelain"})
    after = read_all(client, mug)
    for name, content in after.items():
        assert "Green mug" in content and "Blue mug" not in content, name
    assert "Porcelain" in after["listing"]


def test_a_price_change_shows_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    listing_update(listing=mug, data={"price": 990})
    after = read_all(client, mug)
    for name in ("home", "category", "search", "listing", "api"):
        assert "$9.90" in after[name] and "$12.50" not in after[name], name


def test_a_stock_change_by_the_seller_shows_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    listing_update(listing=mug, data={"stock": 0})
    after = read_all(client, mug)
    assert "Out of stock." in after["listing"] and "3 in stock" not in after["listing"]
    assert '"stock": 0' in after["api"] or '"stock":0' in after["api"]


def test_a_paused_seller_disappears_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    seller_pause(seller=mug.seller, actor=make_platform_admin(), reason="Too many disputes")
    after = read_all(client, mug)
    for name in ("home", "category", "api", "api category"):
        assert "Blue mug" not in after[name] and "Tea bowl" in after[name], name
    assert "Blue mug" not in after["search"] and "No listing matches" in after["search"]
    assert client.get(pages(mug)["listing"]).status_code == 404


def test_an_unpublished_listing_disappears_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    listing_unpublish(listing=mug)
    after = read_all(client, mug)
    for name in ("home", "category", "search", "api"):
        assert "Blue mug" not in after[name], name
    assert client.get(pages(mug)["listing"]).status_code == 404


def test_an_added_or_removed_image_shows_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    image = listing_image_add(listing=mug, upload=png_upload(), alt_text="A blue mug on a table")
    url = image.image.url
    after = read_all(client, mug)
    for name in ("home", "category", "search", "listing", "api"):
        assert url in after[name], name
    assert 'alt="A blue mug on a table"' in after["listing"]
    listing_image_remove(image=ListingImage.objects.get(pk=image.pk))
    after = read_all(client, mug)
    for name in ("home", "category", "search", "listing", "api"):
        assert url not in after[name], name


def test_a_renamed_category_shows_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    kitchen = Category.objects.get(pk=mug.category_id)
    kitchen.name = "Cookware"
    kitchen.save()  # as the Django admin does
    after = read_all(client, mug)
    for name in ("home", "category", "search", "listing"):
        assert "Cookware" in after[name], name


def test_a_renamed_shop_shows_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    seller = mug.seller
    seller.shop_name = "Kiln and Wheel"
    seller.save()  # as the Django admin does
    after = read_all(client, mug)
    for name in ("home", "category", "search", "listing"):
        assert "Kiln and Wheel" in after[name], name


def test_selling_by_subscription_or_once_again_shows_at_once_on_the_listing_page(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    plan_set(seller=mug.seller, listing_id=mug.pk, interval="month")
    page = client.get(pages(mug)["listing"]).content.decode()
    assert "$12.50 monthly" in page and "Charged $12.50 every month" in page and "Add to cart" not in page
    plan_set(seller=mug.seller, listing_id=mug.pk, interval="")
    page = client.get(pages(mug)["listing"]).content.decode()
    assert "Add to cart" in page and "3 in stock" in page and 'data-testid="subscribe"' not in page


def test_a_new_listing_shows_at_once(client: Client, mug: Listing) -> None:
    assert_cached(client, mug)
    ListingFactory(title="Red mug", category=mug.category)
    after = read_all(client, mug)
    for name in ("home", "category", "search", "api", "api category"):
        assert "Red mug" in after[name], name


def test_nothing_of_a_person_is_cached(client: Client, mug: Listing) -> None:
    """Signed in, the page has the buyer's email and CSRF token; signed out, the next visitor sees neither."""
    buyer = SellerFactory().user
    client.force_login(buyer)
    for name, url in pages(mug).items():
        assert client.get(url).status_code == 200, name
    signed_in_home = client.get(reverse("home")).content.decode()
    assert buyer.email in signed_in_home
    stranger = Client()
    for name, url in pages(mug).items():
        content = stranger.get(url).content.decode()
        assert buyer.email not in content, name
        assert name.startswith("api") or "Log in" in content, name


def test_while_redis_does_not_answer_the_pages_are_read_from_the_database(
    client: Client, mug: Listing, monkeypatch: Any
) -> None:
    """While the cache is each process's own memory (Redis down), a change made in one process could not
    reach the others' caches: the storefront does not use the cache at all then."""
    assert_cached(client, mug)
    monkeypatch.setattr(marketplace_cache, "_down_until", {key: float("inf") for key in _server_keys()})
    with CaptureQueriesContext(connection) as queries:
        assert "Blue mug" in client.get(reverse("home")).content.decode()
    assert [q["sql"] for q in queries.captured_queries if "catalog_listing" in q["sql"]]
    Listing.objects.filter(pk=mug.pk).update(title="Changed in another process")  # no signal, no new version
    assert "Changed in another process" in client.get(reverse("home")).content.decode()


def _server_keys() -> list[str]:
    from django.core.cache import cache

    return [str(getattr(cache, "_server_key", ""))]


def test_an_entry_of_an_older_version_is_never_used(mug: Listing) -> None:
    """The version is read before the rows; what was read under an older version is not served."""
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert storefront_cache.storefront_cached("test-key", compute) == 1
    assert storefront_cache.storefront_cached("test-key", compute) == 1  # cached
    storefront_cache.storefront_changed()
    assert storefront_cache.storefront_cached("test-key", compute) == 2
