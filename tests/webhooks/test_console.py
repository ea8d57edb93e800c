"""The event log in the admin console: platform admins filter it, read an event and replay it."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from marketplace.webhooks import services
from marketplace.webhooks.models import WebhookEvent
from tests.e2e.browser import log_in
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


def test_the_status_links_keep_a_search_with_ampersands_and_hashes_intact(admin_client: Client) -> None:
    page = admin_client.get("/console/events/", {"q": "a&status=dead#x", "type": EFFECT}).content.decode()
    # Encoded, a searched "&" or "#" stays part of the search instead of becoming a new parameter or a fragment.
    assert f'href="?type={EFFECT}&amp;q=a%26status%3Ddead%23x"' in page


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


def left_pending(event_type: str, *, minutes_ago: int) -> WebhookEvent:
    """The row of an event whose processing never ran (a lost task), received `minutes_ago`."""
    payload = make_event(event_type)
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return WebhookEvent.objects.create(
        id=payload["id"],
        type=payload["type"],
        source="platform",
        created=payload["created"],
        payload=payload,
        received_at=when,
        updated_at=when,
    )


def test_a_pending_event_older_than_the_sweep_delay_is_shown_as_stuck(admin_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 300
    stuck = left_pending(EFFECT, minutes_ago=13)
    fresh = left_pending(EFFECT, minutes_ago=1)
    page = html.unescape(admin_client.get("/console/events/").content.decode())
    assert "1 pending event</a> stuck for more than 5\xa0minutes." in page
    rows = [row.split("</tr>")[0] for row in page.split('data-testid="event-row"')[1:]]
    stuck_row, fresh_row = (next(row for row in rows if event.pk in row) for event in (stuck, fresh))
    assert "Pending" in stuck_row and "Stuck since" in stuck_row and "(13\xa0minutes)" in stuck_row
    assert "Pending" in fresh_row and "Stuck since" not in fresh_row
    detail = html.unescape(admin_client.get(f"/console/events/{stuck.pk}/").content.decode())
    assert "stuck since" in detail and "Replay this event" in detail
    detail = html.unescape(admin_client.get(f"/console/events/{fresh.pk}/").content.decode())
    assert "stuck since" not in detail and "Replay this event" in detail  # pending: replayable too


@pytest.mark.django_db(transaction=True)  # real commits: the eager task runs on commit, as in the demo
def test_an_admin_replays_a_stuck_pending_event(admin_client: Client) -> None:
    stuck = left_pending(EFFECT, minutes_ago=13)
    response = admin_client.post(f"/console/events/{stuck.pk}/replay/", follow=True)
    page = response.content.decode()
    assert "Replayed: the event was processed." in page
    stuck.refresh_from_db()
    assert stuck.status == "processed" and stuck.attempts == 1 and effects(stuck.pk) == 1
    assert "stuck since" not in page
    assert "stuck for more than" not in admin_client.get("/console/events/").content.decode()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_an_admin_finds_the_stuck_event_and_replays_it(live_server: Any, page: Page) -> None:
    stuck = left_pending(EFFECT, minutes_ago=13)
    left_pending(EFFECT, minutes_ago=0)  # just received: pending, not stuck
    admin = make_platform_admin()
    log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/console/events/")
    expect(page.get_by_test_id("stuck-count")).to_contain_text("1 pending event stuck for more than 5")
    expect(page.get_by_test_id("stuck")).to_have_count(1)
    page.get_by_test_id("stuck-count").get_by_role("link").click()
    expect(page.get_by_test_id("event-row")).to_have_count(2)
    page.get_by_test_id("event-row").filter(has=page.get_by_test_id("stuck")).get_by_role("link").click()
    expect(page.get_by_test_id("event-status")).to_have_text("Pending")
    expect(page.get_by_test_id("stuck")).to_contain_text("stuck since")
    page.get_by_test_id("replay").click()
    expect(page.get_by_text("Replayed: the event was processed.")).to_be_visible()
    expect(page.get_by_test_id("event-status")).to_have_text("Processed")
    expect(page.get_by_test_id("event-attempts")).to_have_text("1")
    assert effects(stuck.pk) == 1


def stored_earlier(event_id: str) -> WebhookEvent:
    """A row as the inbox kept it before it checked ids (a newline in one was let in then)."""
    payload = make_event(EFFECT, event_id=event_id)
    return WebhookEvent.objects.create(
        id=event_id, type=EFFECT, source="platform", created=payload["created"], payload=payload
    )


ODD_IDS = ["evt_a/b", "evt/../x", "..", ".", "evt?x=1#y", "evt%41", "evt with space", "évt_ü", "~evt", "evt\nline"]


@pytest.mark.parametrize("event_id", ODD_IDS)
def test_an_event_stored_with_odd_characters_in_its_id_opens_and_replays(admin_client: Client, event_id: str) -> None:
    """A slash in an id made the whole log a 500 (no URL for its link); `..` or `?` gave links that a
    browser resolves elsewhere. Every stored id now has a link to its own page, and no other."""
    stored_earlier(event_id)
    page = admin_client.get("/console/events/")
    assert page.status_code == 200
    links = [html.unescape(a.split('"')[0]) for a in page.content.decode().split('href="/console/events/')[1:]]
    (link,) = links
    assert "/" not in link.rstrip("/") and "." not in link and "?" not in link and "%" not in link
    detail = admin_client.get(f"/console/events/{link}")
    assert detail.status_code == 200 and html.escape(event_id) in detail.content.decode()
    replayed = admin_client.post(f"/console/events/{link}replay/")
    assert replayed.status_code == 302 and replayed["Location"] == f"/console/events/{link}"
    assert "Replayed" in admin_client.get(replayed["Location"]).content.decode()


@pytest.mark.parametrize("path", ["~/", "~!!/", "~ZXZ0/", "evt.x/", "~Li4/", "..%2F/", "~Li4=/", "~YQBi/"])
def test_an_event_address_that_names_no_event_is_a_404(admin_client: Client, path: str) -> None:
    """`~Li4` is the encoding of "..": it opens the event with that id, never a path; `~YQBi` is
    "a\\x00b", an id no row holds (and a 500 from Postgres when looked up)."""
    assert admin_client.get(f"/console/events/{path}").status_code == 404


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("event_id", ["evt/../x", ".."])
def test_in_the_browser_an_event_with_a_dot_dot_id_opens_from_the_log(
    live_server: Any, page: Page, event_id: str
) -> None:
    """A browser resolves `..` in a link before asking: the old link led to another page."""
    stored_earlier(event_id)
    log_in(page, live_server.url, make_platform_admin().email)
    page.goto(f"{live_server.url}/console/events/")
    page.get_by_test_id("event-row").get_by_role("link").click()
    expect(page.get_by_test_id("event-status")).to_have_text("Pending")
    expect(page.get_by_text(event_id, exact=True).first).to_be_visible()
    page.get_by_test_id("replay").click()
    expect(page.get_by_text("Replayed: the event was processed.")).to_be_visible()
    expect(page.get_by_test_id("event-status")).to_have_text("Processed")
