"""Processing: handlers run once per event, their writes and the processed mark commit together,
failures retry with backoff and end dead, admins replay, state never moves backwards."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from marketplace.webhooks import broker, registry, services
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.tasks import process_event
from tests.webhooks.conftest import PLATFORM_URL, make_event, signed
from tests.webhooks.handlers import ALWAYS_FAIL, EFFECT, FAIL_FIRST, effects

pytestmark = pytest.mark.usefixtures("handlers")


def store(event: dict, source: str = "platform") -> WebhookEvent:  # type: ignore[type-arg]
    services.webhook_event_store(payload=event, source=source)
    return WebhookEvent.objects.get(pk=event["id"])


@pytest.fixture(autouse=True)
def _fast_retries(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 3


def test_the_same_event_posted_ten_times_concurrently_makes_one_row_and_one_effect(live_server) -> None:  # type: ignore[no-untyped-def]
    event = make_event(EFFECT)
    body, header = signed(event)
    target = urlsplit(live_server.url)

    def deliver(_: int) -> tuple[int, dict]:  # type: ignore[type-arg]
        conn = HTTPConnection(target.hostname, target.port, timeout=30)
        conn.request(
            "POST", PLATFORM_URL, body=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(deliver, range(10)))
    assert [status for status, _ in results] == [200] * 10
    assert sum(not answer["duplicate"] for _, answer in results) == 1
    assert WebhookEvent.objects.filter(pk=event["id"]).count() == 1
    assert WebhookEvent.objects.get(pk=event["id"]).status == "processed"
    assert effects(event["id"]) == 1


@pytest.mark.django_db
def test_a_failed_first_attempt_is_retried_and_the_effect_happens_once(django_capture_on_commit_callbacks) -> None:
    event = make_event(FAIL_FIRST)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_store(payload=event, source="platform")
    row = WebhookEvent.objects.get(pk=event["id"])
    assert row.status == "processed"
    assert row.attempts == 2
    assert "first attempt fails on purpose" in row.last_error
    assert effects(event["id"]) == 1  # the first attempt's write was rolled back with its failure


@pytest.mark.django_db
def test_a_failure_is_recorded_with_its_error_and_next_attempt() -> None:
    row = store(make_event(FAIL_FIRST))
    result = services.webhook_event_process(event_id=row.pk)
    row.refresh_from_db()
    assert (result.status, row.status, row.attempts) == ("failed", "failed", 1)
    assert result.retry_in is not None and row.next_attempt_at is not None
    assert "RuntimeError: first attempt fails on purpose" in row.last_error
    assert effects(row.pk) == 0


def test_backoff_grows_exponentially_and_is_capped(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600
    delays = [services.retry_delay(n) for n in (1, 2, 3, 4, 20)]
    assert 8 <= delays[0] <= 12 and 16 <= delays[1] <= 24 and 32 <= delays[2] <= 48 and 64 <= delays[3] <= 96
    assert delays[4] <= 3600 * 1.2


@pytest.mark.django_db
def test_after_the_last_attempt_the_event_is_dead_and_a_replay_processes_it(django_capture_on_commit_callbacks) -> None:
    event = make_event(ALWAYS_FAIL)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_store(payload=event, source="platform")
    row = WebhookEvent.objects.get(pk=event["id"])
    assert (row.status, row.attempts) == ("dead", 3)
    assert effects(row.pk) == 0
    # The admin fixes the cause (here: the handler) and replays.
    fixed = {ALWAYS_FAIL: [registry.handlers_for(EFFECT)[0]]}
    with registry.override(fixed), django_capture_on_commit_callbacks(execute=True):
        call_command("stripe_events", "replay", "--id", row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("processed", 1)
    assert effects(row.pk) == 1


@pytest.mark.django_db
def test_replay_by_type_and_failed(django_capture_on_commit_callbacks, capsys) -> None:  # type: ignore[no-untyped-def]
    done = store(make_event(EFFECT))
    services.webhook_event_process(event_id=done.pk)
    dead = store(make_event(ALWAYS_FAIL))
    for _ in range(3):
        services.webhook_event_process(event_id=dead.pk)
    assert WebhookEvent.objects.get(pk=dead.pk).status == "dead"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("stripe_events", "replay", "--type", EFFECT)
    assert effects(done.pk) == 2  # a processed event replayed runs its handler again
    with django_capture_on_commit_callbacks(execute=True):
        call_command("stripe_events", "replay", "--failed")
    out = capsys.readouterr().out
    assert f"replayed {dead.pk}" in out and f"replayed {done.pk}" in out
    assert out.count("\n1 event replayed\n") == 2 and "events" not in out  # --type, then --failed: one each
    assert WebhookEvent.objects.get(pk=dead.pk).status == "dead"  # still failing: dead again after 3 more


@pytest.mark.django_db
def test_a_processed_event_delivered_to_a_worker_again_does_nothing() -> None:
    row = store(make_event(EFFECT))
    assert process_event.apply(args=(row.pk,)).get() == "processed"
    assert process_event.apply(args=(row.pk,)).get() == "processed"
    assert effects(row.pk) == 1
    assert WebhookEvent.objects.get(pk=row.pk).attempts == 1


@pytest.mark.django_db
def test_the_sweeper_re_enqueues_events_left_pending(django_capture_on_commit_callbacks) -> None:
    stuck = store(make_event(EFFECT))  # stored, but its task never ran (lost message)
    fresh = store(make_event(EFFECT))
    WebhookEvent.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    assert services.webhook_events_sweep(older_than=timedelta(minutes=5)) == 1  # eager: runs now
    assert WebhookEvent.objects.get(pk=stuck.pk).status == "processed"
    assert WebhookEvent.objects.get(pk=fresh.pk).status == "pending"


@pytest.mark.django_db
def test_with_eager_tasks_an_event_the_database_refuses_stays_pending_and_the_rest_of_the_batch_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The demo's "Pending, 0 attempts, no error": the database failed under the processing (there,
    a locked SQLite), the error escaped the task, and it was logged as a broker outage while the
    rest of the batch was dropped. Here the database refuses the processed mark (its attempts
    counter is at the column's limit): that event stays pending for the sweeper, the next one runs."""
    refused, fine = store(make_event(EFFECT)), store(make_event(EFFECT))  # pending: on_commit never ran
    WebhookEvent.objects.filter(pk=refused.pk).update(attempts=2**31 - 1)  # +1 overflows Postgres' integer
    assert broker.send([refused.pk, fine.pk]) is False
    assert WebhookEvent.objects.get(pk=fine.pk).status == "processed" and effects(fine.pk) == 1
    refused.refresh_from_db()
    assert refused.status == "pending" and refused.attempts == 2**31 - 1 and effects(refused.pk) == 0
    assert f"webhook events stored but not processed; the sweeper will retry: {refused.pk}" in caplog.text
    assert "broker unavailable" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_store_inside_a_rolled_back_transaction_leaves_nothing_and_enqueues_nothing() -> None:
    from django.db import transaction

    event = make_event(EFFECT)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.webhook_event_store(payload=event, source="platform")
        raise RuntimeError
    assert not WebhookEvent.objects.filter(pk=event["id"]).exists()
    assert effects(event["id"]) == 0
    assert connection.in_atomic_block is False
