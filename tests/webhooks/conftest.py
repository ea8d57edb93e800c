"""Helpers to build, sign and post Stripe events, and the test-only handler registry."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from config.celery import app as celery_app
from marketplace.webhooks import registry
from tests.webhooks.broker import PrivateRedis, reset_broker_pools
from tests.webhooks.handlers import TEST_HANDLERS

PLATFORM_SECRET = "whsec_test_platform"
CONNECT_SECRET = "whsec_test_connect"
PLATFORM_URL = "/webhooks/stripe/"
CONNECT_URL = "/webhooks/stripe/connect/"
_seq = itertools.count(1)


def make_event(
    event_type: str = "test_helpers.test_clock.created",
    *,
    event_id: str | None = None,
    account: str | None = None,
    created: int | None = None,
    obj: dict[str, Any] | None = None,
    livemode: bool = False,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id or f"evt_test_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created if created is not None else int(time.time()),
        "data": {"object": obj or {"id": f"clock_{next(_seq)}", "object": "test_helpers.test_clock"}},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if account:
        event["account"] = account
    return event


def sign(body: bytes, secret: str = PLATFORM_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signed(event: dict[str, Any], secret: str = PLATFORM_SECRET, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(event, indent=2).encode()
    return body, sign(body, secret, timestamp)


@pytest.fixture
def handlers() -> Iterator[None]:
    """Only the test handlers are registered while the test runs (no app's real handlers)."""
    with registry.override(TEST_HANDLERS):
        yield


def make_seller(account_id: str) -> Any:
    """A seller whose Connect account is `account_id` (what makes a Connect event 'known')."""
    from sellers.models import Seller
    from tests.factories import UserFactory

    return Seller.objects.create(
        user=UserFactory(),
        shop_name=f"Shop {account_id}",
        country="US",
        default_currency="usd",
        stripe_account_id=account_id,
    )


@pytest.fixture
def redis_broker() -> Iterator[PrivateRedis]:
    """A private Redis as the broker, and tasks sent to it for real (not eager)."""
    redis = PrivateRedis()
    redis.start()
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = redis.url
    celery_app.conf.task_always_eager = False
    reset_broker_pools()
    try:
        yield redis
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        reset_broker_pools()
        redis.stop()
