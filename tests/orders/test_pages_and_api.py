"""Order pages and the orders API: checkout redirect, success page, receipts, seller view, scoping."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from orders import services
from orders.models import Order, OrderStatus
from tests.factories import UserFactory
from tests.orders.conftest import URLS, active_seller, cart_with, listing_of, pay, signed_in

pytestmark = pytest.mark.django_db


def paid_order(sandbox: Any, *, currency: str = "usd", price: int = 10_000) -> Order:
    seller = active_seller(sandbox, currency=currency)
    listing = listing_of(seller, price=price, title="Celadon bowl")
    buyer = UserFactory()
    order = services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=currency, **URLS
    ).order
    pay(sandbox, str(order.checkout_session_id))
    return services.order_sync_from_stripe(order=order)


def test_pay_button_posts_to_checkout_and_redirects_303_to_the_hosted_page(sandbox: Any) -> None:
    seller = active_seller(sandbox, shop="Kiln & Co")
    listing = listing_of(seller, price=1_250)
    buyer = UserFactory()
    cart_with(buyer, (listing, 2))
    client = signed_in(buyer)
    page = client.get("/checkout/").content.decode()
    assert "Pay $25.00 to Kiln &amp; Co" in page
    response = client.post("/checkout/", {"seller_id": seller.pk, "currency": "usd"})
    assert response.status_code == 303
    assert response["Location"].startswith(f"{sandbox.url}/hosted/checkout/cs_test_")
    order = Order.objects.get(buyer=buyer)
    assert order.checkout_url == response["Location"]


def test_success_page_rereads_stripe_and_shows_paid_with_receipt(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=10_000, title="Celadon bowl")
    buyer = UserFactory()
    cart_with(buyer, (listing, 1))
    client = signed_in(buyer)
    location = client.post("/checkout/", {"seller_id": seller.pk, "currency": "usd"})["Location"]
    session_id = location.rsplit("/", 1)[-1]
    result = pay(sandbox, session_id)
    assert result["redirect_url"].endswith(f"/checkout/success/?session_id={session_id}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/checkout/success/?session_id={session_id}", follow=True)
    page = response.content.decode()
    assert 'data-testid="order-status">Paid<' in page
    assert "Thank you! Your payment went through." in page
    assert "$100.00" in page and "Celadon bowl" in page
    assert len(mail.outbox) == 2
    # The same page again (a refresh): still paid, no more emails.
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/checkout/success/?session_id={session_id}")
    assert len(mail.outbox) == 2


def test_cancel_return_keeps_the_cart_and_says_payment_not_completed(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=1_000)
    buyer = UserFactory()
    cart = cart_with(buyer, (listing, 1))
    client = signed_in(buyer)
    client.post("/checkout/", {"seller_id": seller.pk, "currency": "usd"})
    order = Order.objects.get(buyer=buyer)
    page = client.get(f"/checkout/canceled/?order={order.pk}", follow=True).content.decode()
    assert "Payment not completed" in page and "Your cart is still there" in page
    # Said once, with until when the items are held: the flash over it says only what happened.
    assert page.count("Your cart is still there") == 1 and "You left Stripe&#x27;s page: nothing was charged." in page
    assert "whenever you like" not in page
    cart_page = client.get("/cart/").content.decode()
    assert cart_page.count("Stripe's secure page") == 1, "one shop's cart says it once, by its button"
    assert 'data-testid="resume-payment"' in page
    assert cart.items.count() == 1


def test_checkout_refuses_a_seller_who_cannot_sell_with_a_message_on_the_cart(sandbox: Any) -> None:
    seller = active_seller(sandbox, shop="Closed Shop")
    listing = listing_of(seller, price=1_000)
    buyer = UserFactory()
    cart_with(buyer, (listing, 1))
    seller.charges_enabled = False
    seller.save(update_fields=["charges_enabled"])
    response = signed_in(buyer).post("/checkout/", {"seller_id": seller.pk, "currency": "usd"}, follow=True)
    assert "Closed Shop can&#x27;t take orders right now" in response.content.decode()
    assert not Order.objects.exists()


def test_jpy_receipt_has_no_decimals_and_seller_sees_net_after_fee(sandbox: Any) -> None:
    order = paid_order(sandbox, currency="jpy", price=10_000)
    buyer_page = signed_in(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="order-total">¥10,000<' in buyer_page
    seller_page = signed_in(order.seller.user).get("/sell/orders/").content.decode()
    assert 'data-testid="seller-net">¥9,000<' in seller_page and "¥1,000" in seller_page


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_the_order_page_says_both_its_times_in_utc(sandbox: Any, currency: str) -> None:
    """ "placed 1 December 2026, 00:52." and, below, "Paid 1 December 2026, 00:52 UTC": the first time
    read as the buyer's own clock. Both say UTC, as the times on the page elsewhere do."""
    from datetime import UTC, datetime

    order = paid_order(sandbox, currency=currency, price=10_000)
    Order.objects.filter(pk=order.pk).update(
        created_at=datetime(2026, 12, 1, 0, 52, tzinfo=UTC), paid_at=datetime(2026, 12, 1, 0, 53, tzinfo=UTC)
    )
    page = signed_in(order.buyer).get(f"/orders/{order.pk}/").content.decode()
    assert "placed 1 December 2026, 00:52 UTC." in page
    assert "Paid 1 December 2026, 00:53 UTC" in page


