"""Input that SQLite, the demo's database, cannot take, sent to the running demo: each was a 500
there (an OverflowError, a UnicodeEncodeError) while Postgres, under the rest of the suite, said no
in its own way. Now the app refuses it first, alike on both."""

from __future__ import annotations

import json

import pytest
import requests

from stripe_sandbox.webhooks import sign
from tests.demo.conftest import Demo

HUGE = 99999999999999999999999


def test_an_id_beyond_sqlites_integers_is_a_422(demo: Demo) -> None:
    response = requests.get(f"{demo.url}/api/v1/listings", params={"seller": HUGE}, timeout=60)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "event",
    [
        {"id": "evt_demo_\ud800", "created": 1_700_000_000},
        {"id": "evt_demo_created_beyond_integers", "created": 2**70},
    ],
    ids=["lone surrogate in the id", "created beyond 64 bits"],
)
def test_a_signed_event_the_inbox_cannot_hold_is_a_400(demo: Demo, event: dict[str, object]) -> None:
    body = json.dumps({"object": "event", "type": "charge.succeeded", "livemode": False, "data": {}, **event})
    headers = {"Stripe-Signature": sign(body, "whsec_demo_platform"), "Content-Type": "application/json"}
    response = requests.post(f"{demo.url}/webhooks/stripe/", data=body.encode(), headers=headers, timeout=60)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_event"
