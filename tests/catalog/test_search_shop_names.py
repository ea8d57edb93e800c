"""Search finds a shop's items by the shop's name. A buyer typing "Brooklyn Ceramics" found nothing
from Brooklyn Ceramics: only titles and descriptions were searched, while every card says "by <shop>".
Every word must still appear somewhere (title, description or the shop's name), and only what buyers
can buy is found: a paused, restricted or disconnected shop's items stay hidden by its name too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import ListingStatus
from tests.catalog.factories import ListingFactory, SellerFactory, jpy_seller
from tests.catalog.test_storefront import _title

pytestmark = pytest.mark.django_db


def _titles(client: Client, query: str) -> set[str]:
    """The titles the search page's cards show for `query`, checked against the public API's answer."""
    page = client.get(reverse("storefront_search"), {"q": query}).content.decode()
    cards = [_title(card) for card in _cards(page)]
    api = client.get("/api/v1/listings", {"q": query}).json()["items"]
    assert sorted(item["title"] for item in api) == sorted(cards), query
    return set(cards)


def _cards(page: str) -> list[str]:
    return page.split('data-testid="listing-card"')[1:]


def test_a_shops_name_finds_its_items_and_every_word_must_still_appear(client: Client) -> None:
    brooklyn = SellerFactory(shop_name="Brooklyn Ceramics")
    ListingFactory(seller=brooklyn, title="Blue mug", description="Stoneware")
    ListingFactory(seller=brooklyn, title="Tea bowl", description="Porcelain")
    ListingFactory(seller=brooklyn, title="Draft jug", status=ListingStatus.DRAFT)
    ListingFactory(seller=brooklyn, title="Old vase", status=ListingStatus.UNPUBLISHED)
    hokusai = jpy_seller(shop_name="Hokusai Prints")
    ListingFactory(seller=hokusai, title="Wave print", description="Woodblock, ceramics-free", price=3000)
    ListingFactory(title="Ceramics for beginners", description="A book")

    assert _titles(client, "Brooklyn Ceramics") == {"Blue mug", "Tea bowl"}
    assert _titles(client, "brooklyn") == {"Blue mug", "Tea bowl"}
    assert _titles(client, "BROOKLYN mug") == {"Blue mug"}  # the shop's name and the title together
    assert _titles(client, "ceramics") == {"Blue mug", "Tea bowl", "Wave print", "Ceramics for beginners"}
    assert _titles(client, "hokusai") == {"Wave print"}
    assert _titles(client, "Brooklyn print") == set()  # "print" is only in another shop's name and title

    page = client.get(reverse("storefront_search"), {"q": "Brooklyn Ceramics"}).content.decode()
    assert "2 listings found" in page
    # Why each card matched: the shop's name is on it, linking to the shop.
    for card in _cards(page):
        assert f'href="{reverse("storefront_shop", args=[brooklyn.pk])}">Brooklyn Ceramics</a>' in card


@pytest.mark.parametrize(
    "closed",
    [
        {"paused_at": timezone.now, "status": "paused"},
        {"charges_enabled": False, "status": "restricted"},
        {"disconnected_at": timezone.now, "status": "disconnected"},
    ],
    ids=["paused", "restricted", "disconnected"],
)
def test_a_shop_that_cannot_take_orders_is_not_found_by_its_name(client: Client, closed: dict[str, Any]) -> None:
    fields = {name: value() if callable(value) else value for name, value in closed.items()}
    ListingFactory(seller=SellerFactory(shop_name="Kiln and Co", **fields), title="Blue mug")
    ListingFactory(seller=SellerFactory(shop_name="Kiln Works"), title="Tea bowl")

    assert _titles(client, "kiln") == {"Tea bowl"}
    page = client.get(reverse("storefront_search"), {"q": "Kiln and Co"}).content.decode()
    assert "No listing matches" in page and "Blue mug" not in page


def test_a_renamed_shop_is_found_by_its_new_name_at_once(client: Client) -> None:
    """Search pages are cached; renaming the shop replaces them (`catalog.cache`), as other changes do."""
    seller = SellerFactory(shop_name="Kiln and Co")
    ListingFactory(seller=seller, title="Blue mug")
    assert _titles(client, "kiln") == {"Blue mug"}

    seller.shop_name = "Riverside Pottery"
    seller.save()

    assert _titles(client, "kiln") == set()
    assert _titles(client, "riverside") == {"Blue mug"}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("%", {"100% wool scarf", "Bowl"}),  # "Bowl" by "50% Pottery"
        ("_", {"Mug_2"}),
        ("50%", {"Bowl"}),
        ("\\", {"Back\\slash print"}),
        ("%%%", set()),
        ("m_g", set()),
    ],
)
def test_like_wildcards_are_searched_for_as_themselves(client: Client, query: str, found: set[str]) -> None:
    ListingFactory(title="100% wool scarf")
    ListingFactory(title="Mug_2")
    ListingFactory(title="Blue mug")
    ListingFactory(title="Back\\slash print")
    ListingFactory(seller=SellerFactory(shop_name="50% Pottery"), title="Bowl")

    assert _titles(client, query) == found


def test_very_long_input_is_cut_not_refused(client: Client) -> None:
    ListingFactory(seller=SellerFactory(shop_name="Brooklyn Ceramics"), title="Blue mug")

    many_words = "brooklyn " * 5_000  # only the first words of the first 100 characters count
    assert _titles(client, many_words) == {"Blue mug"}
    one_word = "b" * 20_000
    response = client.get(reverse("storefront_search"), {"q": one_word})
    assert response.status_code == 200 and "No listing matches" in response.content.decode()
    assert one_word[:101] not in response.content.decode()  # the heading shows what was searched: 100 letters
