"""Intake: only signed, fresh, well-formed events get in; every refusal is a 4xx and stores nothing."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from django.test import Client, RequestFactory

from marketplace.webhooks import views
from marketplace.webhooks.models import WebhookEvent
from tests.webhooks.conftest import CONNECT_SECRET, CONNECT_URL, PLATFORM_SECRET, PLATFORM_URL, make_event, sign, signed
from tests.webhooks.handlers import effects

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("handlers")]


def post(client: Client, body: bytes, header: str | None, url: str = PLATFORM_URL, **extra: str):  # type: ignore[no-untyped-def]
    headers = {"Stripe-Signature": header} if header is not None else {}
    return client.post(url, data=body, content_type="application/json", headers=headers, **extra)


def test_a_signed_event_is_stored_answered_and_processed(client: Client, django_capture_on_commit_callbacks) -> None:
    event = make_event()
    body, header = signed(event)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, header)
    assert response.status_code == 200
    assert response.json() == {"id": event["id"], "duplicate": False, "status": "pending"}
    row = WebhookEvent.objects.get(pk=event["id"])
    assert (row.type, row.source, row.status, row.attempts) == (event["type"], "platform", "processed", 1)
    assert row.payload == event
    assert effects(event["id"]) == 1


def test_a_duplicate_is_a_200_and_nothing_else(client: Client, django_capture_on_commit_callbacks) -> None:
    body, header = signed(make_event())
    with django_capture_on_commit_callbacks(execute=True) as first:
        assert post(client, body, header).status_code == 200
    with django_capture_on_commit_callbacks(execute=True) as second:
        response = post(client, body, header)
    assert response.status_code == 200 and response.json()["duplicate"] is True
    assert len(first) == 1 and len(second) == 0  # the duplicate enqueued nothing
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong secret", 400),
        ("tampered body", 400),
        ("missing header", 400),
        ("empty header", 400),
        ("garbled header", 400),
        ("timestamp not a number", 400),
        ("no v1 signature", 400),
        ("stale timestamp", 400),
        ("future timestamp", 400),
    ],
)
def test_refusals_are_4xx_and_store_nothing(
    client: Client, caplog: pytest.LogCaptureFixture, case: str, status: int
) -> None:
    event = make_event()
    body = json.dumps(event).encode()
    now = int(time.time())
    header: str | None = {
        "wrong secret": sign(body, "whsec_someone_else"),
        "tampered body": sign(body),
        "missing header": None,
        "empty header": "",
        "garbled header": "this is not a signature",
        "timestamp not a number": sign(body).replace(f"t={now}", "t=yesterday"),
        "no v1 signature": f"t={now}",
        "stale timestamp": sign(body, timestamp=now - 301),
        # Past the 300 s tolerance by more than the clock can tick before the view reads it (at +301 a
        # second boundary crossed between here and the check made the timestamp acceptable).
        "future timestamp": sign(body, timestamp=now + 330),
    }[case]
    if case == "tampered body":
        body = body.replace(b'"livemode": false', b'"livemode": true')
    with caplog.at_level(logging.WARNING, logger="marketplace.webhooks"):
        response = post(client, body, header, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == status
    assert response.json()["error"]["code"] == "bad_signature"
    assert not WebhookEvent.objects.exists()
    assert "203.0.113.9" in caplog.text  # refusals name the source address


def test_timestamps_within_five_minutes_either_side_are_accepted(client: Client) -> None:
    now = int(time.time())
    for skew in (-290, 290):
        body, header = signed(make_event(), timestamp=now + skew)
        assert post(client, body, header).status_code == 200
    assert WebhookEvent.objects.count() == 2


def test_rotated_secrets_old_and_new_both_valid_then_old_refused(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new", "whsec_old"]
    for secret in ("whsec_old", "whsec_new"):
        body, header = signed(make_event(), secret)
        assert post(client, body, header).status_code == 200
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new"]
    body, header = signed(make_event(), "whsec_old")
    assert post(client, body, header).status_code == 400
    assert WebhookEvent.objects.count() == 2


def test_each_endpoint_verifies_with_its_own_secrets(client: Client) -> None:
    event = make_event(account="acct_1")
    body, header = signed(event, PLATFORM_SECRET)
    assert post(client, body, header, url=CONNECT_URL).status_code == 400
    body, header = signed(make_event(), CONNECT_SECRET)
    assert post(client, body, header, url=PLATFORM_URL).status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"event"',
        b'{"id": "evt_1"}',
        b'{"id": 5, "type": "x", "created": 1, "data": {}}',
        b"\xff\xfe\x00garbage",
        # Were 500s: what the columns cannot hold (a lone surrogate, NUL), a time beyond datetime's.
        b'{"id": "evt_\\ud800", "type": "charge.succeeded", "created": 1, "data": {}}',
        b'{"id": "evt_\\u0000", "type": "charge.succeeded", "created": 1, "data": {}}',
        b'{"id": "evt_1", "type": "charge.\\u0000", "created": 1, "data": {}}',
        b'{"id": "evt_1", "type": "x", "account": "acct_\\ud800", "created": 1, "data": {}}',
        b'{"id": "evt_1", "type": "x", "api_version": "\\ud800", "created": 1, "data": {}}',
        b'{"id": "evt_1", "type": "x", "created": 1180591620717411303424, "data": {}}',
        b'{"id": "evt_1", "type": "x", "created": 253402300800, "data": {}}',
        b'{"id": "evt_1", "type": "x", "created": -1, "data": {}}',
        # Were a 503 "retry later" for ever (no database stores NaN in JSON) and a 500 (too deep to parse).
        b'{"id": "evt_1", "type": "x", "created": 1, "data": {"amount": NaN}}',
        b'{"id": "evt_1", "type": "x", "created": 1, "data": {"amount": -Infinity}}',
        b'{"id": "evt_1", "type": "x", "created": 1, "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_a_valid_signature_over_a_malformed_event_is_a_400(client: Client, body: bytes) -> None:
    response = post(client, body, sign(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"malformed_event", "bad_signature"}
    assert not WebhookEvent.objects.exists()


def test_only_post_is_allowed(client: Client) -> None:
    assert client.get(PLATFORM_URL).status_code == 405


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that counts how much the view reads."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"x" * n
        self.read_bytes += n
        return n


@pytest.mark.parametrize("size", [3 * 1024 * 1024, 20 * 1024 * 1024])
def test_oversized_bodies_are_refused_without_being_read(size: int) -> None:
    stream = CountingStream(size)
    request = RequestFactory().post(
        PLATFORM_URL, content_type="application/json", HTTP_STRIPE_SIGNATURE=f"t={int(time.time())},v1=00"
    )
    request.META["CONTENT_LENGTH"] = str(size)
    request._stream = stream  # type: ignore[attr-defined]
    started = time.perf_counter()
    response = views.stripe_webhook(request)
    assert response.status_code == 413
    assert stream.read_bytes == 0
    assert time.perf_counter() - started < 0.5
    assert not WebhookEvent.objects.exists()


def test_a_body_longer_than_it_claims_is_read_no_further_than_the_limit(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    stream = CountingStream(50_000)
    request = RequestFactory().post(PLATFORM_URL, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=0")
    request.META.pop("CONTENT_LENGTH", None)
    request._stream = stream  # type: ignore[attr-defined]
    assert views.stripe_webhook(request).status_code == 413
    assert stream.read_bytes <= 1001


def test_an_event_of_the_other_mode_is_stored_answered_and_ignored(
    client: Client, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks
) -> None:
    event = make_event(livemode=True)
    body, header = signed(event)
    with (
        caplog.at_level(logging.INFO, logger="marketplace.webhooks"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = post(client, body, header)
    assert response.status_code == 200
    row = WebhookEvent.objects.get(pk=event["id"])
    assert row.status == "ignored" and "livemode" in row.ignored_reason
    assert callbacks == [] and effects(event["id"]) == 0
    assert event["id"] in caplog.text


def test_a_connect_event_of_an_unknown_account_is_stored_and_ignored(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    event = make_event(account="acct_nobody")
    body, header = signed(event, CONNECT_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, header, url=CONNECT_URL)
    assert response.status_code == 200
    row = WebhookEvent.objects.get(pk=event["id"])
    assert (row.source, row.account, row.status) == ("connect", "acct_nobody", "ignored")
    assert row.ignored_reason == "unknown account acct_nobody"
    assert effects(event["id"]) == 0


def test_a_connect_event_of_a_known_seller_is_processed(client: Client, django_capture_on_commit_callbacks) -> None:
    from tests.webhooks.conftest import make_seller

    seller = make_seller("acct_known1")
    event = make_event(account=seller.stripe_account_id)
    body, header = signed(event, CONNECT_SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, body, header, url=CONNECT_URL).status_code == 200
    assert WebhookEvent.objects.get(pk=event["id"]).status == "processed"
    assert effects(event["id"]) == 1


def test_an_event_type_nobody_handles_is_stored_and_ignored(client: Client) -> None:
    event = make_event("customer.created")
    body, header = signed(event)
    assert post(client, body, header).status_code == 200
    row = WebhookEvent.objects.get(pk=event["id"])
    assert row.status == "ignored" and row.ignored_reason == "no handler for this event type"


@pytest.mark.parametrize("odd", ["a\u0000b", "a\ud800b"])
def test_a_signed_event_with_a_nul_or_lone_surrogate_in_its_data_is_stored_and_processed(
    client: Client, django_capture_on_commit_callbacks, odd: str
) -> None:
    """A customer's name or a metadata value with `\\u0000` in it: Postgres' jsonb refuses it, and the
    intake answered 503 "retry later", for an event that no retry could ever store (Stripe retries
    for three days, then may disable the endpoint). It is stored with U+FFFD in its place."""
    event = make_event(obj={"id": "cus_1", "object": "customer", "name": odd, "metadata": {odd: odd}})
    body, header = signed(event)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, header)
    assert response.status_code == 200
    row = WebhookEvent.objects.get(pk=event["id"])
    assert row.payload["data"]["object"]["name"] == "a\ufffdb"
    assert row.payload["data"]["object"]["metadata"] == {"a\ufffdb": "a\ufffdb"}
    assert row.status == "processed" and effects(event["id"]) == 1


@pytest.mark.parametrize("configured", [[PLATFORM_SECRET, ""], [PLATFORM_SECRET, " "], ["", PLATFORM_SECRET]])
def test_a_blank_secret_in_the_list_signs_nothing(client: Client, settings, configured: list[str]) -> None:  # type: ignore[no-untyped-def]
    """`STRIPE_WEBHOOK_SECRETS=whsec_new,whsec_old,` (a trailing comma while rotating) put "" in the
    list, and an HMAC keyed with "" is one anybody can compute: forged events got in."""
    settings.STRIPE_WEBHOOK_SECRETS = configured
    event = make_event()
    for forged_with in ("", " "):
        body, header = signed(event, forged_with)
        assert post(client, body, header).status_code == 400
    assert not WebhookEvent.objects.exists()
    body, header = signed(event, PLATFORM_SECRET)
    assert post(client, body, header).status_code == 200


def test_secrets_listed_with_spaces_after_the_commas_still_verify(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    """`whsec_new, whsec_old` kept " whsec_old", which matched nothing: during a rotation every event
    still signed with the old secret was refused."""
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_new", f" {PLATFORM_SECRET} "]
    body, header = signed(make_event(), PLATFORM_SECRET)
    assert post(client, body, header).status_code == 200


def test_only_blank_secrets_is_no_secret(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.STRIPE_WEBHOOK_SECRETS = [" "]
    body, header = signed(make_event(), " ")
    response = post(client, body, header)
    assert response.status_code == 400 and "no webhook secret is configured" in response.json()["error"]["message"]


@pytest.mark.parametrize("inside", [b'"\\u0000"', b'"x"'])
def test_a_deeply_nested_event_is_a_400_not_a_500(client: Client, inside: bytes) -> None:
    """Parsed fine (under Python's nesting limit), then read again deeper in the stack: the NUL's
    replacement at once, the event's console page (decoding the stored payload) later. A
    RecursionError, a 500; Stripe's events nest a dozen levels."""
    depth = 600
    body = (
        b'{"id": "evt_deep", "object": "event", "type": "x.y", "created": 1, "livemode": false, "data": '
        + b'{"a": ' * depth
        + inside
        + b"}" * depth
        + b"}"
    )
    response = post(client, body, sign(body))
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_event"
    assert not WebhookEvent.objects.exists()
