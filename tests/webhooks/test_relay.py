"""The intake's task relay on a real Redis: batches, broker refusals, exit and fork.

Each test uses its own `TaskRelay` around the real `broker.send` (only the process-wide one is
started by the intake), so what it sends can be counted without patching anything it calls.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.test import Client

from marketplace.webhooks import broker, services
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.relay import TaskRelay
from tests.webhooks.broker import PrivateRedis, wait_for
from tests.webhooks.conftest import PLATFORM_URL, make_event, signed
from tests.webhooks.handlers import EFFECT

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("handlers")]

ROOT = Path(__file__).resolve().parents[2]
TASK = "webhooks.process_events"


class CountingRelay(TaskRelay):
    """A relay that records the size of every batch it hands to `broker.send`."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        super().__init__(self._send_and_count)

    def _send_and_count(self, event_ids: Sequence[str]) -> bool:
        self.batches.append(len(event_ids))
        return broker.send(event_ids)


def test_ids_submitted_together_reach_the_broker_as_tasks_in_few_batches(redis_broker: PrivateRedis) -> None:
    relay = CountingRelay()
    ids = [f"evt_relay_{n}" for n in range(50)]
    for event_id in ids:
        relay.submit(event_id)
    wait_for(lambda: queued_ids(redis_broker) == ids, 10, lambda: f"queued: {redis_broker.queued_tasks()}")
    assert sum(relay.batches) == 50
    assert len(relay.batches) < 10, relay.batches  # 50 ids within one linger: a batch or a few, not 50
    # Worker messages of at most WEBHOOK_TASK_BATCH (20) ids: at least 3 for 50, far fewer than 50.
    messages = redis_broker.queued_tasks()
    assert {name for name, _ in messages} == {TASK}
    assert all(len(args[0]) <= 20 for _, args in messages), messages
    assert 3 <= len(messages) < 10, messages


def queued_ids(redis_broker: PrivateRedis) -> list[object]:
    """The event ids of every queued `process_events` message, in queue order."""
    return [event_id for _, args in redis_broker.queued_tasks() for event_id in args[0]]  # type: ignore[attr-defined]


def test_a_broker_refusal_is_logged_and_raises_nothing(
    redis_broker: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    relay = CountingRelay()
    redis_broker.stop()
    with caplog.at_level(logging.WARNING, logger="marketplace.webhooks"):
        relay.submit("evt_refused_1")
        relay.submit("evt_refused_2")
        wait_for(lambda: "stored but not enqueued" in caplog.text, 10, "the refusal was not logged")
    assert "2 webhook events stored but not enqueued (broker unavailable); the sweeper will" in caplog.text
    assert relay.batches == [2]
    redis_broker.start()
    relay.submit("evt_after_the_outage")  # the dropped connection is replaced
    wait_for(
        lambda: redis_broker.queued_tasks() == [(TASK, [["evt_after_the_outage"]])], 10, "nothing after the outage"
    )


@pytest.mark.django_db(transaction=True)
def test_the_intake_answers_before_the_relay_publishes_and_the_task_follows(redis_broker: PrivateRedis) -> None:
    event = make_event(EFFECT)
    body, header = signed(event)
    response = Client().post(
        PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get(pk=event["id"]).status == "pending"
    wait_for(lambda: (TASK, [[event["id"]]]) in redis_broker.queued_tasks(), 10, "the relay never sent the task")


def _submit_in_child(event_id: str, port: int) -> None:
    from marketplace.webhooks.relay import relay

    relay.submit(event_id)
    client = redis.Redis(port=port)
    wait_for(lambda: client.llen("celery") == 2, 10, "the child's relay thread never sent")
    os._exit(0)  # as a forked worker ends: no interpreter exit, so no flush at exit


def test_a_forked_child_starts_its_own_relay_thread(redis_broker: PrivateRedis) -> None:
    from marketplace.webhooks.relay import relay

    relay.submit("evt_parent")  # the parent's thread is running before the fork
    wait_for(lambda: (TASK, [["evt_parent"]]) in redis_broker.queued_tasks(), 10, "the parent's relay never sent")
    child = multiprocessing.get_context("fork").Process(target=_submit_in_child, args=("evt_child", redis_broker.port))
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert redis_broker.queued_tasks() == [(TASK, [["evt_parent"]]), (TASK, [["evt_child"]])]


def test_ids_still_in_memory_are_sent_when_the_process_exits(redis_broker: PrivateRedis) -> None:
    # A linger far longer than the process lives: only the flush at exit can send the id.
    script = "import django; django.setup(); from marketplace.webhooks.relay import relay; relay.submit('evt_exit')"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.webhooks.worker_settings",  # tasks sent to the broker, not eager
        "CELERY_BROKER_URL": redis_broker.url,
        "WEBHOOK_RELAY_LINGER_SECONDS": "60",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert redis_broker.queued_tasks() == [(TASK, [["evt_exit"]])]


@pytest.mark.django_db(transaction=True)
def test_events_stored_outside_the_intake_are_sent_at_once_not_through_the_relay(redis_broker: PrivateRedis) -> None:
    # The catch-up job stores events inside Celery's worker processes, which end without the
    # interpreter's exit: nothing of theirs may wait in memory.
    event = make_event(EFFECT)
    services.webhook_event_store(payload=event, source="platform")
    assert redis_broker.queued_tasks() == [(TASK, [[event["id"]]])]


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_sends_what_it_finds_in_one_batch_once_the_broker_is_back(redis_broker: PrivateRedis) -> None:
    redis_broker.stop()
    events = [make_event(EFFECT) for _ in range(3)]
    for event in events:
        services.webhook_event_store(payload=event, source="platform")  # refused: stays pending
    assert services.webhook_events_sweep(older_than=timedelta(0)) == 0  # still down: nothing claimed as sent
    redis_broker.start()
    assert services.webhook_events_sweep(older_than=timedelta(0)) == 3
    assert redis_broker.queued_tasks() == [(TASK, [[e["id"] for e in events]])]  # one message
