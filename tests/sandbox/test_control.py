"""The control page, its forms (posted as a browser does) and the control API's own errors.

A form post gets a page: what happened, the events Stripe sent for it, a way back. The same URLs answer Stripe's
JSON to scripts. Every effect is checked through the SDK, as the app would see it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from stripe_sandbox import Sandbox
from stripe_sandbox.money import dispute_fee
from stripe_sandbox.resources.balance import PAYOUT_FAILURES

from .helpers import (
    balances,
    browser_post,
    control,
    destination_session,
    fetch_no_redirect,
    get_json,
    onboarded_account,
)

BACK = '<a href="/_sandbox/">Back to the control page</a>'


def _paid_charge(client: stripe.StripeClient, sb: Sandbox, seller: str, amount: int, currency: str) -> Any:
    session = destination_session(client, seller, amount, amount // 10, currency=currency)
    pi_id = control(sb, f"checkout/sessions/{session.id}/pay", card="4000000000000077")["payment_intent"]
    return client.v1.charges.retrieve(client.v1.payment_intents.retrieve(pi_id).latest_charge)


def _events_listed(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z_.]+)</code>", page)


def _seller_payout(client: stripe.StripeClient, sb: Sandbox) -> tuple[str, Any]:
    seller = onboarded_account(client, sb)
    _paid_charge(client, sb, seller, 10_000, "usd")
    control(sb, "clock/advance", seconds=86_400)  # a midnight passes: the available funds are paid out
    return seller, client.v1.payouts.list(options={"stripe_account": seller}).data[0]


def test_control_page_lists_what_there_is_to_act_on(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    charge = _paid_charge(client, sb, seller, 5_000, "usd")
    disputed = _paid_charge(client, sb, seller, 3_000, "usd")
    dispute = control(sb, f"charges/{disputed.id}/dispute")
    control(sb, "clock/advance", seconds=86_400)
    payout = client.v1.payouts.list(options={"stripe_account": seller}).data[0]
    status, _, page = fetch_no_redirect(f"{sb.url}/_sandbox/")
    assert status == 200 and "Stripe sandbox control" in page and "account.updated" in page
    assert f'href="/_sandbox/accounts/{seller}/requirements"' in page
    assert f'href="/_sandbox/charges/{charge.id}/dispute"' in page  # disputable
    assert f'href="/_sandbox/charges/{disputed.id}/dispute"' not in page  # already disputed
    assert f'action="/_sandbox/disputes/{dispute["id"]}/resolve"' in page
    assert (
        f'action="/_sandbox/payouts/{payout.id}/pay"' in page and f'href="/_sandbox/payouts/{payout.id}/fail"' in page
    )
    assert 'action="/_sandbox/clock/advance"' in page


def test_advance_clock_form(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    _paid_charge(client, sb, seller, 10_000, "usd")
    before = get_json(sb, "/_sandbox/clock")["now"]
    status, page = browser_post(f"{sb.url}/_sandbox/clock/advance", seconds="86400")
    assert status == 200 and "<h1>Clock advanced</h1>" in page and "86,400 s" in page and BACK in page
    assert get_json(sb, "/_sandbox/clock")["now"] - before in (86_400, 86_401)
    assert "payout.created" in _events_listed(page)  # the midnight on the way paid the seller out
    status, page = browser_post(f"{sb.url}/_sandbox/clock/advance", seconds="a day")
    assert status == 400 and 'role="alert"' in page and "Invalid integer" in page and BACK in page


@pytest.mark.parametrize(("currency", "amount", "disputed"), [("usd", 10_000, 2_500), ("jpy", 5_000, 5_000)])
def test_open_dispute_form(client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int, disputed: int) -> None:
    seller = onboarded_account(client, sb)
    charge = _paid_charge(client, sb, seller, amount, currency)
    platform_before = balances(client, currency=currency)[0]
    form_url = f"{sb.url}/_sandbox/charges/{charge.id}/dispute"
    status, _, form = fetch_no_redirect(form_url)
    assert status == 200 and '<select id="reason" name="reason">' in form and f'value="{amount}"' in form

    status, page = browser_post(form_url, reason="product_not_received", amount=str(disputed))
    assert status == 200 and "<h1>Dispute opened</h1>" in page and BACK in page
    assert _events_listed(page) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    dispute = client.v1.disputes.list(params={"charge": charge.id}).data[0]
    assert (dispute.amount, dispute.currency, dispute.reason, dispute.status) == (
        disputed,
        currency,
        "product_not_received",
        "needs_response",
    )
    assert client.v1.charges.retrieve(charge.id).disputed is True
    # Destination charge: the platform is debited the disputed amount plus the dispute fee.
    assert balances(client, currency=currency)[0] == platform_before - disputed - dispute_fee(currency)
    types = [e.type for e in client.v1.events.list(params={"limit": 5}).data]
    assert types[:2] == ["charge.dispute.funds_withdrawn", "charge.dispute.created"]

    status, page = browser_post(form_url, reason="fraudulent")  # a second dispute on the same charge
    assert status == 400 and "cannot be disputed" in page and BACK in page
    assert len(client.v1.disputes.list().data) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "bored"}, "Invalid reason"),
        ({"amount": "10001"}, "between 1 and 10000"),
        ({"amount": "0"}, "between 1 and 10000"),
        ({"amount": "ten"}, "Invalid integer"),
    ],
)
def test_open_dispute_refuses_bad_input(
    client: stripe.StripeClient, sb: Sandbox, data: dict[str, str], message: str
) -> None:
    seller = onboarded_account(client, sb)
    charge = _paid_charge(client, sb, seller, 10_000, "usd")
    status, page = browser_post(f"{sb.url}/_sandbox/charges/{charge.id}/dispute", **data)
    assert status == 400 and message in page and 'role="alert"' in page
    with pytest.raises(urllib.error.HTTPError) as exc:  # the same refusal, as JSON, for a script
        control(sb, f"charges/{charge.id}/dispute", **data)
    assert exc.value.code == 400 and message in json.loads(exc.value.read())["error"]["message"]
    assert client.v1.disputes.list().data == [] and client.v1.charges.retrieve(charge.id).disputed is False


def test_a_refunded_charge_cannot_be_disputed(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    charge = _paid_charge(client, sb, seller, 4_000, "usd")
    client.v1.refunds.create(params={"charge": charge.id, "reverse_transfer": True, "refund_application_fee": True})
    status, _, page = fetch_no_redirect(f"{sb.url}/_sandbox/charges/{charge.id}/dispute")
    assert status == 400 and "cannot be disputed" in page


@pytest.mark.parametrize(
    ("outcome", "events", "returned"),
    [
        ("won", ["charge.dispute.funds_reinstated", "charge.dispute.closed"], 6_000),
        ("lost", ["charge.dispute.closed"], 0),
    ],
)
def test_resolve_dispute_buttons(
    client: stripe.StripeClient, sb: Sandbox, outcome: str, events: list[str], returned: int
) -> None:
    seller = onboarded_account(client, sb)
    charge = _paid_charge(client, sb, seller, 6_000, "usd")
    dispute = control(sb, f"charges/{charge.id}/dispute")
    withdrawn = balances(client)[0]
    status, page = browser_post(f"{sb.url}/_sandbox/disputes/{dispute['id']}/resolve", outcome=outcome)
    assert status == 200 and f"<h1>Dispute {outcome}</h1>" in page and BACK in page
    assert _events_listed(page) == events
    assert client.v1.disputes.retrieve(dispute["id"]).status == outcome
    assert balances(client)[0] == withdrawn + returned
    status, page = browser_post(f"{sb.url}/_sandbox/disputes/{dispute['id']}/resolve", outcome="won")
    assert status == 400 and "already closed" in page


def test_mark_payout_paid_button(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller, payout = _seller_payout(client, sb)
    assert payout.status == "in_transit"
    status, page = browser_post(f"{sb.url}/_sandbox/payouts/{payout.id}/pay")
    assert status == 200 and "<h1>Payout paid</h1>" in page
    assert _events_listed(page) == ["payout.paid", "payout.reconciliation_completed"]
    assert client.v1.payouts.retrieve(payout.id, options={"stripe_account": seller}).status == "paid"
    status, page = browser_post(f"{sb.url}/_sandbox/payouts/{payout.id}/pay")
    assert status == 400 and "only pending or in-transit payouts can be paid" in page


def test_fail_payout_form(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller, payout = _seller_payout(client, sb)
    form_url = f"{sb.url}/_sandbox/payouts/{payout.id}/fail"
    status, _, form = fetch_no_redirect(form_url)
    assert status == 200 and all(f'<option value="{code}"' in form for code in PAYOUT_FAILURES)
    status, page = browser_post(form_url, failure_code="bank_ownership_changed")
    assert status == 200 and "<h1>Payout failed</h1>" in page and BACK in page
    failed = client.v1.payouts.retrieve(payout.id, options={"stripe_account": seller})
    assert (failed.status, failed.failure_code) == ("failed", "bank_ownership_changed")
    assert failed.failure_message == PAYOUT_FAILURES["bank_ownership_changed"]
    assert _events_listed(page) == ["payout.failed", "account.external_account.updated"] and "back on" in page
    assert balances(client, seller)[0] == payout.amount  # the money is back on the seller's balance


def test_fail_payout_refuses_unknown_codes_and_final_payouts(client: stripe.StripeClient, sb: Sandbox) -> None:
    _, payout = _seller_payout(client, sb)
    status, page = browser_post(f"{sb.url}/_sandbox/payouts/{payout.id}/fail", failure_code="gremlins")
    assert status == 400 and "Invalid failure_code" in page
    control(sb, f"payouts/{payout.id}/fail", failure_code="no_account")
    status, page = browser_post(f"{sb.url}/_sandbox/payouts/{payout.id}/fail", failure_code="no_account")
    assert status == 400 and "is failed and cannot fail" in page


def test_requirements_form(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    form_url = f"{sb.url}/_sandbox/accounts/{seller}/requirements"
    status, _, form = fetch_no_redirect(form_url)
    assert status == 200 and 'id="currently_due"' in form and 'type="datetime-local"' in form

    status, page = browser_post(
        form_url,
        currently_due="individual.id_number, individual.verification.document",
        past_due="",
        eventually_due="company.tax_id",
        current_deadline="2030-01-15T12:00",
        disabled_reason="",
    )
    assert status == 200 and "<h1>Requirements changed</h1>" in page and BACK in page
    assert _events_listed(page) == ["account.updated"]
    req = client.v1.accounts.retrieve(seller).requirements
    assert req.currently_due == ["individual.id_number", "individual.verification.document"]
    assert req.eventually_due == ["company.tax_id", "individual.id_number", "individual.verification.document"]
    assert req.past_due == [] and req.disabled_reason is None
    assert req.current_deadline == int(datetime(2030, 1, 15, 12, tzinfo=UTC).timestamp())
    assert client.v1.accounts.retrieve(seller).charges_enabled is True
    _, _, form = fetch_no_redirect(form_url)  # the form shows what is there now
    assert (
        'value="individual.id_number, individual.verification.document"' in form and 'value="2030-01-15T12:00"' in form
    )

    # Something past due: Stripe disables the account with requirements.past_due.
    status, page = browser_post(form_url, currently_due="", past_due="external_account", current_deadline="")
    assert status == 200 and "capability.updated" in _events_listed(page)
    acct = client.v1.accounts.retrieve(seller)
    assert (acct.charges_enabled, acct.payouts_enabled) == (False, False)
    assert acct.requirements.currently_due == ["external_account"] == acct.requirements.past_due
    assert (acct.requirements.disabled_reason, acct.requirements.current_deadline) == ("requirements.past_due", None)

    status, page = browser_post(form_url, currently_due="", past_due="", disabled_reason="under_review")
    assert status == 200 and client.v1.accounts.retrieve(seller).requirements.disabled_reason == "under_review"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"disabled_reason": "sleepy"}, "Invalid disabled_reason"),
        ({"current_deadline": "next tuesday"}, "Invalid timestamp"),
    ],
)
def test_requirements_refuse_bad_input(
    client: stripe.StripeClient, sb: Sandbox, data: dict[str, str], message: str
) -> None:
    seller = onboarded_account(client, sb)
    status, page = browser_post(f"{sb.url}/_sandbox/accounts/{seller}/requirements", currently_due="x", **data)
    assert status == 400 and message in page
    assert client.v1.accounts.retrieve(seller).requirements.currently_due == []


def test_control_api_answers_json_to_scripts(client: stripe.StripeClient, sb: Sandbox) -> None:
    """The same operations for scripts: JSON bodies in, Stripe's objects out."""
    seller = onboarded_account(client, sb)
    charge = _paid_charge(client, sb, seller, 8_000, "usd")
    req = urllib.request.Request(
        f"{sb.url}/_sandbox/charges/{charge.id}/dispute",
        data=json.dumps({"reason": "duplicate", "amount": 8_000}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        dispute = json.loads(resp.read())
    assert (dispute["object"], dispute["reason"], dispute["amount"]) == ("dispute", "duplicate", 8_000)
    acct = control(sb, f"accounts/{seller}/requirements", currently_due="a,b", eventually_due="c", current_deadline=0)
    assert acct["requirements"]["eventually_due"] == ["c", "a", "b"] and acct["requirements"]["current_deadline"] == 0


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
    for path in ("charges/ch_nope/dispute", "payouts/po_nope/fail", "accounts/acct_nope/requirements"):
        status, _, page = fetch_no_redirect(f"{sb.url}/_sandbox/{path}")
        assert status == 404 and "<!doctype html>" not in page  # a script's GET: Stripe's JSON 404
        req = urllib.request.Request(f"{sb.url}/_sandbox/{path}", headers={"Accept": "text/html"})
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 404 and BACK in exc.value.read().decode()


GARBAGE = ["", "-1", "1e309", "ünïcode", "x" * 5000, "%00", "[]", "{}", "9" * 40]


def test_no_input_makes_a_500(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller, payout = _seller_payout(client, sb)
    charge = client.v1.charges.list().data[0]
    paths = [
        "clock/advance",
        f"charges/{charge.id}/dispute",
        f"accounts/{seller}/requirements",
        f"payouts/{payout.id}/fail",
        f"payouts/{payout.id}/pay",
        "webhooks",
    ]
    fields = ["seconds", "amount", "reason", "current_deadline", "currently_due", "failure_code", "max_attempts"]
    for path in paths:
        for value in GARBAGE:
            for field in fields:
                status, _ = browser_post(f"{sb.url}/_sandbox/{path}", **{field: value})
                assert status < 500, (path, field, value)
        req = urllib.request.Request(
            f"{sb.url}/_sandbox/{path}", data=b"{not json", headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req)
        assert exc.value.code == 400, path


def test_clock_and_reset(client: stripe.StripeClient, sb: Sandbox) -> None:
    before = get_json(sb, "/_sandbox/clock")["now"]
    after = control(sb, "clock/advance", seconds=90)["now"]
    assert after - before in (90, 91)
    client.v1.customers.create(params={"name": "gone"})
    assert control(sb, "reset") == {"reset": True}
    assert client.v1.customers.list().data == []
    assert get_json(sb, "/_sandbox/clock")["offset"] == 0
