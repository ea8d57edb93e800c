"""The catalog API: public listings, the seller's own listings (others' are 404), the session cart."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalog.models import Listing, ListingStatus
from tests.catalog.factories import CategoryFactory, ListingFactory, SellerFactory, jpy_seller, png_bytes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def csrf_client() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get("/")
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


def test_public_listings_show_only_visible_ones_with_money_in_minor_units(client: Client) -> None:
    ListingFactory(title="Blue mug", price=1250)
    ListingFactory(title="Tea bowl", price=3000, seller=jpy_seller())
    ListingFactory(title="Draft", status=ListingStatus.DRAFT)
    body = client.get("/api/v1/listings").json()
    assert body["count"] == 2
    prices = {item["title"]: item["price"] for item in body["items"]}
    assert prices["Blue mug"] == {"amount": 1250, "currency": "usd", "display": "$12.50"}
    assert prices["Tea bowl"] == {"amount": 3000, "currency": "jpy", "display": "¥3,000"}
    assert client.get("/api/v1/listings", {"q": "bowl"}).json()["count"] == 1


def test_public_listing_detail_and_404_for_hidden(client: Client) -> None:
    shown = ListingFactory(title="Blue mug")
    hidden = ListingFactory(status=ListingStatus.UNPUBLISHED)
    assert client.get(f"/api/v1/listings/{shown.pk}").json()["title"] == "Blue mug"
    response = client.get(f"/api/v1/listings/{hidden.pk}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "listing_unavailable"


def test_a_listing_sold_by_subscription_says_so_in_the_list_and_the_detail(client: Client) -> None:
    """An API client must know which listings go in a cart: one sold by subscription is subscribed to
    on its page (the cart refuses it), so the list and the detail name its interval; null when bought once."""
    from subscriptions.models import SubscriptionPlan

    once = ListingFactory(title="Blue mug")
    monthly = ListingFactory(title="Print of the month", seller=jpy_seller())
    SubscriptionPlan.objects.create(listing=monthly, interval="month")
    items = {item["title"]: item["subscription_interval"] for item in client.get("/api/v1/listings").json()["items"]}
    assert items == {"Blue mug": None, "Print of the month": "month"}
    assert client.get(f"/api/v1/listings/{monthly.pk}").json()["subscription_interval"] == "month"
    assert client.get(f"/api/v1/listings/{once.pk}").json()["subscription_interval"] is None
    own = seller_client(monthly.seller).get("/api/v1/seller/listings").json()["items"]
    assert [item["subscription_interval"] for item in own] == ["month"]


def test_a_seller_creates_updates_publishes_and_adds_an_image() -> None:
    seller = SellerFactory()
    CategoryFactory(slug="kitchen")
    client = csrf_client()
    client.force_login(seller.user)
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    payload = {"title": "Blue mug", "price": 1250, "stock": 3, "category": "kitchen"}
    response = client.post("/api/v1/seller/listings", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    listing_id = response.json()["id"]
    assert response.json()["status"] == "draft" and response.json()["price"]["currency"] == "usd"
    response = client.patch(f"/api/v1/seller/listings/{listing_id}", {"price": 1500}, content_type="application/json")
    assert response.json()["price"]["display"] == "$15.00"
    assert client.post(f"/api/v1/seller/listings/{listing_id}/publish").json()["status"] == "published"
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/api/v1/seller/listings/{listing_id}/images", {"image": SimpleUploadedFile("a.png", png_bytes())}
    )
    assert response.status_code == 201 and response.json()["image_urls"][0].endswith(".png")


def test_seller_writes_are_validated_in_the_error_shape() -> None:
    seller = jpy_seller()
    CategoryFactory(slug="tea")
    client = csrf_client()
    client.force_login(seller.user)
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    bad = {"title": "Bowl", "price": 10, "stock": 1, "category": "tea"}
    response = client.post("/api/v1/seller/listings", bad, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "price_below_minimum",
        "message": "The lowest price Stripe can charge in JPY is ¥50.",
    }
    response = client.post("/api/v1/seller/listings", {"title": "Bowl"}, content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"
    assert response.json()["error"]["fields"]


def test_another_sellers_listing_is_a_404_and_non_sellers_get_404() -> None:
    others = ListingFactory()
    client = csrf_client()
    client.force_login(SellerFactory().user)
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    response = client.patch(f"/api/v1/seller/listings/{others.pk}", {"price": 1}, content_type="application/json")
    assert response.status_code == 404
    assert client.post(f"/api/v1/seller/listings/{others.pk}/unpublish").status_code == 404
    assert Listing.objects.get(pk=others.pk).status == ListingStatus.PUBLISHED
    client.force_login(UserFactory())
    assert client.get("/api/v1/seller/listings").status_code == 404
    assert Client().get("/api/v1/seller/listings").status_code == 401


def test_cart_api_groups_by_seller_and_checks_stock() -> None:
    client = csrf_client()
    mug = ListingFactory(title="Blue mug", price=1250, stock=2)
    bowl = ListingFactory(title="Tea bowl", price=3000, seller=jpy_seller())
    post: Any = client.post
    assert (
        post("/api/v1/cart/items", {"listing_id": mug.pk, "quantity": 2}, content_type="application/json").status_code
        == 201
    )
    response = post("/api/v1/cart/items", {"listing_id": mug.pk, "quantity": 1}, content_type="application/json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_enough_stock"
    body = post("/api/v1/cart/items", {"listing_id": bowl.pk, "quantity": 2}, content_type="application/json").json()
    assert [g["seller"]["shop_name"] for g in body["groups"]] == [mug.seller.shop_name, bowl.seller.shop_name]
    assert {t["currency"]: t["display"] for t in body["totals"]} == {"usd": "$25.00", "jpy": "¥6,000"}
    assert [g["payable"] for g in body["groups"]] == [True, True]  # each group goes to its own checkout
    item_id = body["groups"][1]["lines"][0]["id"]
    body = client.patch(f"/api/v1/cart/items/{item_id}", {"quantity": 1}, content_type="application/json").json()
    assert body["groups"][1]["subtotal"]["amount"] == 3000
    body = client.delete(f"/api/v1/cart/items/{item_id}").json()
    assert len(body["groups"]) == 1
    assert client.delete(f"/api/v1/cart/items/{item_id}").status_code == 404


def test_the_cart_note_says_what_checkout_does_one_payment_per_currency() -> None:
    """The note told API clients each seller was paid by its own checkout; `POST /api/v1/checkout`
    without `seller_id` pays every shop of a currency in one payment (one order per shop)."""
    client = csrf_client()
    usd_shops = [ListingFactory(price=1250), ListingFactory(price=800)]
    post: Any = client.post
    for listing in [*usd_shops, ListingFactory(price=3000, seller=jpy_seller())]:
        post("/api/v1/cart/items", {"listing_id": listing.pk, "quantity": 1}, content_type="application/json")
    note = client.get("/api/v1/cart").json()["note"]
    assert "its own checkout" not in note
    assert "one payment per currency" in note.lower() and "one order per shop" in note
    assert "seller_id" in note  # and how to pay one shop alone


def test_cart_writes_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    mug = ListingFactory()
    response = client.post("/api/v1/cart/items", {"listing_id": mug.pk}, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"


def test_public_listings_query_count_does_not_grow(
    client: Client, django_assert_max_num_queries: Any, django_assert_num_queries: Any
) -> None:
    """Count + page the first time after a change, whatever the number of listings; then nothing, from
    the storefront's cache (catalog/cache.py), until the next change."""
    seller = SellerFactory()
    ListingFactory.create_batch(12, seller=seller)
    with django_assert_max_num_queries(3) as few:
        assert client.get("/api/v1/listings").json()["count"] == 12
    with django_assert_num_queries(0):
        assert client.get("/api/v1/listings").json()["count"] == 12
    ListingFactory.create_batch(188, seller=seller)
    with django_assert_max_num_queries(3) as many:
        assert len(client.get("/api/v1/listings").json()["items"]) == 24
    with django_assert_num_queries(0):
        assert client.get("/api/v1/listings").json()["count"] == 200
    assert len(few.captured_queries) == len(many.captured_queries)


