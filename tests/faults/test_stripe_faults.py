"""Stripe hanging or killed in the middle of a checkout: every sentence stays true, the stock comes
back, the retry is clean, `/healthz` says what is wrong. Against a private sandbox, through the
real SDK; the hang is a TCP proxy that stops answering (nothing inside the gateway is patched)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from catalog.models import CartItem, Listing
from marketplace.gateway import checkout as gateway_checkout
from orders import services
from orders.models import Order, OrderStatus
from orders.services.checkout import CHECKOUT_LIFETIME, EXPIRES_AT_MARGIN
from orders.tasks import sweep_expired_checkouts
from tests.factories import UserFactory, make_platform_admin
from tests.faults.conftest import PrivateSandbox
from tests.faults.timing import stripe_call_worst_case_seconds
from tests.orders.conftest import active_seller, cart_with, listing_of, pay, signed_in
from tests.webhooks.broker import wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CHECKOUT_UNREACHABLE = "Our payment provider could not be reached. Nothing was charged; please try again in a moment."
CONFIRMING = (
    "We are confirming your payment with our payment provider. This page shows the result as soon as "
    "we know, and we will email you."
)


def _api_checkout(client: Client, seller_id: int, currency: str) -> Any:
    return client.post(
        "/api/v1/checkout", json.dumps({"seller_id": seller_id, "currency": currency}), "application/json"
    )


@pytest.mark.parametrize(("mode", "currency"), [("blackhole", "usd"), ("swallow", "jpy")])
def test_a_hanging_stripe_ends_the_checkout_in_seconds_with_a_true_sentence_and_a_clean_retry(
    private_sandbox: PrivateSandbox, mode: str, currency: str
) -> None:
    seller = active_seller(private_sandbox, currency=currency)
    listing = listing_of(seller, price=2500, stock=5)
    buyer = UserFactory()
    cart_with(buyer, (listing, 2))
    client = Client()
    client.force_login(buyer)
    gateway_checkout.customer_create(user_id=buyer.pk, email=buyer.email)  # warm: only the session call hangs

    private_sandbox.proxy.mode = mode  # blackhole: Stripe never hears us; swallow: it does, we never hear back
    started = time.monotonic()
    response = _api_checkout(client, seller.pk, currency)
    elapsed = time.monotonic() - started
    # Two timed-out calls at most (the Customer, the session), not gunicorn's 30 s.
    assert elapsed < 2 * stripe_call_worst_case_seconds() + 1, elapsed
    assert response.status_code == 502
    assert response.json()["error"]["message"] == CHECKOUT_UNREACHABLE
    assert Listing.objects.get(pk=listing.pk).stock == 5  # the reservation was given back
    assert CartItem.objects.get(listing=listing).quantity == 2
    assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.CANCELED]

    operator = Client()
    operator.force_login(make_platform_admin())  # the details of /healthz are for platform admins
    health = operator.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["checks"]["stripe"]["ok"] is False
    assert health.json()["checks"]["stripe"]["error"] == "ReadTimeout"

    private_sandbox.proxy.mode = "forward"
    assert operator.get("/healthz").json()["checks"]["stripe"]["ok"] is True
    response = _api_checkout(client, seller.pk, currency)
    assert response.status_code == 201, response.content
    assert response.json()["url"].startswith(f"{private_sandbox.url}/hosted/checkout/")
    order = Order.objects.get(status=OrderStatus.PENDING_PAYMENT)
    assert order.pk == response.json()["order_id"] and Listing.objects.get(pk=listing.pk).stock == 3


def test_a_checkout_left_pending_by_a_killed_worker_is_retried_without_an_idempotency_error(
    private_sandbox: PrivateSandbox,
) -> None:
    """The issue's case: gunicorn killed the worker after Stripe made the session and before we stored
    it, so the order stayed pending with its stock reserved; the retry reused the order and sent the
    same key with another `expires_at`, and the buyer read Stripe's "Keys for idempotent requests"."""
    seller = active_seller(private_sandbox)
    listing = listing_of(seller, price=1200, stock=4)
    buyer = UserFactory()
    cart_with(buyer, (listing, 1))
    client = signed_in(buyer)
    assert client.post(reverse("checkout"), {"seller_id": seller.pk, "currency": "usd"}).status_code == 303
    order = Order.objects.get()
    first_session, first_expiry = order.checkout_session_id, order.checkout_expires_at
    assert first_expiry is not None
    Order.objects.filter(pk=order.pk).update(checkout_session_id=None, checkout_url="")  # what the kill left
    # The retry's `expires_at` must differ (other parameters, the case Stripe refused): the next second.
    lifetime = CHECKOUT_LIFETIME + EXPIRES_AT_MARGIN
    wait_for(lambda: time.time() + lifetime.total_seconds() >= first_expiry.timestamp() + 1, 5, "the clock stood still")

    response = client.post(reverse("checkout"), {"seller_id": seller.pk, "currency": "usd"})
    assert response.status_code == 303 and response["Location"].startswith(private_sandbox.url)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.checkout_session_id not in (None, first_session)
    assert Listing.objects.get(pk=listing.pk).stock == 3