def test_seller_marks_shipped_with_tracking_then_buyer_completes(
    sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_order(sandbox)
    seller_client = signed_in(order.seller.user)
    page = seller_client.get(f"/sell/orders/{order.pk}/").content.decode()
    assert 'data-testid="seller-net"><strong>$89.70</strong>' in page
    missing = seller_client.post(f"/sell/orders/{order.pk}/fulfil/", {"tracking_number": " "}, follow=True)
    assert "Enter the tracking number" in missing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        seller_client.post(f"/sell/orders/{order.pk}/fulfil/", {"tracking_number": "1Z999AA10123456784"})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
    assert "1Z999AA10123456784" in mail.outbox[-1].body and mail.outbox[-1].to == [order.buyer.email]
    buyer_client = signed_in(order.buyer)
    assert "1Z999AA10123456784" in buyer_client.get(f"/orders/{order.pk}/").content.decode()
    buyer_client.post(f"/orders/{order.pk}/received/")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED


def test_other_buyers_and_other_shops_get_404(sandbox: Any) -> None:
    order = paid_order(sandbox)
    stranger = signed_in(UserFactory())
    assert stranger.get(f"/orders/{order.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/orders/{order.pk}").status_code == 404
    other_seller = active_seller(sandbox, shop="Other shop")
    other = signed_in(other_seller.user)
    assert other.get(f"/sell/orders/{order.pk}/").status_code == 404
    assert other.post(f"/sell/orders/{order.pk}/fulfil/", {"tracking_number": "X1"}).status_code == 404
    assert other.get("/api/v1/seller/orders").json()["items"] == []
    response = other.post(
        f"/api/v1/seller/orders/{order.pk}/fulfil", json.dumps({"tracking_number": "X1"}), "application/json"
    )
    assert response.status_code == 404
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_api_checkout_orders_and_fulfil(sandbox: Any) -> None:
    seller = active_seller(sandbox)
    listing = listing_of(seller, price=2_000)
    buyer = UserFactory()
    cart_with(buyer, (listing, 3))
    client = Client(enforce_csrf_checks=False)
    client.force_login(buyer)
    created = client.post(
        "/api/v1/checkout", json.dumps({"seller_id": seller.pk, "currency": "usd"}), "application/json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["url"].startswith(f"{sandbox.url}/hosted/checkout/")
    pay(sandbox, body["url"].rsplit("/", 1)[-1])
    services.order_sync_from_stripe(order=Order.objects.get(pk=body["order_id"]))

    orders = client.get("/api/v1/orders").json()["items"]
    assert [(o["id"], o["status"], o["amount_total"], o["amount_total_display"]) for o in orders] == [
        (body["order_id"], "paid", 6_000, "$60.00")
    ]
    # The platform's fee and what the shop keeps are the shop's: the buyer's API has them null.
    assert orders[0]["application_fee_amount"] is None and orders[0]["seller_net"] is None
    assert [line["fee_amount"] for line in orders[0]["lines"]] == [None] * len(orders[0]["lines"])
    assert client.get(f"/api/v1/orders/{body['order_id']}").json()["seller_net"] is None

    seller_client = Client()
    seller_client.force_login(seller.user)
    shop_orders = seller_client.get("/api/v1/seller/orders").json()["items"]
    assert [o["id"] for o in shop_orders] == [body["order_id"]]
    assert shop_orders[0]["application_fee_amount"] == 630 and shop_orders[0]["seller_net"] == 5_370
    assert sum(line["fee_amount"] for line in shop_orders[0]["lines"]) == 630
    assert seller_client.get(f"/api/v1/orders/{body['order_id']}").json()["seller_net"] == 5_370
    # A carrier longer than the 60 characters kept was cut silently: the buyer read another name.
    long_carrier = {"tracking_number": "JP123", "carrier": "Yamato Transport " * 4}
    refused = seller_client.post(
        f"/api/v1/seller/orders/{body['order_id']}/fulfil", json.dumps(long_carrier), "application/json"
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_carrier"
    assert Order.objects.get(pk=body["order_id"]).status == "paid"
    shipped = seller_client.post(
        f"/api/v1/seller/orders/{body['order_id']}/fulfil", json.dumps({"tracking_number": "JP123"}), "application/json"
    )
    assert shipped.status_code == 200 and shipped.json()["status"] == "fulfilled"


def test_order_pages_cost_a_fixed_number_of_queries(sandbox: Any, django_assert_max_num_queries: Any) -> None:
    order = paid_order(sandbox)
    buyer_client, seller_client = signed_in(order.buyer), signed_in(order.seller.user)
    with django_assert_max_num_queries(8):
        assert buyer_client.get("/orders/").status_code == 200
    with django_assert_max_num_queries(8):
        assert buyer_client.get(f"/orders/{order.pk}/").status_code == 200
    # The Sell area's nav counts the refund requests waiting (one query); an order's page reads its
    # refunds, its requests and the units already refunded per line (three).
    with django_assert_max_num_queries(9):
        assert seller_client.get("/sell/orders/").status_code == 200
    with django_assert_max_num_queries(10):
        assert seller_client.get(f"/sell/orders/{order.pk}/").status_code == 200
