"""The embeddable Sandbox: one HTTP server thread plus the webhook thread, startable from tests or the CLI."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from . import control, hosted, hosted_billing, scheduler
from .core import Core, Route
from .resources import (
    accounts,
    balance,
    billing,
    catalog,
    checkout,
    connect,
    disputes,
    events,
    files,
    methods,
    payments,
)
from .server import Router, SandboxHTTPServer, make_handler
from .store import Store
from .webhooks import DEFAULT_API_VERSION, WebhookConfig, Webhooks

API_ROUTES: list[Route] = [
    *accounts.ROUTES,
    *checkout.ROUTES,
    *payments.ROUTES,
    *methods.ROUTES,
    *billing.ROUTES,
    *connect.ROUTES,
    *disputes.ROUTES,
    *files.ROUTES,
    *balance.ROUTES,
    *catalog.ROUTES,
    *events.ROUTES,
]


class Sandbox:
    """A stateful Stripe Connect emulator on ``host:port`` (``port=0``: a free one); see ``url`` after start."""

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        connect_webhook_url: str | None = None,
        connect_webhook_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        retry_base: float = 0.2,
        max_attempts: int = 5,
    ) -> None:
        self.host = host
        self.port = port
        self.store = Store(state_file)
        self.hooks = Webhooks(
            self.store,
            WebhookConfig(
                url=webhook_url,
                secret=webhook_secret,
                connect_url=connect_webhook_url,
                connect_secret=connect_webhook_secret,
                api_version=api_version,
                retry_base=retry_base,
                max_attempts=max_attempts,
            ),
        )
        self.core = Core(self.store, self.hooks)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("Sandbox not started")
        return self.core.base_url

    def start(self) -> Sandbox:
        handler = make_handler(
            self.core, Router(API_ROUTES), Router(hosted.ROUTES + hosted_billing.ROUTES + control.ROUTES)
        )
        self._server = SandboxHTTPServer((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self.core.base_url = f"http://{self.host}:{self.port}"
        self.hooks.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="stripe-sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.hooks.stop()
        self.store.save()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- conveniences for tests and embedding (the same as the control API) ------------------------------------
    def configure_webhooks(self, **kwargs: Any) -> None:
        """Set ``webhook_url``, ``webhook_secret``, ``connect_webhook_url``, ``connect_webhook_secret``,
        ``retry_base``, ``max_attempts`` or ``api_version`` after start (a live server's URL comes late)."""
        names = {
            "webhook_url": "url",
            "webhook_secret": "secret",
            "connect_webhook_url": "connect_url",
            "connect_webhook_secret": "connect_secret",
        }
        for key, value in kwargs.items():
            attr = names.get(key, key)
            if not hasattr(self.hooks.config, attr):
                raise TypeError(f"unknown webhook setting {key!r}")
            setattr(self.hooks.config, attr, value)

    def advance(self, seconds: int) -> None:
        scheduler.advance(self.core, seconds)

    def reset(self) -> None:
        with self.store.lock:
            self.hooks.clear()
            self.store.reset()
            self.store.save()

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery was attempted (held deliveries excepted)."""
        return self.hooks.idle(timeout)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.hooks.deliveries)
