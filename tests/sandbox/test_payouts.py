"""Payouts as Stripe makes them (../shared/stripe-reference/connect-behaviour.md §c, §e): what an automatic payout
contains (`?payout=`), `payout.reconciliation_completed`, weekly and monthly schedules, and a failed payout that
errors the bank account and stops every later payout until the bank details are updated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from stripe_sandbox import Sandbox

from .helpers import balances, control, destination_session, get_json, onboarded_account

DAY = 86400
CARD_AVAILABLE_NOW = "4000000000000077"


def _sale(client: stripe.StripeClient, sb: Sandbox, seller: str, amount: int, currency: str = "usd") -> None:
    session = destination_session(client, seller, amount, amount // 10, currency)
    control(sb, f"checkout/sessions/{session.id}/pay", card=CARD_AVAILABLE_NOW)


def _payouts(client: stripe.StripeClient, seller: str) -> list[Any]:
    return list(client.v1.payouts.list(options={"stripe_account": seller}).data)


def _events(client: stripe.StripeClient, seller: str) -> list[str]:
    return [e.type for e in client.v1.events.list(params={"limit": 100}, options={"stripe_account": seller}).data]


def _advance_to_midnight(sb: Sandbox, weekday: int | None = None, day: int | None = None) -> datetime:
    """Move the clock to just before the next UTC midnight that is `weekday` (0 = Monday) or the `day`th."""
    now = get_json(sb, "/_sandbox/clock")["now"]
    midnight = (now // DAY + 1) * DAY
    while True:
        d = datetime.fromtimestamp(midnight, tz=UTC)
        if (weekday is None or d.weekday() == weekday) and (day is None or d.day == day):
            break
        midnight += DAY
    control(sb, "clock/advance", seconds=midnight - now - 60)
    return datetime.fromtimestamp(midnight, tz=UTC)


@pytest.mark.parametrize(("currency", "country"), [("usd", "US"), ("jpy", "JP")])
def test_an_automatic_payout_lists_exactly_the_transactions_it_paid_out(
    client: stripe.StripeClient, sb: Sandbox, currency: str, country: str
) -> None:
    seller = onboarded_account(client, sb, country=country)
    _sale(client, sb, seller, 10_000, currency)
    control(sb, "clock/advance", seconds=DAY)
    [first] = _payouts(client, seller)
    _sale(client, sb, seller, 5_000, currency)
    control(sb, "clock/advance", seconds=DAY)
    second = next(p for p in _payouts(client, seller) if p.id != first.id)
    assert (first.amount, second.amount) == (9_000, 4_500)

    opts: Any = {"stripe_account": seller}
    for payout, amount in ((first, 9_000), (second, 4_500)):
        txns = client.v1.balance_transactions.list(params={"payout": payout.id}, options=opts).data
        assert [t.type for t in txns] == ["payment"] and sum(t.net for t in txns) == amount
    assert (first.status, first.reconciliation_status) == ("in_transit", "in_progress")
    paid = client.v1.payouts.retrieve(first.id, options=opts)  # it arrived at the second midnight
    assert (paid.status, paid.reconciliation_status) == ("paid", "completed")
    assert (second.status, second.reconciliation_status) == ("in_transit", "in_progress")
    control(sb, f"payouts/{second.id}/pay")
    assert _events(client, seller)[:2] == ["payout.reconciliation_completed", "payout.paid"]


def test_the_payout_filter_refuses_a_manual_payout(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    _sale(client, sb, seller, 10_000)
    opts: Any = {"stripe_account": seller}
    manual = client.v1.payouts.create(params={"amount": 1_000, "currency": "usd"}, options=opts)
    assert manual.reconciliation_status == "not_applicable"
    with pytest.raises(stripe.InvalidRequestError, match="automatic"):
        client.v1.balance_transactions.list(params={"payout": manual.id}, options=opts)


def test_a_failed_payout_errors_the_bank_account_and_blocks_payouts_until_it_is_updated(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    seller = onboarded_account(client, sb)
    _sale(client, sb, seller, 10_000)
    control(sb, "clock/advance", seconds=DAY)
    [payout] = _payouts(client, seller)
    control(sb, f"payouts/{payout.id}/fail", failure_code="no_account")
    assert _events(client, seller)[:2] == ["account.external_account.updated", "payout.failed"]
    event = client.v1.events.list(params={"limit": 1}, options={"stripe_account": seller}).data[0]
    assert event.data.object["status"] == "errored" and event.to_dict()["data"]["previous_attributes"] == {
        "status": "new"
    }
    assert balances(client, seller) == (9_000, 0)

    control(sb, "clock/advance", seconds=3 * DAY)  # three payout days pass: nothing goes to an errored bank
    assert len(_payouts(client, seller)) == 1
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.create(params={"amount": 100, "currency": "usd"}, options={"stripe_account": seller})
    assert exc.value.code == "payouts_not_allowed"

    control(sb, f"accounts/{seller}/bank_account")
    control(sb, "clock/advance", seconds=DAY)
    again = _payouts(client, seller)[0]
    assert again.id != payout.id and again.amount == 9_000
    txns = client.v1.balance_transactions.list(params={"payout": again.id}, options={"stripe_account": seller}).data
    assert [t.type for t in txns] == ["payout_failure"]  # the returned funds are what this payout pays


def test_a_weekly_schedule_pays_on_its_anchor_day_only(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    client.v1.accounts.update(
        seller, params={"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "wednesday"}}}}
    )
    _sale(client, sb, seller, 10_000)
    wednesday = _advance_to_midnight(sb, weekday=2)
    # The days before Wednesday paid nothing; midnight starting Wednesday pays.
    assert _payouts(client, seller) == []
    control(sb, "clock/advance", seconds=120)
    [payout] = _payouts(client, seller)
    assert payout.created == int(wednesday.timestamp()) and payout.amount == 9_000


def test_a_monthly_schedule_pays_on_its_date(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    client.v1.accounts.update(
        seller, params={"settings": {"payouts": {"schedule": {"interval": "monthly", "monthly_anchor": 3}}}}
    )
    _sale(client, sb, seller, 10_000)
    third = _advance_to_midnight(sb, day=3)
    assert _payouts(client, seller) == []
    control(sb, "clock/advance", seconds=120)
    [payout] = _payouts(client, seller)
    assert payout.created == int(third.timestamp())


def test_schedule_anchors_follow_stripes_rules(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    with pytest.raises(stripe.InvalidRequestError, match="weekly_anchor"):
        client.v1.accounts.update(seller, params={"settings": {"payouts": {"schedule": {"interval": "weekly"}}}})
    with pytest.raises(stripe.InvalidRequestError, match="monthly_anchor"):
        client.v1.accounts.update(
            seller, params={"settings": {"payouts": {"schedule": {"interval": "monthly", "monthly_anchor": 32}}}}
        )
    assert _settings(client.v1.accounts.retrieve(seller))["schedule"]["interval"] == "daily"  # refused: unchanged
    acct = client.v1.accounts.update(
        seller,
        params={
            "settings": {
                "payouts": {
                    "schedule": {"interval": "weekly", "weekly_anchor": "friday"},
                    "debit_negative_balances": True,
                    "statement_descriptor": "ROSEN",
                }
            }
        },
    )
    assert _settings(acct)["schedule"]["weekly_anchor"] == "friday"
    acct = client.v1.accounts.update(seller, params={"settings": {"payouts": {"schedule": {"interval": "manual"}}}})
    assert "weekly_anchor" not in _settings(acct)["schedule"]
    assert _settings(acct)["statement_descriptor"] == "ROSEN"


def _settings(acct: Any) -> Any:
    return acct.to_dict(recursive=True)["settings"]["payouts"]
