"""The intake's publishing connection to Redis, made cheap.

Every stored event costs one publish inside the request, so its CPU bounds intake throughput.
kombu's Redis channel builds a new `redis.Redis` client for every message it puts (about 80 µs of
CPU here, mostly filling the client's table of response callbacks); this channel keeps one client
per channel instead. It shares the channel's connection pool, and our publishing channels are
per thread (`services._publisher`), so nothing is shared across threads that was not before.
Only the intake's own write connection uses it: Celery's workers and beat use kombu's transport.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis


class _PublishingChannel(kombu_redis.Channel):
    _put_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        if self._put_client is None:
            self._put_client = self._create_client()  # type: ignore[attr-defined]
        yield self._put_client


class PublishingRedisTransport(kombu_redis.Transport):
    Channel = _PublishingChannel


def transport_for(url: str) -> type[kombu_redis.Transport] | None:
    """Our transport for a Redis broker URL; None (kombu's choice) for any other broker."""
    return PublishingRedisTransport if url.startswith("redis://") else None