def test_idempotency_keys_follow_the_parameters(private_sandbox: PrivateSandbox) -> None:
    seller = active_seller(private_sandbox)
    customer = gateway_checkout.customer_create(user_id=1, email="key@example.com").id
    expires = int(time.time()) + 3600

    def create(expires_at: int) -> str:
        return gateway_checkout.checkout_session_create(
            order_id=7,
            customer=customer,
            currency="usd",
            lines=[gateway_checkout.LineItem(name="Mug", unit_amount=1500, quantity=1)],
            application_fee_amount=180,
            destination=str(seller.stripe_account_id),
            success_url="http://testserver/ok?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="http://testserver/cancel",
            expires_at=expires_at,
        ).id

    first = create(expires)
    assert create(expires) == first  # the same request: Stripe replays the first answer
    assert create(expires + 60) != first  # other parameters: another session, not Stripe's refusal


def test_stripe_killed_at_checkout_says_nothing_was_charged_and_the_retry_after_restart_is_clean(
    private_sandbox: PrivateSandbox,
) -> None:
    seller = active_seller(private_sandbox, currency="jpy")
    listing = listing_of(seller, price=1200, stock=3)
    buyer = UserFactory()
    cart_with(buyer, (listing, 2))
    client = signed_in(buyer)
    form = {"seller_id": seller.pk, "currency": "jpy"}

    private_sandbox.kill()
    response = client.post(reverse("checkout"), form)
    assert response.status_code == 302 and response["Location"] == reverse("cart")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [CHECKOUT_UNREACHABLE]
    assert Listing.objects.get(pk=listing.pk).stock == 3 and CartItem.objects.get(listing=listing).quantity == 2
    assert list(Order.objects.values_list("status", flat=True)) == [OrderStatus.CANCELED]

    private_sandbox.restart()  # with its state: the seller's account is still there
    response = client.post(reverse("checkout"), form)
    assert response.status_code == 303 and response["Location"].startswith(f"{private_sandbox.url}/hosted/checkout/")
    assert Listing.objects.get(pk=listing.pk).stock == 1
    assert Order.objects.get(status=OrderStatus.PENDING_PAYMENT).amount_total == 2400


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_stripe_failing_after_the_payment_says_we_are_confirming_and_the_sweeper_settles_it(
    private_sandbox: PrivateSandbox, django_capture_on_commit_callbacks: Any, fault: str
) -> None:
    seller = active_seller(private_sandbox)
    listing = listing_of(seller, price=3000, stock=2)
    buyer = UserFactory()
    cart_with(buyer, (listing, 1))
    client = signed_in(buyer)
    client.post(reverse("checkout"), {"seller_id": seller.pk, "currency": "usd"})
    order = Order.objects.get()
    pay(private_sandbox, str(order.checkout_session_id))  # charged

    if fault == "killed":
        private_sandbox.kill()
    else:
        private_sandbox.proxy.mode = "blackhole"
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("checkout_success"), {"session_id": order.checkout_session_id}, follow=True)
    assert time.monotonic() - started < stripe_call_worst_case_seconds() + 1
    assert response.status_code == 200
    page = response.content.decode()
    assert CONFIRMING in page
    assert "Nothing was charged" not in page and "Payment not completed" not in page and "Pay now" not in page
    assert "Thank you" not in page
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.payment_confirming_since is not None
    assert mail.outbox == []

    if fault == "killed":
        private_sandbox.restart()
    else:
        private_sandbox.proxy.mode = "forward"
    assert services.orders_confirm_payments() == 0  # too fresh: the webhook usually comes first
    Order.objects.filter(pk=order.pk).update(payment_confirming_since=order.payment_confirming_since.replace(year=2000))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_expired_checkouts() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.payment_confirming_since is None and order.status_message == ""
    assert sorted(m.to[0] for m in mail.outbox) == sorted([buyer.email, seller.user.email])
    assert "Paid" in client.get(reverse("order_detail", args=[order.pk])).content.decode()