def seller_client(seller: Any) -> Client:
    client = csrf_client()
    client.force_login(seller.user)
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


@pytest.mark.parametrize("field", ["title", "description", "price", "stock", "category"])
def test_patch_with_null_is_a_422_that_says_to_leave_the_field_out(field: str) -> None:
    listing = ListingFactory(title="Blue mug", description="Glazed.", price=1250, stock=3)
    client = seller_client(listing.seller)
    response = client.patch(f"/api/v1/seller/listings/{listing.pk}", {field: None}, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["fields"] == [
        {
            "loc": ["body", "payload", field],
            "msg": "Value error, cannot be null: leave the field out to keep its value",
            "type": "value_error",
        }
    ]
    listing.refresh_from_db()
    assert (listing.title, listing.description, listing.price, listing.stock) == ("Blue mug", "Glazed.", 1250, 3)


def test_patch_changes_only_the_fields_sent_and_an_empty_string_clears_the_description() -> None:
    listing = ListingFactory(title="Blue mug", description="Glazed.", price=1250, stock=3)
    client = seller_client(listing.seller)
    url = f"/api/v1/seller/listings/{listing.pk}"
    body = client.patch(url, {"stock": 7}, content_type="application/json").json()
    assert (body["title"], body["description"], body["price"]["amount"], body["stock"]) == (
        "Blue mug",
        "Glazed.",
        1250,
        7,
    )
    assert client.patch(url, {"description": ""}, content_type="application/json").json()["description"] == ""


@pytest.mark.parametrize("seller", [SellerFactory, jpy_seller], ids=["usd", "jpy"])
@pytest.mark.parametrize(("field", "value"), [("stock", True), ("stock", "7"), ("price", "1500"), ("price", 1500.0)])
def test_a_price_or_stock_that_is_not_a_json_integer_is_a_422(seller: Any, field: str, value: Any) -> None:
    """The schema says integer: `true` was read as 1 (the stock set to one unit), and strings and
    floats as the numbers they spell, so a client's mistake changed the listing instead of being told."""
    listing = ListingFactory(seller=seller(), title="Blue mug", price=1250, stock=3)
    client = seller_client(listing.seller)

    response = client.patch(f"/api/v1/seller/listings/{listing.pk}", {field: value}, content_type="application/json")

    assert response.status_code == 422, response.content
    assert [f["loc"] for f in response.json()["error"]["fields"]] == [["body", "payload", field]]
    listing.refresh_from_db()
    assert (listing.price, listing.stock) == (1250, 3)


@pytest.mark.parametrize("seller", [SellerFactory, jpy_seller], ids=["usd", "jpy"])
def test_a_misspelt_field_is_a_422_naming_it_not_a_change_silently_lost(seller: Any) -> None:
    listing = ListingFactory(seller=seller(), title="Blue mug", price=1250, stock=3)
    client = seller_client(listing.seller)

    response = client.patch(f"/api/v1/seller/listings/{listing.pk}", {"prise": 900}, content_type="application/json")

    assert response.status_code == 422
    assert [f["loc"] for f in response.json()["error"]["fields"]] == [["body", "payload", "prise"]]
    listing.refresh_from_db()
    assert listing.price == 1250
    patch = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]["ListingPatch"]
    assert patch["additionalProperties"] is False


