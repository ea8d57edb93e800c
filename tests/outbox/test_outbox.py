"""The outbox: a follow-up exists exactly when its change committed, is delivered once whoever
delivers it, is retried with backoff when it fails, and outlives a broker outage."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from marketplace.outbox import services
from marketplace.outbox.models import OutboxMessage
from tests.outbox.follow_ups import ALWAYS_FAIL, HOLD, SEND, held, release


@pytest.mark.django_db
def test_the_follow_up_of_a_rolled_back_change_is_neither_written_nor_sent(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.outbox_add(SEND, "rolled-back@example.com")
        raise RuntimeError("the change fails")
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_follow_up_is_sent_after_the_commit_and_marked_delivered(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = services.outbox_add(SEND, "buyer@example.com")
        assert mail.outbox == []  # nothing leaves before the commit
    assert [m.to for m in mail.outbox] == [["buyer@example.com"]]
    assert message is not None
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 1) and message.delivered_at is not None
    assert services.outbox_deliver(message_id=message.pk) == "skipped"  # a second task: nothing
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_same_key_is_written_once(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = services.outbox_add(SEND, "once@example.com", key="welcome:1")
        second = services.outbox_add(SEND, "once@example.com", key="welcome:1")
    assert first is not None and second is None
    assert OutboxMessage.objects.count() == 1 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_unknown_follow_up_is_refused_inside_the_change() -> None:
    with pytest.raises(LookupError):
        services.outbox_add("tests.outbox.no_such_thing", 1)


@pytest.mark.django_db
def test_a_failing_follow_up_is_retried_with_backoff_by_the_sweeper_then_dead(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    message = OutboxMessage.objects.create(name=ALWAYS_FAIL, args=["refused@example.com"])
    assert services.outbox_deliver(message_id=message.pk) == "pending"
    message.refresh_from_db()
    assert message.attempts == 1 and "the mail server refused" in message.last_error
    assert message.next_attempt_at - timezone.now() > timedelta(seconds=25)  # backoff, 30 s first
    assert services.outbox_sweep() == 0 and OutboxMessage.objects.get(pk=message.pk).attempts == 1  # not due yet
    with caplog.at_level(logging.ERROR, logger="marketplace.outbox"):
        for attempt in range(2, services.MAX_ATTEMPTS + 1):
            OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())  # time passes
            services.outbox_sweep()
            assert OutboxMessage.objects.get(pk=message.pk).attempts == attempt
    message.refresh_from_db()
    assert message.status == "dead"
    assert f"outbox {ALWAYS_FAIL} {message.pk} is dead after {services.MAX_ATTEMPTS} attempts" in caplog.text
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    services.outbox_sweep()
    assert OutboxMessage.objects.get(pk=message.pk).attempts == services.MAX_ATTEMPTS  # dead stays dead


@pytest.mark.django_db
def test_the_sweeper_leaves_a_fresh_row_to_its_own_task_then_delivers_it(settings: Any) -> None:
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    message = OutboxMessage.objects.create(name=SEND, args=["late@example.com"])  # its task was lost
    assert services.outbox_sweep() == 0 and mail.outbox == []
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=61))
    assert services.outbox_sweep() == 1
    assert [m.to for m in mail.outbox] == [["late@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_two_deliverers_at_the_same_moment_send_the_email_once(settings: Any) -> None:
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    message = OutboxMessage.objects.create(name=HOLD, args=["race@example.com"])
    held.clear()
    release.clear()
    results: list[str] = []

    def deliver() -> None:
        try:
            results.append(services.outbox_deliver(message_id=message.pk))
        finally:
            connection.close()

    first = threading.Thread(target=deliver)
    first.start()
    assert held.wait(20), "the first deliverer never ran the follow-up"
    # The first holds the row's lock: the sweeper (or a duplicate task) skips it instead of waiting.
    assert services.outbox_deliver(message_id=message.pk) == "skipped"
    assert services.outbox_sweep() == 0
    release.set()
    first.join(20)
    assert results == ["delivered"]
    assert [m.to for m in mail.outbox] == [["race@example.com"]]
