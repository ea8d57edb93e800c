"""What every resource handler gets: the store, the webhook emitter, the public URL and the caller's scope."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .params import LIST_PARAMS, Schema, validate
from .store import PLATFORM, Obj, Store
from .webhooks import Webhooks


class Core:
    """Shared by the API, the hosted pages, the control API and the clock; one instance per Sandbox."""

    def __init__(self, store: Store, hooks: Webhooks) -> None:
        self.store = store
        self.hooks = hooks
        self.base_url = ""

    def emit(self, type: str, obj: Obj, *, account: str = PLATFORM, previous: Obj | None = None) -> Obj:
        return self.hooks.emit(type, obj, account=account, previous=previous)


@dataclass
class Ctx:
    """One API request: the scope (``""`` platform or the ``Stripe-Account`` id), its key and raw params."""

    core: Core
    owner: str
    api_key: str
    raw: dict[str, Any]
    path: str
    files: dict[str, tuple[str, bytes]] | None = None

    @property
    def store(self) -> Store:
        return self.core.store

    def params(self, schema: dict[str, Schema], *, listing: bool = False) -> dict[str, Any]:
        """Validate the body/query against ``schema`` (plus ``expand`` and list params) the way Stripe does."""
        full = {**schema, "expand": ["str"]}
        if listing:
            full.update(LIST_PARAMS)
        result: dict[str, Any] = validate(self.raw, full)
        return result


Handler = Callable[..., Any]
Route = tuple[str, str, Handler]


def diff(before: Obj, after: Obj) -> Obj:
    """``previous_attributes`` for an ``*.updated`` event: old values of the top-level fields that changed."""
    return {k: v for k, v in before.items() if not k.startswith("_") and after.get(k) != v}
