"""The API's cross-cutting rules: CSRF on every unsafe method, errors in one shape."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from orders.models import Order
from tests.catalog.factories import SellerFactory
from tests.factories import UserFactory, make_platform_admin

pytestmark = pytest.mark.django_db

# Real operations only: probe routes added to `api` here would be in every other test's API too
# (its OpenAPI document, the schemathesis sweep), since pytest imports every module before running any.
MISSING_LISTING = {"listing_id": 2**31 - 1, "quantity": 1}


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_anonymous_post_without_csrf_token_is_refused(csrf_client: Client) -> None:
    response = csrf_client.post("/api/v1/cart/items", MISSING_LISTING, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_anonymous_post_with_csrf_token_goes_through(csrf_client: Client) -> None:
    csrf_client.get("/")  # sets the csrftoken cookie
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/api/v1/cart/items", MISSING_LISTING, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 404  # past the CSRF check, to the view, which finds no such listing
    assert response.json()["error"]["code"] != "csrf_failed"


def test_signed_in_post_without_csrf_token_is_refused(csrf_client: Client) -> None:
    csrf_client.force_login(UserFactory())
    response = csrf_client.post("/api/v1/cart/items", MISSING_LISTING, content_type="application/json")
    assert response.status_code == 403


def test_domain_errors_map_to_one_shape_with_their_status(client: Client) -> None:
    seller = SellerFactory()
    client.force_login(seller.user)
    response = client.get("/api/v1/orders/999999")
    assert response.status_code == 404
    assert set(response.json()) == {"error"} and set(response.json()["error"]) >= {"code", "message"}
    delivered = Order.objects.create(
        buyer=UserFactory(),
        seller=seller,
        currency="usd",
        amount_total=1000,
        application_fee_amount=100,
        status="completed",
        paid_at=timezone.now(),
    )
    response = client.post(
        f"/api/v1/seller/orders/{delivered.pk}/fulfil", {"tracking_number": "1Z999"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_shippable"


def test_me_requires_a_session_and_answers_in_the_error_shape(client: Client) -> None:
    assert client.get("/api/v1/me").json()["error"]["code"] == "not_authenticated"
    user = UserFactory()
    client.force_login(user)
    assert client.get("/api/v1/me").json() == {"email": user.email, "is_seller": False, "is_platform_admin": False}


def test_openapi_docs_are_served(client: Client) -> None:
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Marketplace API"


def test_the_openapi_document_lists_every_operations_errors_in_the_error_shape(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["error"]
    body = document["components"]["schemas"][error["properties"]["error"]["$ref"].rsplit("/", 1)[-1]]
    assert {"code", "message"} <= set(body["required"])
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 20
    for path, method, operation in operations:
        errors = {status: r for status, r in operation["responses"].items() if status.startswith("4")}
        expected = {"400"}
        expected |= {"401"} if operation.get("security") else set()
        expected |= {"403"} if method in ("post", "put", "patch", "delete") else set()
        expected |= {"422"} if operation.get("parameters") or operation.get("requestBody") else set()
        expected |= {"404"} if "{" in path else set()
        assert expected <= set(errors), (method, path, sorted(errors))
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
    checkout = document["paths"]["/api/v1/checkout"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "422", "502"} <= set(checkout)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/console/revenue", {"GET"}),
        ("get", "/api/v1/console/disputes/1/accept", {"POST"}),
        ("put", "/api/v1/me", {"GET"}),
    ],
)
def test_a_method_an_endpoint_does_not_take_answers_in_the_error_shape(
    client: Client, method: str, path: str, allowed: set[str]
) -> None:
    """ninja answered a bare text/html "Method not allowed", the one API answer a client could not
    read as `{"error": ...}`."""
    client.force_login(UserFactory())
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response["Allow"].replace(" ", "").split(",")) == allowed
    assert ", ".join(sorted(allowed)) in response.json()["error"]["message"]


# Every list of the API, with who may read it: one envelope, one `page` parameter, no silent cap.
LISTS = {
    "/api/v1/listings": "anyone",
    "/api/v1/seller/listings": "seller",
    "/api/v1/orders": "seller",
    "/api/v1/seller/orders": "seller",
    "/api/v1/seller/refund-requests": "seller",
    "/api/v1/seller/disputes": "seller",
    "/api/v1/seller/payouts": "seller",
    "/api/v1/console/disputes": "admin",
}


def _reader(who: str) -> Client:
    client = Client()
    if who == "seller":
        client.force_login(SellerFactory().user)
    elif who == "admin":
        client.force_login(make_platform_admin())
    return client


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_one_envelope_and_one_page_parameter(path: str) -> None:
    """The orders' lists answered a bare list, the listings' and the payouts' `{items, count, page,
    pages}` whose `page` was clamped to the last (asking page 9 of 1 answered page 1 again, so a client
    looping until an empty page never stopped); refund requests and seller disputes had no page at
    all. Now every list: the envelope, `page` from 1 (anything else a 422), an empty page past the end."""
    client = _reader(LISTS[path])
    first = client.get(path)
    assert first.status_code == 200, first.content
    assert first.json() == {"items": [], "count": 0, "page": 1, "pages": 1}
    assert client.get(path, {"page": 9}).json() == {"items": [], "count": 0, "page": 9, "pages": 1}
    for bad in ("0", "-1", "abc", "99999999999999999999"):
        response = client.get(path, {"page": bad})
        assert response.status_code == 422, (path, bad)
        assert response.json()["error"]["code"] == "invalid_input"
        assert response.json()["error"]["fields"][0]["loc"] == ["query", "page"]


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_every_list_answers_one_page_size_but_the_storefronts(currency: str, country: str) -> None:
    """The lists answered 24, 25, 100 or 200 a page, for no reason but where each was written: a
    client paging through them all had to learn each. Every list answers `PER_PAGE` a page but the
    storefront's listings, `STOREFRONT_PER_PAGE`, the grid of the storefront's pages (see catalog.api)."""
    from datetime import timedelta

    from catalog.models import Listing, ListingStatus
    from catalog.selectors import STOREFRONT_PER_PAGE
    from marketplace.schemas import PER_PAGE
    from orders.models import RefundRequest
    from payments.models import Dispute
    from payouts.models import Payout
    from tests.catalog.factories import CategoryFactory

    n, now = PER_PAGE + 1, timezone.now()
    seller = SellerFactory(country=country, default_currency=currency)
    category = CategoryFactory()
    Listing.objects.bulk_create(
        Listing(seller=seller, category=category, title=f"Mug {i}", price=1_000, currency=currency, stock=1,
                status=ListingStatus.PUBLISHED, published_at=now)
        for i in range(n)
    )  # fmt: skip
    orders = Order.objects.bulk_create(
        Order(buyer=seller.user, seller=seller, currency=currency, amount_total=1_000, application_fee_amount=100,
              status="paid", paid_at=now)
        for _ in range(n)
    )  # fmt: skip
    RefundRequest.objects.bulk_create(RefundRequest(order=o, reason="damaged", amount=1_000) for o in orders)
    Dispute.objects.bulk_create(
        Dispute(stripe_id=f"dp_{i}", stripe_charge_id=f"ch_{i}", seller=seller, order=o, amount=1_000,
                currency=currency, reason="fraudulent", status="needs_response", due_by=now + timedelta(days=7),
                stripe_created_at=now)
        for i, o in enumerate(orders)
    )  # fmt: skip
    Payout.objects.bulk_create(
        Payout(stripe_id=f"po_{i}", account=seller.stripe_account_id, amount=1_000, currency=currency, status="paid",
               arrival_date=now, created_at=now)
        for i in range(n)
    )  # fmt: skip
    clients = {"anyone": Client(), "seller": Client(), "admin": Client()}
    clients["seller"].force_login(seller.user)
    clients["admin"].force_login(make_platform_admin())
    for path, who in LISTS.items():
        size = STOREFRONT_PER_PAGE if path == "/api/v1/listings" else PER_PAGE
        first = clients[who].get(path).json()
        assert (len(first["items"]), first["count"], first["pages"]) == (size, n, -(-n // size)), path


def test_the_openapi_document_says_every_list_is_the_envelope_with_a_page_from_1(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for path in LISTS:
        operation = document["paths"][path]["get"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        envelope = schemas[ok["$ref"].rsplit("/", 1)[-1]]
        assert set(envelope["properties"]) == {"items", "count", "page", "pages"}, path
        assert envelope["properties"]["items"]["type"] == "array", path
        [page] = [p for p in operation["parameters"] if p["name"] == "page"]
        assert (page["in"], page["schema"]["minimum"]) == ("query", 1), path
    for path, methods in document["paths"].items():  # no other list hides as a bare array
        if "get" in methods and "200" in methods["get"]["responses"]:
            schema = methods["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            assert schema.get("type") != "array", path


def test_another_users_object_is_one_404_naming_what_is_not_found() -> None:
    """The same situation, an object that does not exist or is someone else's, answered
    `order_not_found` or `refund_request_not_found` from one router and a bare `not_found` from the
    others (a dispute, a payout, a listing, a cart item), and a listing not for sale was `not_found`
    read and `listing_unavailable` added to the cart. A 404's code now names what was not found."""
    from datetime import timedelta

    from catalog.models import ListingStatus
    from payments.models import Dispute
    from payouts.models import Payout
    from tests.catalog.factories import ListingFactory

    owner = SellerFactory()
    now = timezone.now()
    dispute = Dispute.objects.create(
        stripe_id="dp_theirs", stripe_charge_id="ch_theirs", seller=owner, amount=1_000, currency="usd",
        reason="fraudulent", status="needs_response", due_by=now + timedelta(days=7), stripe_created_at=now,
    )  # fmt: skip
    payout = Payout.objects.create(
        stripe_id="po_theirs", account=owner.stripe_account_id, amount=1_000, currency="usd", status="paid",
        arrival_date=now, created_at=now,
    )  # fmt: skip
    listing = ListingFactory(seller=owner)
    hidden = ListingFactory(seller=owner, status=ListingStatus.UNPUBLISHED)
    client = Client()
    client.force_login(SellerFactory().user)
    json_body = {"content_type": "application/json"}
    asked = {
        "dispute_not_found": client.put(
            f"/api/v1/seller/disputes/{dispute.pk}/statement", {"statement": "Mine?"}, **json_body
        ),
        "payout_not_found": client.get(f"/api/v1/seller/payouts/{payout.pk}"),
        "listing_not_found": client.patch(f"/api/v1/seller/listings/{listing.pk}", {"stock": 1}, **json_body),
        "cart_item_not_found": client.patch("/api/v1/cart/items/999999", {"quantity": 1}, **json_body),
        "order_not_found": client.get("/api/v1/orders/999999"),
        "refund_request_not_found": client.post(
            "/api/v1/seller/refund-requests/999999/decline", {"reason": "x"}, **json_body
        ),
    }
    for code, response in asked.items():
        assert response.status_code == 404, (code, response.content)
        assert response.json()["error"]["code"] == code, (code, response.content)
    read = client.get(f"/api/v1/listings/{hidden.pk}")
    added = client.post("/api/v1/cart/items", {"listing_id": hidden.pk, "quantity": 1}, **json_body)
    assert read.status_code == added.status_code == 404
    assert (
        read.json()
        == added.json()
        == {"error": {"code": "listing_unavailable", "message": "This listing is not for sale."}}
    )
