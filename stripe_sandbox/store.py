"""All sandbox state: objects, their owning account, the sandbox clock and JSON persistence.

One re-entrant lock guards every mutation; the HTTP threads, the clock and the webhook thread all go through it.
Objects are stored exactly as Stripe renders them; private bookkeeping lives in keys starting with ``_``, which
``render`` strips.
"""

from __future__ import annotations

import bisect
import copy
import json
import os
import secrets
import string
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from .errors import StripeError, invalid, missing

Obj = dict[str, Any]
PLATFORM = ""  # owner key of platform-scoped objects; connected accounts use their acct_ id

_ALPHABET = string.ascii_letters + string.digits
_TEMPLATES: dict[str, Obj] = json.loads(
    resources.files(__package__).joinpath("templates.json").read_text(encoding="utf-8")
)


def new_id(prefix: str, length: int = 24) -> str:
    """Stripe-looking ids (``ch_3Pq...``); random, so ids never collide across resets or restarts."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def template(kind: str, **fields: Any) -> Obj:
    """A fresh object shaped like Stripe's own example (fixtures3.json, MIT), with ``fields`` overriding."""
    obj = copy.deepcopy(_TEMPLATES[kind])
    obj.update(fields)
    return obj


def empty_billing_details(email: str | None = None) -> Obj:
    """A charge's `billing_details` when the test card carried no billing address."""
    address = dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state"))
    return {"address": address, "email": email, "name": None, "phone": None, "tax_id": None}


def list_envelope(data: list[Obj], url: str, has_more: bool = False) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


