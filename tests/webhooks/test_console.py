"""The event log in the admin console: platform admins filter it, read an event and replay it."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent
from tests.factories import UserFactory, make_platform_admin
from tests.webhooks.conftest import make_event
from tests.webhooks.handlers import ALWAYS_FAIL, EFFECT, effects

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("handlers")]


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(make_platform_admin())
    return client


def stored(event_type: str, **kwargs: object) -> WebhookEvent:
    event = make_event(event_type, **kwargs)  # type: ignore[arg-type]
    services.webhook_event_store(payload=event, source="connect" if kwargs.get("account") else "platform")
    return WebhookEvent.objects.get(pk=event["id"])


def test_only_platform_admins_see_the_event_log(client: Client) -> None:
    assert client.get("/console/events/").status_code == 302  # to the login page
    client.force_login(UserFactory())
    assert client.get("/console/events/").status_code == 404


def test_the_log_shows_type_account_status_attempts_and_last_error(
    admin_client: Client,
    settings,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    dead = stored(ALWAYS_FAIL)
    services.webhook_event_process(event_id=dead.pk)
    done = stored(EFFECT)
    services.webhook_event_process(event_id=done.pk)
    for _ in range(30):
        stored(EFFECT)
    ignored = stored(EFFECT, account="acct_stranger")
    with django_assert_max_num_queries(8):
        page = admin_client.get("/console/events/").content.decode()
    assert ALWAYS_FAIL in page and "Dead" in page and "this handler always fails" in page
    assert "acct_stranger" in page and "unknown account acct_stranger" in page
    assert "All (33)" in page and "Dead (1)" in page and "Processed (1)" in page and "Pending (30)" in page
    assert ignored.pk in page


def test_filters_by_status_type_account_and_id(admin_client: Client) -> None:
    a = stored(EFFECT)
    b = stored(ALWAYS_FAIL, account="acct_x")
    page = admin_client.get("/console/events/", {"status": "ignored"}).content.decode()
    assert b.pk in page and a.pk not in page
    page = admin_client.get("/console/events/", {"type": EFFECT}).content.decode()
    assert a.pk in page and b.pk not in page
    page = admin_client.get("/console/events/", {"account": "acct_x"}).content.decode()
    assert b.pk in page and a.pk not in page
    page = admin_client.get("/console/events/", {"q": a.pk}).content.decode()
    assert a.pk in page and b.pk not in page


def test_an_admin_replays_a_dead_event_from_its_page(
    admin_client: Client,
    settings,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    dead = stored(ALWAYS_FAIL)
    services.webhook_event_process(event_id=dead.pk)
    page = html.unescape(admin_client.get(f"/console/events/{dead.pk}/").content.decode())
    assert "Replay this event" in page and "this handler always fails" in page and '"type": "test_helpers' in page
    from marketplace.webhooks import registry
    from tests.webhooks.handlers import record_effect

    with registry.override({ALWAYS_FAIL: [record_effect]}), django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/console/events/{dead.pk}/replay/", follow=True)
    assert "Replayed" in response.content.decode()
    dead.refresh_from_db()
    assert dead.status == "processed" and effects(dead.pk) == 1


def test_a_pending_event_cannot_be_replayed(admin_client: Client) -> None:
    pending = stored(EFFECT)
    response = admin_client.post(f"/console/events/{pending.pk}/replay/", follow=True)
    assert "cannot be replayed" in response.content.decode()
    assert "Replay this event" not in admin_client.get(f"/console/events/{pending.pk}/").content.decode()
