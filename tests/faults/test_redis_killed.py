"""Redis (broker and cache) killed mid-traffic, with a real Celery worker and the sandbox delivering
webhooks: pages, login, password reset, checkout, the success page, fulfilment and the webhook
intake never answer 5xx; once Redis is back, nothing is lost and every email is sent once.

Everything breakable is private to the test: its own redis-server (SIGKILLed, then started empty
on the same port, as after a crash without persistence), its own worker process. Emails go to
files, so the ones sent by the worker and by the sweeper in this process are counted together.
"""

from __future__ import annotations

import collections
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from marketplace.outbox.models import OutboxMessage
from marketplace.outbox.services import outbox_sweep
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.services import webhook_events_sweep
from orders.models import Order, OrderStatus
from tests.factories import PASSWORD, UserFactory
from tests.faults.mailbox import sent
from tests.orders.conftest import active_seller, cart_with, listing_of, pay
from tests.webhooks.broker import PrivateRedis, reset_broker_pools, spawn_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker]


@pytest.fixture
def redis_for_everything(redis_broker: PrivateRedis, settings: Any, tmp_path: Path) -> PrivateRedis:
    """The private Redis broker (tasks sent for real) is the cache too; emails go to files."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_broker.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis_broker.url}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    return redis_broker


class Traffic(threading.Thread):
    """Anonymous and signed-in page views, failed logins and health checks, in a loop, all the time
    Redis dies and comes back; every status is recorded."""

    def __init__(self, listing_id: int) -> None:
        super().__init__(daemon=True)
        self.paths = ["/", "/search/?q=mug", f"/listing/{listing_id}/", "/cart/", "/healthz"]
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        # From another address than the test's own logins: allauth counts failed logins per client
        # address, and this loop's would otherwise lock the buyer and the seller out mid-test.
        client = Client(raise_request_exception=False, REMOTE_ADDR="203.0.113.9")
        try:
            while not self.done.is_set():
                for path in self.paths:
                    self._record(path, client.get(path))
                response = client.post(reverse("account_login"), {"login": "nobody@example.com", "password": "x"})
                self._record("login", response)
        finally:
            connection.close()

    def _record(self, what: str, response: Any) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.errors.append(f"{what}: {response.status_code}")


def _checkout_and_pay(client: Client, sandbox: Any, seller_id: int) -> Order:
    response = client.post(reverse("checkout"), {"seller_id": seller_id, "currency": "usd"})
    assert response.status_code == 303, response.content
    order = Order.objects.filter(status=OrderStatus.PENDING_PAYMENT).latest("pk")
    pay(sandbox, str(order.checkout_session_id))
    response = client.get(reverse("checkout_success"), {"session_id": order.checkout_session_id})
    assert response.status_code == 302, response.content
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Thank you! Your payment went through." in page.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


def _log_in(email: str) -> Client:
    client = Client(raise_request_exception=False)
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.mark.django_db(transaction=True)
def test_redis_killed_mid_traffic_no_5xx_nothing_lost_every_email_once(
    sandbox_webhooks: Any, redis_for_everything: PrivateRedis, settings: Any, tmp_path: Path
) -> None:
    mailbox = tmp_path / "mail"
    mailbox.mkdir()
    worker = spawn_worker(
        redis_for_everything,
        tmp_path / "worker.log",
        settings_module="tests.faults.worker_settings",
        env={
            "TEST_EMAIL_DIR": str(mailbox),
            "STRIPE_API_BASE": sandbox_webhooks.url,
            "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        },
    )
    traffic: Traffic | None = None
    try:
        seller = active_seller(sandbox_webhooks)
        listing = listing_of(seller, price=1800, stock=10)
        first, second = UserFactory(), UserFactory()
        cart_with(first, (listing, 1))
        cart_with(second, (listing, 2))
        traffic = Traffic(listing.pk)
        traffic.start()

        # Redis up: the first order's emails go through the worker.
        first_order = _checkout_and_pay(_log_in(first.email), sandbox_webhooks, seller.pk)
        wait_for(
            lambda: len([m for m in sent(mailbox) if f"Order {first_order.pk} " in m[1]]) == 1,
            30,
            lambda: f"the worker did not send the confirmation: {sent(mailbox)}",
        )

        assert redis_for_everything.proc is not None
        redis_for_everything.proc.kill()  # SIGKILL, with traffic flowing
        redis_for_everything.proc.wait(10)
        redis_for_everything.proc = None

        buyer = _log_in(second.email)  # the login rate limit's cache is down: no 500
        second_order = _checkout_and_pay(buyer, sandbox_webhooks, seller.pk)
        seller_client = _log_in(seller.user.email)
        response = seller_client.post(
            reverse("sell_order_fulfil", args=[first_order.pk]), {"tracking_number": "1Z999AA10123456784"}
        )
        assert response.status_code == 302
        response = Client(raise_request_exception=False).post(
            reverse("account_reset_password"), {"email": second.email}
        )
        assert response.status_code == 302
        assert sandbox_webhooks.wait_for_webhooks(20)
        during = [d for d in sandbox_webhooks.deliveries if d["type"].startswith("checkout.session")]
        assert during and all(d["succeeded"] for d in during), during  # the intake answered 2xx

        # Written, not lost: the emails of the outage wait in the outbox.
        waiting = set(OutboxMessage.objects.filter(status="pending").values_list("name", flat=True))
        assert {"orders.email.order_confirmation", "orders.email.order_shipped", "marketplace.email.send"} <= waiting

        redis_for_everything.start()  # empty: the messages queued before the kill are gone
        reset_broker_pools()
        settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
        # What beat does every minute: the sweepers send (events) and deliver (outbox) what was left.
        wait_for(lambda: webhook_events_sweep(older_than=timedelta(0)) > 0 or not _events_left(), 20, "sweep refused")
        wait_for(lambda: not _events_left(), 60, lambda: f"events left: {_events_left()}")
        wait_for(lambda: outbox_sweep() >= 0 and not _outbox_left(), 30, lambda: f"outbox left: {_outbox_left()}")
    finally:
        # Stopped even when the test fails: left running, it went on hitting the app (and the login
        # limits) through every later test of the run.
        if traffic is not None:
            traffic.done.set()
            traffic.join(30)
        worker.terminate()
        worker.wait(30)

    assert traffic.errors == [], traffic.errors
    assert traffic.statuses[200] > 20  # traffic did flow during the outage
    messages = sent(mailbox)
    duplicates = [m for m, n in collections.Counter(messages).items() if n > 1]
    assert duplicates == [], duplicates
    subjects = {subject for _, subject in messages}
    for order in (first_order, second_order):
        assert any(s.startswith(f"[Marketplace] Order {order.pk} confirmed") for s in subjects), subjects
        assert any(s.startswith(f"[Marketplace] New order {order.pk}:") for s in subjects), subjects
    assert f"[Marketplace] Order {first_order.pk} has shipped" in subjects
    assert (second.email, "[Marketplace] Password Reset Email") in messages, messages
    second_order.refresh_from_db()
    assert second_order.status == OrderStatus.PAID


def _events_left() -> list[tuple[str, str, str]]:
    return list(
        WebhookEvent.objects.exclude(status__in=["processed", "ignored"]).values_list("type", "status", "last_error")
    )


def _outbox_left() -> list[tuple[str, str, str]]:
    return list(OutboxMessage.objects.exclude(status="delivered").values_list("name", "status", "last_error"))
