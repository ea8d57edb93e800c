"""The asynchronous path with real parts: a Celery worker on a real Redis, committed rows in Postgres.

Every test here uses a private redis-server on its own port, so no other test run's worker can
take our messages (or we theirs), and the Redis-down test can stop and start it at will.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.test import Client

from config.celery import app as celery_app
from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.relay import relay
from marketplace.webhooks.tasks import process_events
from tests.webhooks.broker import PrivateRedis, free_port, reset_broker_pools, spawn_worker, wait_for
from tests.webhooks.conftest import PLATFORM_URL, make_event, signed
from tests.webhooks.handlers import BLOCK, EFFECT, FAIL_FIRST, effects

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.usefixtures("handlers")]


@contextmanager
def thread_worker() -> Iterator[None]:
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        yield


def status_of(event_id: str) -> str:
    return WebhookEvent.objects.get(pk=event_id).status


def stored_while_the_broker_is_down(redis_broker: PrivateRedis, events: list[dict[str, Any]]) -> list[str]:
    """Store `events` with the broker stopped (each stays pending, its task refused); their ids.
    The broker is left stopped: `broker_back` starts it again."""
    redis_broker.stop()
    for event in events:
        services.webhook_event_store(payload=event, source="platform")
    return [event["id"] for event in events]


def broker_back(redis_broker: PrivateRedis) -> None:
    redis_broker.start()
    reset_broker_pools()


@pytest.mark.django_db(transaction=True)
def test_an_event_posted_is_processed_by_the_worker_after_the_response(redis_broker: PrivateRedis) -> None:
    event = make_event(EFFECT)
    body, header = signed(event)
    with thread_worker():
        response = Client().post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        )
        assert response.status_code == 200
        wait_for(lambda: status_of(event["id"]) == "processed", 20, "the worker did not process the event")
    assert effects(event["id"]) == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_event_in_a_batch_is_retried_alone_and_the_rest_of_its_batch_goes_on(
    redis_broker: PrivateRedis, settings: Any
) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.2
    # Stored, not sent: then sent together, as the relay or the sweeper does.
    ids = stored_while_the_broker_is_down(
        redis_broker, [make_event(EFFECT), make_event(FAIL_FIRST), make_event(EFFECT)]
    )
    broker_back(redis_broker)
    assert services.enqueue_processing(*ids)
    assert redis_broker.queued_tasks() == [("webhooks.process_events", [ids])]  # one message
    with thread_worker():
        wait_for(lambda: status_of(ids[1]) == "processed", 30, "the failed event was never retried")
    rows = {row.id: row for row in WebhookEvent.objects.filter(pk__in=ids)}
    assert [rows[i].status for i in ids] == ["processed"] * 3
    assert [rows[i].attempts for i in ids] == [1, 2, 1]
    assert [effects(i) for i in ids] == [1, 1, 1]  # the failed run's effect was rolled back
    # The third did not wait for the second's retry: it ran in the batch's first pass.
    assert rows[ids[2]].processed_at < rows[ids[1]].processed_at


@pytest.mark.django_db(transaction=True)
def test_a_retry_the_broker_refuses_is_logged_and_left_to_the_sweeper_and_the_batch_goes_on(
    redis_broker: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    ids = stored_while_the_broker_is_down(redis_broker, [make_event(FAIL_FIRST), make_event(EFFECT)])
    with caplog.at_level(logging.WARNING, logger="marketplace.webhooks"):
        assert process_events(ids) == ["failed", "processed"]  # the task's body, in this process
    assert "1 webhook event retries stored but not enqueued (broker unavailable)" in caplog.text
    failed = WebhookEvent.objects.get(pk=ids[0])
    assert failed.next_attempt_at is not None and failed.attempts == 1
    assert effects(ids[1]) == 1
    # Once the retry is overdue the sweeper sends it, as any event whose task was lost.
    WebhookEvent.objects.filter(pk=ids[0]).update(next_attempt_at=failed.next_attempt_at - timedelta(hours=1))
    broker_back(redis_broker)
    assert services.webhook_events_sweep() == 1
    assert redis_broker.queued_tasks() == [("webhooks.process_events", [[ids[0]]])]


@pytest.mark.django_db(transaction=True)
def test_a_batch_past_its_time_sends_the_events_it_has_not_started_as_a_new_message(
    redis_broker: PrivateRedis, settings: Any
) -> None:
    settings.WEBHOOK_BATCH_SECONDS = 0  # every event after the first is past the batch's time
    ids = stored_while_the_broker_is_down(redis_broker, [make_event(EFFECT) for _ in range(3)])
    broker_back(redis_broker)
    assert process_events(ids) == ["processed"]  # the task's body, in this process
    assert [status_of(i) for i in ids] == ["processed", "pending", "pending"]
    assert redis_broker.queued_tasks() == [("webhooks.process_events", [ids[1:]])]


@pytest.mark.django_db(transaction=True)
def test_events_arriving_while_redis_is_down_are_stored_and_processed_once_it_is_back(
    redis_broker: PrivateRedis,
) -> None:
    client = Client()
    before = make_event(EFFECT)  # sent while Redis is up: the publishing connection is open and pooled
    body, header = signed(before)
    assert (
        client.post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        ).status_code
        == 200
    )
    redis_broker.stop()
    events = [make_event(EFFECT) for _ in range(3)]
    for event in events:
        body, header = signed(event)
        started = time.perf_counter()
        response = client.post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        )
        assert response.status_code == 200, response.content
        assert time.perf_counter() - started < 3, "a broker outage must not stall intake"
    assert [status_of(e["id"]) for e in events] == ["pending"] * 3
    # The intake's relay publishes from its own thread: wait until it has tried every id while Redis
    # is still down. Under load a batch it had not tried yet went out once Redis was back, was
    # processed, and the sweeper below found fewer rows to send.
    relay.flush()
    broker_back(redis_broker)
    with thread_worker():
        # `before` is lost too: its message lived in the Redis that stopped without saving.
        assert services.webhook_events_sweep(older_than=timedelta(0)) == 4
        wait_for(
            lambda: all(status_of(e["id"]) == "processed" for e in [before, *events]),
            20,
            lambda: (
                "not processed: "
                + repr(list(WebhookEvent.objects.values_list("id", "status", "attempts", "last_error")))
            ),
        )
    assert [effects(e["id"]) for e in [before, *events]] == [1, 1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_leaves_the_event_to_be_processed_once_after_redelivery(
    redis_broker: PrivateRedis, tmp_path: Path
) -> None:
    event = make_event(
        BLOCK, obj={"id": "clock_block", "object": "test_helpers.test_clock", "metadata": {"dir": str(tmp_path)}}
    )
    services.webhook_event_store(payload=event, source="platform")  # committed, task sent to Redis
    first = spawn_worker(redis_broker, tmp_path / "worker1.log")
    try:
        wait_for(lambda: (tmp_path / "started-1").exists(), 60, "the handler never started")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    # The killed worker's transaction died with its connection: nothing of it remains.
    wait_for(lambda: status_of(event["id"]) == "pending" and effects(event["id"]) == 0, 10, "kill left effects")
    (tmp_path / "started-1").unlink()
    (tmp_path / "release").write_text("go")
    second = spawn_worker(redis_broker, tmp_path / "worker2.log")
    try:
        wait_for(lambda: status_of(event["id"]) == "processed", 60, "the message was never redelivered")
    finally:
        second.terminate()
        second.wait(20)
    assert (tmp_path / "started-1").exists()  # the redelivered task ran the handler again
    assert effects(event["id"]) == 1
    assert WebhookEvent.objects.get(pk=event["id"]).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_intake_with_the_database_refusing_connections_is_a_5xx_and_never_a_2xx() -> None:
    event = make_event(EFFECT)
    body, header = signed(event)
    saved_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = free_port()  # nothing listens there
    try:
        response = Client(raise_request_exception=False).post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        )
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved_port
    assert response.status_code == 503
    assert not WebhookEvent.objects.filter(pk=event["id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_intake_with_the_connections_terminated_is_a_5xx_and_never_a_2xx() -> None:
    db = connection.settings_dict
    name = db["NAME"]
    admin = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres", autocommit=True
    )
    client = Client(raise_request_exception=False)
    warm_body, warm_header = signed(make_event(EFFECT))
    assert (
        client.post(
            PLATFORM_URL, data=warm_body, content_type="application/json", headers={"Stripe-Signature": warm_header}
        ).status_code
        == 200
    )  # a live, kept connection
    event = make_event(EFFECT)
    body, header = signed(event)
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        response = client.post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        )
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
        connection.close()
    assert response.status_code == 503
    assert not WebhookEvent.objects.filter(pk=event["id"]).exists()
    # And once the database is back, Stripe's retry of the same delivery is stored.
    assert (
        client.post(
            PLATFORM_URL, data=body, content_type="application/json", headers={"Stripe-Signature": header}
        ).status_code
        == 200
    )