class Store:
    """Objects by id, the scope (account) each belongs to, insertion order, the clock, and side tables."""

    def __init__(self, path: str | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.reset()
        if path and os.path.exists(path):
            self.load()

    def reset(self) -> None:
        with self.lock:
            self.objects: dict[str, Obj] = {}
            self.owner: dict[str, str] = {}
            self.seq: dict[str, int] = {}
            self.counter = 0
            self.clock_offset = 0
            self.frozen_at: int | None = None  # while the clock advances: the moment being run (not saved)
            self.tokens: dict[str, Obj] = {}  # account-link and login-link tokens -> record
            self.idempotency: dict[str, Obj] = {}
            self.files: dict[str, str] = {}  # file id -> latin-1 text of the uploaded bytes
            self._index: dict[str, dict[str, list[str]]] = {}

    def _reindex(self) -> None:
        """Each kind's ids in each scope, oldest first by (``created``, insertion): ``find`` reads one kind in one
        scope without scanning every object (an event's delivery looks up the webhook endpoints), and
        ``list_page`` finds its cursor by bisection, so a request's cost does not grow with the sandbox's size."""
        self._index = {}
        for oid in sorted(self.objects, key=lambda i: self.seq.get(i, 0)):
            self._index_add(oid)

    def _key(self, oid: str) -> tuple[int, int]:
        return int(self.objects[oid].get("created") or 0), self.seq[oid]

    def _index_add(self, oid: str) -> None:
        kind = self.objects[oid].get("object")
        if not isinstance(kind, str):
            return
        ids = self._index.setdefault(kind, {}).setdefault(self.owner[oid], [])
        if not ids or self._key(ids[-1]) <= self._key(oid):
            ids.append(oid)  # the usual case: created now, after everything else
        else:
            bisect.insort(ids, oid, key=self._key)  # created in the past (a reversal dated as its transfer's)

    # -- clock -------------------------------------------------------------------------------------------------
    def now(self) -> int:
        """Sandbox time: real time plus whatever the control API advanced it by.

        While the clock advances, the moment being run stands still (as a Stripe test clock's frozen time does):
        a renewal's charge is dated at its period's end even when the wall clock ticks over a second meanwhile.
        """
        if self.frozen_at is not None:
            return self.frozen_at
        return int(time.time()) + self.clock_offset

    # -- objects -----------------------------------------------------------------------------------------------
    def add(self, obj: Obj, owner: str = PLATFORM) -> Obj:
        with self.lock:
            oid = obj["id"]
            old = self.objects.get(oid)
            if old is not None:  # the same id added again: its old kind and scope no longer hold it
                held = self._index.get(str(old.get("object")), {}).get(self.owner[oid], [])
                if oid in held:
                    held.remove(oid)
            self.counter += 1
            self.objects[oid] = obj
            self.owner[oid] = owner
            self.seq[oid] = self.counter
            self._index_add(oid)
        return obj

    def get(self, object_id: str, kind: str, owner: str | None = PLATFORM, label: str | None = None) -> Obj:
        """Fetch an object of ``kind`` visible in ``owner``'s scope (None: any scope), else Stripe's 404."""
        obj = self.objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj.get("object") != kind or obj.get("_deleted"):
            raise missing(label or kind.split(".")[-1], str(object_id))
        if owner is not None and self.owner.get(object_id) != owner:
            raise missing(label or kind.split(".")[-1], object_id)
        return obj

    def find(self, kind: str, owner: str | None = PLATFORM, **match: Any) -> list[Obj]:
        """Objects of ``kind`` in ``owner``'s scope, newest first, optionally filtered on top-level fields."""
        with self.lock:
            scopes = self._index.get(kind, {})
            ids = [oid for ids in scopes.values() for oid in ids] if owner is None else scopes.get(owner, [])[::-1]
            out = [
                o
                for o in (self.objects[oid] for oid in ids)
                if not o.get("_deleted") and all(o.get(k) == v for k, v in match.items())
            ]
        if owner is None:
            out.sort(key=lambda o: (o.get("created", 0), self.seq[o["id"]]), reverse=True)
        return out

    def list_page(
        self,
        kind: str,
        owner: str,
        params: dict[str, Any],
        url: str,
        *,
        keep: Callable[[Obj], bool] | None = None,
        **match: Any,
    ) -> Obj:
        """``page(find(kind, owner, **match) filtered by keep, ...)``, reading only the page and what the filters
        skip: the cursor is found by bisection on the scope's index, so paging a long list costs each page its own
        length, not the list's (Stripe's own list calls do not slow down as an account's history grows)."""
        limit = _limit(params)
        created = params.get("created")

        def ok(o: Obj) -> bool:
            return (
                not o.get("_deleted")
                and all(o.get(k) == v for k, v in match.items())
                and (keep is None or keep(o))
                and (created is None or _created_ok(o.get("created", 0), created))
            )

        with self.lock:
            ids = self._index.get(kind, {}).get(owner, [])
            objects = self.objects
            out: list[Obj] = []
            after, before = params.get("starting_after"), params.get("ending_before")
            if after or not before:
                start = self._position(ids, after, kind, owner, ok, "starting_after") if after else len(ids)
                for i in range(start - 1, -1, -1):
                    if ok(objects[ids[i]]):
                        out.append(objects[ids[i]])
                        if len(out) > limit:
                            break
                return list_envelope(out[:limit], url, len(out) > limit)
            start = self._position(ids, before, kind, owner, ok, "ending_before")
            for i in range(start + 1, len(ids)):
                if ok(objects[ids[i]]):
                    out.append(objects[ids[i]])
                    if len(out) > limit:
                        break
            return list_envelope(out[:limit][::-1], url, len(out) > limit)

    def _position(
        self, ids: list[str], cursor: Any, kind: str, owner: str, ok: Callable[[Obj], bool], param: str
    ) -> int:
        """Where the cursor object sits in ``ids``; Stripe's 404 when it is not an object this list holds."""
        obj = self.objects.get(cursor) if isinstance(cursor, str) else None
        if obj is None or obj.get("object") != kind or self.owner.get(cursor) != owner or not ok(obj):
            raise missing("object", str(cursor), param)
        pos = bisect.bisect_left(ids, self._key(cursor), key=self._key)
        if pos >= len(ids) or ids[pos] != cursor:
            raise missing("object", str(cursor), param)
        return pos

    def page(self, items: list[Obj], params: dict[str, Any], url: str) -> Obj:
        """Stripe's cursor pagination (newest first) with ``limit`` 1..100, default 10, and ``created`` filters."""
        limit = _limit(params)
        created = params.get("created")
        if created is not None:
            items = [o for o in items if _created_ok(o.get("created", 0), created)]
        ids = [o["id"] for o in items]
        if params.get("starting_after"):
            cursor = params["starting_after"]
            if cursor not in ids:
                raise missing("object", cursor, "starting_after")
            items = items[ids.index(cursor) + 1 :]
            return list_envelope(items[:limit], url, len(items) > limit)
        if params.get("ending_before"):
            cursor = params["ending_before"]
            if cursor not in ids:
                raise missing("object", cursor, "ending_before")
            before = items[: ids.index(cursor)]
            return list_envelope(before[-limit:], url, len(before) > limit)
        return list_envelope(items[:limit], url, len(items) > limit)

    # -- persistence -------------------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the whole state atomically; cheap enough at sandbox sizes and survives kill -9 mid-write."""
        if not self.path:
            return
        with self.lock:
            data = {
                "objects": self.objects,
                "owner": self.owner,
                "seq": self.seq,
                "counter": self.counter,
                "clock_offset": self.clock_offset,
                "tokens": self.tokens,
                "idempotency": self.idempotency,
                "files": self.files,
            }
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.path)

    def load(self) -> None:
        assert self.path
        with open(self.path, encoding="utf-8") as fh:
            data = json.load(fh)
        with self.lock:
            for key in ("objects", "owner", "seq", "counter", "clock_offset", "tokens", "idempotency", "files"):
                setattr(self, key, data.get(key, getattr(self, key)))
            self._reindex()


def _limit(params: dict[str, Any]) -> int:
    limit = params.get("limit") or 10
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", param="limit")
    return int(limit)


def _created_ok(created: int, flt: Any) -> bool:
    if isinstance(flt, str):
        return created == int(flt)
    if not isinstance(flt, dict):
        raise invalid("Invalid created", param="created")
    try:
        checks = {k: int(v) for k, v in flt.items()}
    except ValueError:
        raise StripeError(400, "Invalid integer", param="created") from None
    ops = {"gt": created.__gt__, "gte": created.__ge__, "lt": created.__lt__, "lte": created.__le__}
    for key, value in checks.items():
        if key not in ops:
            raise StripeError(400, f"Received unknown parameter: created[{key}]", param=f"created[{key}]")
        if not ops[key](value):
            return False
    return True


def render(obj: Any) -> Any:
    """Deep copy without private ``_`` keys: what goes on the wire and into events."""
    if isinstance(obj, dict):
        return {k: render(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [render(v) for v in obj]
    return obj
