"""Webhook deliveries: signed for the SDK, routed platform vs Connect, retried, held, reordered, redelivered."""

from __future__ import annotations

import stripe

from stripe_sandbox import Sandbox

from .helpers import RETURN_URL, Receiver, control, destination_session, get_json, onboarded_account

PLATFORM_SECRET = "whsec_platform_test"
CONNECT_SECRET = "whsec_connect_test"


def _wire(sb: Sandbox, rx: Receiver) -> None:
    sb.configure_webhooks(
        webhook_url=f"{rx.url}/platform",
        webhook_secret=PLATFORM_SECRET,
        connect_webhook_url=f"{rx.url}/connect",
        connect_webhook_secret=CONNECT_SECRET,
    )


def test_signed_deliveries_routed_platform_and_connect(client: stripe.StripeClient, sb: Sandbox) -> None:
    with Receiver() as rx:
        _wire(sb, rx)
        seller = onboarded_account(client, sb)
        session = destination_session(client, seller, 10_000, 1_000)
        control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
        assert sb.wait_for_webhooks()
        platform = rx.events(PLATFORM_SECRET, "/platform")
        connect = rx.events(CONNECT_SECRET, "/connect")
    platform_types = {e.type for e in platform}
    assert {
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "transfer.created",
        "application_fee.created",
    } <= platform_types
    assert all(getattr(e, "account", None) is None for e in platform)
    assert {"account.updated", "capability.updated"} <= {e.type for e in connect}
    assert all(e.account == seller for e in connect)
    completed = next(e for e in platform if e.type == "checkout.session.completed")
    assert completed.api_version == "2026-10-28.endive" and completed.livemode is False
    assert completed.data.object.payment_status == "paid"
    assert completed.data.object.payment_intent.startswith("pi_")
    # The timestamp is wall-clock time, so the SDK's 300 s tolerance accepts it even after the clock moved.
    control(sb, "clock/advance", seconds=10 * 86400)
    evt = client.v1.events.retrieve(completed.id)
    assert evt.request.id is None  # paid by the buyer on the hosted page, not by an API request


def test_retries_on_500_and_records_attempts(client: stripe.StripeClient, sb: Sandbox) -> None:
    with Receiver(fail={"charge.succeeded": 2}) as rx:
        _wire(sb, rx)
        cus = client.v1.customers.create(params={"email": "x@example.com"})
        pi = client.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "return_url": RETURN_URL,
                "customer": cus.id,
            }
        )
        assert sb.wait_for_webhooks()
        deliveries = get_json(sb, "/_sandbox/deliveries")["data"]
    first = [d for d in deliveries if d["type"] == "charge.succeeded"]
    assert [d["status"] for d in first] == [500, 500, 200]
    assert [d["attempt"] for d in first] == [1, 2, 3]
    assert client.v1.events.list(params={"type": "charge.succeeded"}).data[0].pending_webhooks == 0
    assert pi.status == "succeeded"


def test_hold_release_reverse_and_redeliver(client: stripe.StripeClient, sb: Sandbox) -> None:
    with Receiver() as rx:
        _wire(sb, rx)
        control(sb, "deliveries/hold")
        a = client.v1.customers.create(params={"name": "a"})
        pi = client.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
        assert sb.wait_for_webhooks()  # returns at once: held deliveries are neither queued nor in flight
        assert rx.requests == []
        assert get_json(sb, "/_sandbox/deliveries")["held"] == 3
        assert control(sb, "deliveries/release", order="reverse")["released"] == 3
        assert sb.wait_for_webhooks()
        types = [e.type for e in rx.events(PLATFORM_SECRET)]
        assert types == ["payment_intent.succeeded", "charge.succeeded", "payment_intent.created"]
        evt = client.v1.events.list(params={"type": "charge.succeeded"}).data[0]
        control(sb, f"events/{evt.id}/redeliver")
        assert sb.wait_for_webhooks()
        ids = [e.id for e in rx.events(PLATFORM_SECRET)]
        assert ids.count(evt.id) == 2
        assert a.id and pi.id


def test_registered_endpoints_receive_matching_events(client: stripe.StripeClient, sb: Sandbox) -> None:
    with Receiver() as rx:
        platform_we = client.v1.webhook_endpoints.create(
            params={"url": f"{rx.url}/we", "enabled_events": ["charge.succeeded"]}
        )
        connect_we = client.v1.webhook_endpoints.create(
            params={"url": f"{rx.url}/we-connect", "enabled_events": ["*"], "connect": True}
        )
        assert platform_we.secret.startswith("whsec_") and platform_we.id.startswith("we_")
        onboarded_account(client, sb)
        client.v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
        assert sb.wait_for_webhooks()
        assert [e.type for e in rx.events(platform_we.secret, "/we")] == ["charge.succeeded"]
        assert "account.updated" in {e.type for e in rx.events(connect_we.secret, "/we-connect")}
        assert len(client.v1.webhook_endpoints.list().data) == 2
        client.v1.webhook_endpoints.delete(platform_we.id)
        assert len(client.v1.webhook_endpoints.list().data) == 1


def test_events_list_filters(client: stripe.StripeClient) -> None:
    client.v1.payment_intents.create(
        params={
            "amount": 700,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": RETURN_URL,
        }
    )
    assert {e.type for e in client.v1.events.list(params={"type": "charge.*"}).data} == {"charge.succeeded"}
    both = client.v1.events.list(params={"types": ["charge.succeeded", "payment_intent.succeeded"]}).data
    assert len(both) == 2
    created = both[0].created
    assert len(client.v1.events.list(params={"created": {"gte": created + 1}}).data) == 0
