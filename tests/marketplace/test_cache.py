"""The rate-limit cache with Redis killed: login and password reset still answer, and the limits
still hold (counted in the process's memory, the documented fallback), until Redis is back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.webhooks.broker import PrivateRedis, wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TOO_MANY = "Too many failed login attempts"


@pytest.fixture
def cache_redis(settings: Any) -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "marketplace.cache.FallbackRedisCache",
            "LOCATION": server.url,
        }
    }
    try:
        yield server
    finally:
        server.stop()


def _keys(server: PrivateRedis) -> list[bytes]:
    client = redis.Redis(port=server.port)
    try:
        return list(client.keys("*"))
    finally:
        client.close()


def test_with_redis_killed_login_and_reset_work_and_failed_logins_are_still_limited(
    cache_redis: PrivateRedis, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    UserFactory(email="ann@example.com")
    UserFactory(email="ben@example.com")
    client = Client(raise_request_exception=False)
    response = client.post(reverse("account_login"), {"login": "ann@example.com", "password": "wrong-password"})
    assert response.status_code == 200 and _keys(cache_redis)  # counted in Redis while it is up

    assert cache_redis.proc is not None
    cache_redis.proc.kill()  # SIGKILL, mid-traffic
    cache_redis.proc.wait(10)
    cache_redis.proc = None
    with caplog.at_level(logging.WARNING, logger="marketplace.cache"):
        for _ in range(5):
            response = client.post(reverse("account_login"), {"login": "ann@example.com", "password": "wrong"})
            assert response.status_code == 200 and TOO_MANY not in response.content.decode()
    assert "unreachable" in caplog.text and "using this process's memory" in caplog.text
    # The sixth try is refused even with the right password: the limit holds through the outage.
    response = client.post(reverse("account_login"), {"login": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 200 and TOO_MANY in response.content.decode()

    other = Client(raise_request_exception=False)
    response = other.post(reverse("account_login"), {"login": "ben@example.com", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in other.session
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(raise_request_exception=False).post(
            reverse("account_reset_password"), {"email": "ben@example.com"}
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["ben@example.com"]]

    cache_redis.start()  # empty, on the same port
    with caplog.at_level(logging.WARNING, logger="marketplace.cache"):
        probe = cache.make_key("probe").encode()
        wait_for(lambda: cache.set("probe", 1) or probe in _keys(cache_redis), 15, "Redis not used again")
    assert "answers again" in caplog.text