def test_the_openapi_document_says_patch_fields_are_optional_and_never_null(client: Client) -> None:
    patch = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["ListingPatch"]
    assert "required" not in patch and "`null` is refused (422)" in patch["description"]
    for name, field in patch["properties"].items():
        assert field["type"] in ("string", "integer") and "anyOf" not in field and "default" not in field, name


def test_one_description_limit_for_the_api_and_its_document(client: Client) -> None:
    from catalog.forms import ListingForm
    from catalog.models import DESCRIPTION_MAX_LENGTH

    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    form = ListingForm(currency="usd")
    limits = {
        schemas["ListingIn"]["properties"]["description"]["maxLength"],
        schemas["ListingPatch"]["properties"]["description"]["maxLength"],
        form.fields["description"].max_length,
    }
    assert limits == {DESCRIPTION_MAX_LENGTH} == {10_000}
    seller = SellerFactory()
    CategoryFactory(slug="kitchen")
    api = seller_client(seller)
    payload = {"title": "Mug", "price": 1250, "stock": 1, "category": "kitchen"}
    too_long = api.post(
        "/api/v1/seller/listings", {**payload, "description": "x" * 10_001}, content_type="application/json"
    )
    assert too_long.status_code == 422 and too_long.json()["error"]["fields"][0]["loc"][-1] == "description"
    created = api.post(
        "/api/v1/seller/listings", {**payload, "description": "x" * 10_000}, content_type="application/json"
    )
    assert created.status_code == 201 and len(created.json()["description"]) == 10_000


