"""``python -m stripe_sandbox`` with ``--state``: what was created survives a restart; env vars configure it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import client_for, control, fetch_no_redirect, onboarded_account

REPO = Path(__file__).resolve().parents[2]


def _start(state: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "STRIPE_SANDBOX_PORT": "0", "STRIPE_SANDBOX_STATE": str(state)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_sandbox", "--host", "127.0.0.1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on" in line, line
    return proc, line.split("listening on ", 1)[1].split()[0]


def _client(url: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_cli", base_addresses={"api": url, "files": url, "connect": url}, max_network_retries=0
    )


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    proc, url = _start(state)
    try:
        cus = _client(url).v1.customers.create(params={"email": "keep@example.com"})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert state.exists()
    proc, url = _start(state)
    try:
        assert _client(url).v1.customers.retrieve(cus.id).email == "keep@example.com"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_embedded_state_file_and_clock(tmp_path: Path) -> None:
    state = str(tmp_path / "embedded.json")
    with Sandbox(state_file=state) as sb:
        client = client_for(sb)
        acct = client.v1.accounts.create(params={"type": "express"})
        sb.advance(3600)
        now = sb.store.now()
    with Sandbox(state_file=state) as sb:
        assert client_for(sb).v1.accounts.retrieve(acct.id).id == acct.id
        assert sb.store.now() >= now


def test_lists_after_a_restart_keep_their_order_and_scope(tmp_path: Path) -> None:
    """Lists read an index of each kind per account; one loaded from the state file lists the same objects,
    newest first, each in its own account, and what is created after the restart joins them."""
    state = str(tmp_path / "lists.json")
    with Sandbox(state_file=state) as sb:
        client = client_for(sb)
        acct = client.v1.accounts.create(params={"type": "express"})
        mine = [client.v1.customers.create(params={"email": f"p{n}@example.com"}).id for n in range(3)]
        theirs = client.v1.customers.create(params={"email": "c@example.com"}, options={"stripe_account": acct.id}).id
    with Sandbox(state_file=state) as sb:
        client = client_for(sb)
        later = client.v1.customers.create(params={"email": "later@example.com"}).id
        listed = [c.id for c in client.v1.customers.list(params={"limit": 10}).data]
        assert listed == [later, *reversed(mine)]
        connected = client.v1.customers.list(params={"limit": 10}, options={"stripe_account": acct.id}).data
        assert [c.id for c in connected] == [theirs]


@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_a_subscription_and_a_saved_card_are_saved_and_shown(tmp_path: Path, currency: str) -> None:
    """A subscription session kept its fee percent as a Decimal, which the state file (JSON) could not
    hold: every later write failed, and the demo's hosted pages answered 500 from the first subscription
    on. A setup session (saving a card) has no currency, and the control page failed on it."""
    state = str(tmp_path / "subscriptions.json")
    with Sandbox(state_file=state) as sb:
        client = client_for(sb)
        seller = onboarded_account(client, sb)
        buyer = client.v1.customers.create(params={"email": "b@example.com"})
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": buyer.id,
                "success_url": "http://app/ok",
                "line_items": [
                    {
                        "price_data": {
                            "currency": currency,
                            "unit_amount": 2_000,
                            "product_data": {"name": "Coffee box"},
                            "recurring": {"interval": "month"},
                        },
                        "quantity": 1,
                    }
                ],
                "subscription_data": {"application_fee_percent": "12.5", "transfer_data": {"destination": seller}},
            }
        )
        assert control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")["status"] == "succeeded"
        setup = client.v1.checkout.sessions.create(
            params={"mode": "setup", "customer": buyer.id, "currency": "usd", "success_url": "http://app/ok"}
        )
        assert control(sb, f"checkout/sessions/{setup.id}/pay", card="4242424242424242")["status"] == "succeeded"
        status, _, page = fetch_no_redirect(f"{sb.url}/_sandbox/")
        assert status == 200 and setup.id[:24] in page
    with Sandbox(state_file=state) as sb:
        subscription = client_for(sb).v1.checkout.sessions.retrieve(session.id).subscription
        assert client_for(sb).v1.subscriptions.retrieve(subscription).application_fee_percent == 12.5
        assert fetch_no_redirect(f"{sb.url}/_sandbox/")[0] == 200
