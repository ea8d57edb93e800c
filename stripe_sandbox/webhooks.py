"""Events, their signatures and their delivery from a background thread.

Deliveries go to the URLs given on the command line / constructor (platform and Connect) and to every registered
webhook endpoint whose ``connect`` flag and ``enabled_events`` match. Each attempt is recorded so tests and the
control page can show what the app answered. Retries back off (compressed: 0.2 s, 0.4 s, ...) so tests stay fast.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from .store import PLATFORM, Obj, Store, new_id, render, template

DEFAULT_API_VERSION = "2026-10-28.endive"  # stripe 16.1.0's pinned version; overridable per Sandbox


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value ``stripe.Webhook.construct_event`` verifies."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class WebhookConfig:
    url: str | None = None
    secret: str | None = None
    connect_url: str | None = None
    connect_secret: str | None = None
    api_version: str = DEFAULT_API_VERSION
    retry_base: float = 0.2  # seconds before the 2nd attempt; doubles each time
    max_attempts: int = 5
    timeout: float = 10.0


@dataclass
class _Job:
    event_id: str
    url: str
    secret: str
    attempt: int = 1
    due: float = field(default_factory=time.monotonic)


class Webhooks:
    """Creates events under the store lock and delivers them from one daemon thread, in creation order."""

    def __init__(self, store: Store, config: WebhookConfig) -> None:
        self.store = store
        self.config = config
        self.deliveries: list[Obj] = []
        self._queue: list[_Job] = []
        self._held: list[_Job] = []
        self._holding = False
        self._inflight = 0
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.request = threading.local()  # set by the server: request id and idempotency key for events

    # -- events ------------------------------------------------------------------------------------------------
    def emit(self, type: str, obj: Obj, *, account: str = PLATFORM, previous: Obj | None = None) -> Obj:
        """Record an event for ``obj`` as it is now and queue its deliveries."""
        data: Obj = {"object": render(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = template(
            "event",
            id=new_id("evt_"),
            api_version=self.config.api_version,
            created=self.store.now(),
            data=data,
            livemode=False,
            pending_webhooks=0,
            request={
                "id": getattr(self.request, "id", None),
                "idempotency_key": getattr(self.request, "idempotency_key", None),
            },
            type=type,
        )
        if account != PLATFORM:
            event["account"] = account
        targets = self._targets(event)
        event["pending_webhooks"] = len(targets)
        self.store.add(event, account)
        self._enqueue([_Job(event["id"], url, secret) for url, secret in targets])
        return event

    def _targets(self, event: Obj) -> list[tuple[str, str]]:
        connect = "account" in event
        out: list[tuple[str, str]] = []
        cfg = self.config
        if connect and cfg.connect_url:
            out.append((cfg.connect_url, cfg.connect_secret or ""))
        if not connect and cfg.url:
            out.append((cfg.url, cfg.secret or ""))
        for we in self.store.find("webhook_endpoint", PLATFORM):
            if we["status"] != "enabled" or bool(we.get("_connect")) != connect:
                continue
            if "*" in we["enabled_events"] or event["type"] in we["enabled_events"]:
                out.append((we["url"], we["_secret"]))
        return out

    def redeliver(self, event_id: str) -> int:
        event = self.store.get(event_id, "event", None)
        targets = self._targets(event)
        self._enqueue([_Job(event_id, url, secret) for url, secret in targets])
        return len(targets)

    # -- delivery control --------------------------------------------------------------------------------------
    def hold(self) -> None:
        with self._cond:
            self._holding = True

    def release(self, reverse: bool = False) -> int:
        with self._cond:
            jobs = list(reversed(self._held)) if reverse else list(self._held)
            self._held.clear()
            self._holding = False
            now = time.monotonic()
            for job in jobs:
                job.due = now
            self._queue.extend(jobs)
            self._cond.notify_all()
            return len(jobs)

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()
            self._held.clear()
            self._holding = False
            self.deliveries.clear()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or in flight (held jobs excepted); for tests."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._inflight:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _enqueue(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        with self._cond:
            (self._held if self._holding else self._queue).extend(jobs)
            self._cond.notify_all()

    # -- thread ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stripe-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                job = None
                while not self._stop:
                    now = time.monotonic()
                    due = [j for j in self._queue if j.due <= now]
                    if due:
                        job = due[0]
                        self._queue.remove(job)
                        self._inflight += 1
                        break
                    wait = min((j.due for j in self._queue), default=now + 0.5) - now
                    self._cond.wait(max(0.01, min(wait, 0.5)))
                if self._stop:
                    return
            assert job is not None
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._inflight -= 1
                    self._cond.notify_all()

    def _attempt(self, job: _Job) -> None:
        with self.store.lock:
            event = self.store.objects.get(job.event_id)
            payload = json.dumps(render(event), indent=2) if event else None
        if payload is None:  # reset while queued
            return
        header = sign(payload, job.secret)
        status: int | None = None
        error: str | None = None
        req = urllib.request.Request(  # noqa: S310 - scheme checked above
            job.url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            if not job.url.startswith(("http://", "https://")):
                raise ValueError(f"webhook URL must be http(s): {job.url}")
            with urllib.request.urlopen(req, timeout=self.config.timeout) as resp:  # noqa: S310
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except Exception as exc:  # noqa: BLE001 - connection refused, timeout: recorded like Stripe's dashboard does
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        record = {
            "event": job.event_id,
            "type": event["type"] if event else None,
            "account": event.get("account") if event else None,
            "url": job.url,
            "attempt": job.attempt,
            "status": status,
            "error": error,
            "succeeded": ok,
            "at": time.time(),
        }
        with self._cond:
            self.deliveries.append(record)
        if ok or job.attempt >= self.config.max_attempts:
            with self.store.lock:
                if event and event.get("pending_webhooks", 0) > 0:
                    event["pending_webhooks"] -= 1
            return
        job.due = time.monotonic() + self.config.retry_base * (2 ** (job.attempt - 1))
        job.attempt += 1
        self._enqueue([job])
