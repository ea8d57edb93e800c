"""The storefront's cache: what every buyer sees alike (listing cards, categories, a listing's details),
kept under one version that every change to the catalog replaces.

Why a version and not per-key deletes: a card shows the listing, its cover image, its category and its
seller's shop name, and whether it shows at all depends on the seller (paused, charges disabled), so one
change touches an unknown set of pages (every search that matched, every page number after it). A new
version makes every earlier entry unused at once; they expire on their own (`TIMEOUT`).

Correctness, step by step:
- A reader takes the version *before* it reads the database, and stores what it read with that version;
  an entry is used only while its version is the current one.
- A writer replaces the version after its transaction commits (and once when it writes, for callers that
  never commit, such as a test's transaction). A reader that saw the new version started after the
  commit and reads the new rows; one that saw the old version stores an entry marked with it, which
  nobody uses any more. So no reader can leave old rows under the new version.
- Versions are random tokens, not counters: a version lost from the cache (eviction, a Redis restart)
  can never come back and make old entries reachable again.
- Only a cache every web process shares is used. While Redis is down, `marketplace.cache` falls back to
  each process's own memory, where one process's new version would not reach the others: the
  storefront then reads the database on every request, as it did before this cache existed.
- `TIMEOUT` bounds the one case left: a change committed while Redis did not answer (its new version
  was lost) is shown at the latest that many seconds after Redis is back.

Never put a person's data here: entries are shared by every visitor.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

from marketplace.cache import cache_is_shared

logger = logging.getLogger(__name__)

VERSION_KEY = "storefront:version"
# Part of every entry's key. Entries are pickled objects (`frontend.storefront_views.Cards` and
# `ListingPage`, models, `ListingPageOut`): change this whenever one of them changes shape, so that code
# of another shape (a deploy, old and new processes side by side) never reads them.
ENTRY_FORMAT = 4
TIMEOUT = 300  # seconds; see the module's docstring for why there is one at all
VERSION_TIMEOUT = 86_400  # a version that expires is replaced by a new one: every entry is then read anew

T = TypeVar("T")


def storefront_cached(key: str, compute: Callable[[], T]) -> T:
    """`compute()`'s result, from the cache when it was computed for the current version of the catalog.

    `key` names the read and its arguments (a long or user-typed part is hashed here). One round trip
    to Redis reads the version and the entry together; the entry carries the version it was computed
    for, and is used only when that is still the current one."""
    if not cache_is_shared():
        return compute()
    full = f"storefront:{ENTRY_FORMAT}:{hashlib.sha256(key.encode()).hexdigest()}"
    found = cache.get_many([VERSION_KEY, full])
    version = found.get(VERSION_KEY)
    if not cache_is_shared():
        return compute()
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT)
        version = cache.get(VERSION_KEY)
        if version is None or not cache_is_shared():
            return compute()
    entry: Any = found.get(full)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == version:
        return entry[1]  # type: ignore[no-any-return]
    value = compute()  # read after the version: see the docstring of the module
    if cache_is_shared():
        cache.set(full, (version, value), timeout=TIMEOUT)
    return value


def storefront_changed() -> None:
    """Every cached storefront entry is out of date: call after any write that a buyer could see
    (listings, their images and stock, categories, sellers). Safe inside or outside a transaction."""
    _new_version()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_new_version)


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TIMEOUT)
    if not cache_is_shared():
        logger.warning("storefront cache: Redis did not answer; cached pages may lag for up to %s s", TIMEOUT)
