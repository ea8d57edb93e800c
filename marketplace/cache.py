"""The cache backend: Redis, and this process's memory for as long as Redis does not answer.

What the cache holds here is allauth's rate-limit counters (failed logins, signups, password resets)
and its record of used TOTP codes. With Redis down, Django's RedisCache raises on every call, so
login and password reset were 500s.

Decision: fall back, not fail open. Failing open (a failing cache read as a miss, writes dropped)
would switch the login limits off for as long as Redis is down, precisely when someone may be
making it so, and let a TOTP code be replayed. Falling back to a per-process memory cache keeps
both working inside each process: limits are counted per process (a client can get up to one
limit per web process), used TOTP codes are refused within a process. Counters start from zero
on each switch, in either direction. After a failure Redis is tried again every
`RETRY_AFTER_SECONDS`, so an outage costs each process one failed connection per interval, not one
per request (the connect and socket timeouts in settings keep that failure short).

The storefront's cache (`catalog/cache.py`) lives here too, but only while Redis answers: it asks
`is_shared()` and reads the database instead while this process is on its own memory, where one
process's invalidation would not reach the others.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0

# Per process, per server: Django makes one backend instance per thread.
_down_until: dict[str, float] = {}
_lock = threading.Lock()


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one `redis.Redis` per connection pool. Django builds a new one for every
    cache call, and building it fills a table of about 170 response callbacks: in a profile of the
    storefront that was a third of the time of each cache call. A `redis.Redis` takes a connection
    from its pool for each command, so one can serve every call (and thread) of its pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class FallbackRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        self._server_key = str(server)
        # LocMemCache instances with one name share their storage across the process's threads.
        self._fallback = LocMemCache(
            f"redis-fallback:{self._server_key}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "KEY_PREFIX": params.get("KEY_PREFIX", "")},
        )

    def is_shared(self) -> bool:
        """Whether the next call goes to Redis, seen by every process, rather than to this process's
        memory: Redis answered last time, or it is time to try it again. Asked after a call, it tells
        whether that call reached Redis (a failure marks it down)."""
        return time.monotonic() >= _down_until.get(self._server_key, 0.0)

    def _use(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= _down_until.get(self._server_key, 0.0):
            try:
                result = getattr(super(), method)(*args, **kwargs)
            except (RedisError, OSError) as exc:
                self._went_down(exc)
            else:
                self._came_back()
                return result
        return getattr(self._fallback, method)(*args, **kwargs)

    def _went_down(self, exc: BaseException) -> None:
        with _lock:
            was_up = _down_until.get(self._server_key, 0.0) == 0.0
            _down_until[self._server_key] = time.monotonic() + RETRY_AFTER_SECONDS
        if was_up:
            logger.warning(
                "cache %s unreachable (%s): using this process's memory until it answers", self._server_key, exc
            )

    def _came_back(self) -> None:
        if _down_until.get(self._server_key, 0.0) != 0.0:
            with _lock:
                _down_until[self._server_key] = 0.0
            logger.warning("cache %s answers again", self._server_key)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._use("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        return self._use("clear")


def cache_is_shared() -> bool:
    """Whether the default cache is one every process sees: Redis, answering (or any backend without
    a fallback). False while this process is on its own memory: what it reads there is not what
    other processes wrote, and what it writes or deletes there never reaches them."""
    from django.core.cache import cache

    is_shared = getattr(cache, "is_shared", None)
    return bool(is_shared()) if is_shared is not None else True


def shared_get(key: str) -> Any:
    """`cache.get`, but None for what only this process's memory held (Redis down): no other process's
    change or invalidation reaches that memory, so it may hold what is no longer true. For values a
    page states as facts (a balance, a schedule, a count), which are then read afresh."""
    from django.core.cache import cache

    value = cache.get(key)
    return value if cache_is_shared() else None