@pytest.mark.parametrize("seller", [SellerFactory, jpy_seller], ids=["usd", "jpy"])
def test_a_listing_created_again_with_the_same_idempotency_key_is_the_first_one(seller: Any) -> None:
    """A client retrying `POST /seller/listings` after a timeout made a second listing, which cannot be
    deleted; with an `Idempotency-Key` (as the refunds API takes) the retry returns the first."""
    owner = seller()
    CategoryFactory(slug="kitchen")
    client = seller_client(owner)
    body = {"title": "Blue mug", "price": 1_250, "stock": 3, "category": "kitchen"}
    key = {"HTTP_IDEMPOTENCY_KEY": "create-mug-2026-11-30T02:57:00Z"}
    first = client.post("/api/v1/seller/listings", body, content_type="application/json", **key)
    again = client.post("/api/v1/seller/listings", body, content_type="application/json", **key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Listing.objects.filter(seller=owner).count() == 1
    other = {"HTTP_IDEMPOTENCY_KEY": "create-mug-2"}
    assert client.post("/api/v1/seller/listings", body, content_type="application/json", **other).status_code == 201
    assert Listing.objects.filter(seller=owner).count() == 2
    bad = client.post("/api/v1/seller/listings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="x" * 81)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_idempotency_key")


@pytest.mark.parametrize(
    ("field", "value"), [("quantity", True), ("quantity", "2"), ("quantity", 2.0), ("listing_id", True)]
)
def test_a_cart_quantity_or_listing_that_is_not_a_json_integer_is_a_422(field: str, value: Any) -> None:
    """`true` was read as 1 (one unit put in the cart) and strings and floats as the numbers they spell."""
    client = csrf_client()
    mug = ListingFactory(title="Blue mug", price=1250, stock=5)
    body = {"listing_id": mug.pk, "quantity": 1, field: value}
    response = client.post("/api/v1/cart/items", body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert [f["loc"] for f in response.json()["error"]["fields"]] == [["body", "payload", field]]
    assert client.get("/api/v1/cart").json()["groups"] == []


def test_the_openapi_document_tells_buyers_how_listings_and_checkout_work(client: Client) -> None:
    """The docs page read, under GET /listings, our own profiling note ("A profile showed the page's
    time in its two queries"), and nothing at all under POST /checkout, the call that takes the money."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    listings = paths["/api/v1/listings"]["get"]["description"]
    assert "profile" not in listings and "catalog.cache" not in listings
    assert "24" in listings and "page" in listings
    checkout = paths["/api/v1/checkout"]["post"].get("description", "")
    assert "currency" in checkout and "seller_id" in checkout and "url" in checkout


def test_an_unknown_category_is_a_422_as_its_docs_say(client: Client) -> None:
    """`?category=` with a slug no category has answered an empty page, read as "nothing for sale
    there", while the docs said 422, as a listing's own unknown category and the console's unknown
    filters answer."""
    listing = ListingFactory()
    response = client.get("/api/v1/listings", {"category": "no-such-category"})
    assert response.status_code == 422
    assert response.json()["error"] == {"code": "unknown_category", "message": "No category “no-such-category”."}
    known = client.get("/api/v1/listings", {"category": listing.category.slug}).json()
    assert [item["id"] for item in known["items"]] == [listing.pk]
