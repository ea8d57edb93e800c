"""All sandbox state: objects, their owning account, the sandbox clock and JSON persistence.

One re-entrant lock guards every mutation; the HTTP threads, the clock and the webhook thread all go through it.
Objects are stored exactly as Stripe renders them; private bookkeeping lives in keys starting with ``_``, which
``render`` strips.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import string
import threading
import time
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
            self.tokens: dict[str, Obj] = {}  # account-link and login-link tokens -> record
            self.idempotency: dict[str, Obj] = {}
            self.files: dict[str, str] = {}  # file id -> latin-1 text of the uploaded bytes

    # -- clock -------------------------------------------------------------------------------------------------
    def now(self) -> int:
        """Sandbox time: real time plus whatever the control API advanced it by."""
        return int(time.time()) + self.clock_offset

    # -- objects -----------------------------------------------------------------------------------------------
    def add(self, obj: Obj, owner: str = PLATFORM) -> Obj:
        with self.lock:
            self.counter += 1
            self.objects[obj["id"]] = obj
            self.owner[obj["id"]] = owner
            self.seq[obj["id"]] = self.counter
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
        out = [
            o
            for oid, o in self.objects.items()
            if o.get("object") == kind
            and not o.get("_deleted")
            and (owner is None or self.owner.get(oid) == owner)
            and all(o.get(k) == v for k, v in match.items())
        ]
        out.sort(key=lambda o: (o.get("created", 0), self.seq[o["id"]]), reverse=True)
        return out

    def page(self, items: list[Obj], params: dict[str, Any], url: str) -> Obj:
        """Stripe's cursor pagination (newest first) with ``limit`` 1..100, default 10, and ``created`` filters."""
        limit = params.get("limit") or 10
        if not 1 <= limit <= 100:
            raise invalid("Invalid limit: must be between 1 and 100", param="limit")
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
