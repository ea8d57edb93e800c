"""Handlers used by the webhook tests, registered on Stripe's test-clock event types (which no app of
the marketplace handles), so a worker subprocess can load them with WEBHOOK_HANDLER_MODULES.

Their effect is a row in a real table (auth's Group, named after the event), written inside the
handler's transaction: counting the rows counts the effects that committed.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from django.contrib.auth.models import Group

from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import Handler, webhook_handler

EFFECT = "test_helpers.test_clock.created"
FAIL_FIRST = "test_helpers.test_clock.ready"
BLOCK = "test_helpers.test_clock.advancing"
ALWAYS_FAIL = "test_helpers.test_clock.internal_failure"


def effects(event_id: str) -> int:
    return Group.objects.filter(name__startswith=f"effect:{event_id}:").count()


def _effect(event: WebhookEvent) -> None:
    Group.objects.create(name=f"effect:{event.id}:{uuid.uuid4().hex[:12]}")


@webhook_handler(EFFECT)
def record_effect(event: WebhookEvent) -> None:
    _effect(event)


@webhook_handler(FAIL_FIRST)
def fail_first_attempt(event: WebhookEvent) -> None:
    _effect(event)  # written, then rolled back with the failure
    if event.attempts == 1:
        raise RuntimeError("first attempt fails on purpose")


@webhook_handler(ALWAYS_FAIL)
def always_fail(event: WebhookEvent) -> None:
    _effect(event)
    raise RuntimeError("this handler always fails")


@webhook_handler(BLOCK)
def block_until_released(event: WebhookEvent) -> None:
    """Write `<dir>/started-<attempts>`, then wait for `<dir>/release` (the SIGKILL test kills us here)."""
    folder = Path(event.data_object["metadata"]["dir"])
    _effect(event)
    (folder / f"started-{event.attempts}").write_text(event.id)
    deadline = time.monotonic() + 60
    while not (folder / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.05)


TEST_HANDLERS: dict[str, list[Handler]] = {
    EFFECT: [record_effect],
    FAIL_FIRST: [fail_first_attempt],
    ALWAYS_FAIL: [always_fail],
    BLOCK: [block_until_released],
    "account.updated": [record_effect],
}
