"""The control page and the control API's own errors."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import control, fetch_no_redirect, get_json, onboarded_account


def test_control_page_lists_state(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    status, _, page = fetch_no_redirect(f"{sb.url}/_sandbox/")
    assert status == 200 and "Stripe sandbox control" in page and seller in page and "account.updated" in page


def test_clock_and_reset(client: stripe.StripeClient, sb: Sandbox) -> None:
    before = get_json(sb, "/_sandbox/clock")["now"]
    after = control(sb, "clock/advance", seconds=90)["now"]
    assert after - before in (90, 91)
    client.v1.customers.create(params={"name": "gone"})
    assert control(sb, "reset") == {"reset": True}
    assert client.v1.customers.list().data == []
    assert get_json(sb, "/_sandbox/clock")["offset"] == 0


def test_control_errors_are_stripe_shaped(sb: Sandbox) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        control(sb, "disputes/dp_nope/resolve", outcome="won")
    assert exc.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as exc:
        control(sb, "clock/advance", seconds=-5)
    assert exc.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{sb.url}/nothing-here")
    assert exc.value.code == 404
