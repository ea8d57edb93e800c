"""Subscriptions sold by sellers in the sandbox: Checkout ``mode=subscription`` with the platform's fee percent and
the seller as destination, renewals driven by the clock, failing renewals and their retries, 3-D Secure on renewal,
the hosted invoice page and the customer portal (connect-behaviour.md section g, section 0 items 9 and 11)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
import stripe

from stripe_sandbox import Sandbox
from stripe_sandbox import store as store_module

from .helpers import balances, control, fetch_no_redirect, onboarded_account

DAY = 86400
MONTH = 31 * DAY


def _types(client: stripe.StripeClient, after: str | None = None) -> list[str]:
    events = list(reversed(client.v1.events.list(params={"limit": 100}).data))
    if after:
        events = events[[e.id for e in events].index(after) + 1 :]
    return [e.type for e in events]


def _last_event(client: stripe.StripeClient) -> str:
    return str(client.v1.events.list(params={"limit": 1}).data[0].id)


def _subscribe(
    client: stripe.StripeClient,
    sb: Sandbox,
    seller: str,
    *,
    amount: int,
    currency: str,
    percent: str = "10",
    card: str = "4242424242424242",
    interval: str = "month",
) -> tuple[Any, Any]:
    cus = client.v1.customers.create(params={"email": "buyer@example.com"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": cus.id,
            "success_url": "http://app/ok?s={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app/cancel",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": amount,
                        "product_data": {"name": "Coffee box"},
                        "recurring": {"interval": interval},
                    },
                    "quantity": 1,
                }
            ],
            "subscription_data": {
                "application_fee_percent": percent,
                "transfer_data": {"destination": seller},
                "metadata": {"listing": "7"},
            },
        }
    )
    result = control(sb, f"checkout/sessions/{session.id}/pay", card=card)
    return client.v1.checkout.sessions.retrieve(session.id), result


@pytest.mark.parametrize(("currency", "amount", "fee"), [("usd", 2_000, 250), ("jpy", 1_999, 250)])
def test_checkout_subscription_pays_a_destination_charge_with_the_fee_percent(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int, fee: int
) -> None:
    seller = onboarded_account(client, sb)
    session, result = _subscribe(client, sb, seller, amount=amount, currency=currency, percent="12.5")
    assert result["status"] == "succeeded" and result["redirect_url"].startswith("http://app/ok?s=cs_test_")
    assert session.status == "complete" and session.payment_status == "paid" and session.payment_intent is None
    sub = client.v1.subscriptions.retrieve(session.subscription)
    assert (sub.status, sub.application_fee_percent, sub.transfer_data.destination) == ("active", 12.5, seller)
    assert sub.metadata.to_dict() == {"listing": "7"} and sub["items"].data[0].price.recurring.interval == "month"
    assert sub["items"].data[0].current_period_end - sub["items"].data[0].current_period_start in (
        28 * DAY,
        29 * DAY,
        30 * DAY,
        31 * DAY,
    )
    invoice = client.v1.invoices.retrieve(session.invoice)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == ("paid", amount, "subscription_create")
    assert invoice.parent.subscription_details.subscription == sub.id
    assert "payment_intent" not in invoice and "charge" not in invoice and "paid" not in invoice  # basil shape
    payment = client.v1.invoice_payments.list(params={"invoice": invoice.id}).data[0]
    assert payment.status == "paid" and payment.amount_paid == amount
    pi = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    expected_fee = (amount * 1250 + 5000) // 10000  # 12.5 % rounded half up
    assert expected_fee == fee
    assert (charge.amount, charge.application_fee_amount, charge.transfer_data.destination) == (amount, fee, seller)
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount, transfer.destination) == (amount, seller)
    assert client.v1.application_fees.retrieve(charge.application_fee).amount == fee
    stripe_fee = client.v1.balance_transactions.retrieve(charge.balance_transaction).fee
    assert balances(client, seller, currency)[1] == amount - fee
    assert balances(client, None, currency)[1] == fee - stripe_fee
    types = _types(client)
    order = [
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "transfer.created",
        "application_fee.created",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice_payment.paid",
        "customer.subscription.updated",
        "checkout.session.completed",
    ]
    assert [t for t in types if t in order] == order


@pytest.mark.parametrize(("currency", "amount"), [("usd", 2_000), ("jpy", 3_000)])
def test_the_clock_renews_each_month_with_invoice_charge_transfer_and_fee(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int
) -> None:
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=amount, currency=currency)
    sub = client.v1.subscriptions.retrieve(session.subscription)
    first_end = sub["items"].data[0].current_period_end
    mark = _last_event(client)
    control(sb, "clock/advance", seconds=MONTH)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub["items"].data[0].current_period_start == first_end
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [(i.status, i.billing_reason) for i in invoices] == [
        ("paid", "subscription_cycle"),
        ("paid", "subscription_create"),
    ]
    renewal = invoices[0]
    assert renewal.lines.data[0].period.start == first_end and sub.latest_invoice == renewal.id
    assert (renewal.period_start, renewal.period_end) == (invoices[1].lines.data[0].period.start, first_end)
    pi = client.v1.payment_intents.retrieve(renewal.payments.data[0].payment.payment_intent)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount, charge.application_fee_amount, charge.created) == (amount, amount // 10, first_end)
    assert client.v1.transfers.retrieve(charge.transfer).amount == amount
    order = [
        "customer.subscription.updated",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "transfer.created",
        "application_fee.created",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice_payment.paid",
    ]
    assert [t for t in _types(client, mark) if t in order] == order


@pytest.mark.parametrize(("currency", "amount"), [("usd", 2_000), ("jpy", 3_000)])
def test_a_renewal_is_dated_at_its_period_end_while_the_wall_clock_ticks(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like a Stripe test clock, the sandbox's time stands still at each moment the clock is advanced through:
    a wall clock that ticks over a second while the renewal runs (here: on every reading) leaves the renewal's
    invoice, charge and transfer dated at the period's end, not a second or more after it."""
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=amount, currency=currency)
    sub = client.v1.subscriptions.retrieve(session.subscription)
    first_end = sub["items"].data[0].current_period_end
    wall = [time.time()]

    def ticking() -> float:
        wall[0] += 1
        return wall[0]

    monkeypatch.setattr(store_module, "time", SimpleNamespace(time=ticking))  # the sandbox store's clock only
    control(sb, "clock/advance", seconds=MONTH)
    monkeypatch.undo()
    renewal = client.v1.invoices.list(params={"subscription": sub.id}).data[0]
    charge = client.v1.charges.retrieve(
        client.v1.payment_intents.retrieve(renewal.payments.data[0].payment.payment_intent).latest_charge
    )
    transfer = client.v1.transfers.retrieve(charge.transfer)
    assert (renewal.created, charge.created, transfer.created) == (first_end, first_end, first_end)


@pytest.mark.parametrize(("currency", "amount", "fees"), [("usd", 2_000, [200, 300]), ("jpy", 1_999, [200, 300])])
def test_a_new_fee_percent_applies_from_the_next_invoice(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int, fees: list[int]
) -> None:
    """`application_fee_percent` can be changed on the subscription ("the percentage of the subscription
    invoice total"): the invoice already paid keeps its fee, the next one takes the new percent. The
    change is a `customer.subscription.updated` with the old percent in `previous_attributes`."""
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=amount, currency=currency, percent="10")
    mark = _last_event(client)
    sub = client.v1.subscriptions.update(session.subscription, params={"application_fee_percent": "15"})
    assert sub.application_fee_percent == 15
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert (event.type, event.data.previous_attributes.to_dict()) == (
        "customer.subscription.updated",
        {"application_fee_percent": 10},
    )
    assert _types(client, mark) == ["customer.subscription.updated"]
    control(sb, "clock/advance", seconds=MONTH)
    charges = client.v1.charges.list(params={"customer": session.customer}).data
    assert sorted(c.application_fee_amount for c in charges) == fees  # 10 % then 15 %, half up
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, params={"application_fee_percent": "12.345"})
    assert refused.value.param == "application_fee_percent"  # type: ignore[attr-defined]


def _portal(client: stripe.StripeClient, customer: str) -> Any:
    return client.v1.billing_portal.sessions.create(params={"customer": customer, "return_url": "http://app/subs"})


def test_a_failing_renewal_goes_past_due_is_retried_then_canceled(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=1_500, currency="usd")
    portal = _portal(client, session.customer)
    status, location, _ = fetch_no_redirect(portal.url, b"action=card&cardNumber=4000000000000341")
    assert status == 303 and location.endswith("?done=card")
    sub = client.v1.subscriptions.retrieve(session.subscription)
    assert client.v1.payment_methods.retrieve(sub.default_payment_method).card.last4 == "0341"
    mark = _last_event(client)
    control(sb, "clock/advance", seconds=MONTH)
    sub = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "past_due" and invoice.status == "open" and invoice.attempt_count >= 1
    assert invoice.next_payment_attempt is not None and invoice.hosted_invoice_url.endswith(invoice.id)
    types = _types(client, mark)
    assert "invoice.payment_failed" in types and "customer.subscription.updated" in types
    control(sb, "clock/advance", seconds=15 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert sub.status == "canceled" and sub.cancellation_details.reason == "payment_failed"
    assert invoice.status == "open" and invoice.attempt_count == 8 and invoice.next_payment_attempt is None
    types = _types(client, mark)
    assert types.count("invoice.payment_failed") == 8 and types[-1] == "customer.subscription.deleted"
    assert client.v1.subscriptions.list(params={"customer": session.customer}).data == []
    control(sb, "clock/advance", seconds=MONTH)  # nothing renews any more
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 2


def test_a_renewal_needing_3ds_asks_the_customer_on_the_hosted_invoice_page(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=1_500, currency="usd")
    fetch_no_redirect(_portal(client, session.customer).url, b"action=card&cardNumber=4000002760003184")
    mark = _last_event(client)
    control(sb, "clock/advance", seconds=MONTH)
    sub = client.v1.subscriptions.retrieve(session.subscription)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    pi = client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
    assert (sub.status, invoice.status, pi.status) == ("past_due", "open", "requires_action")
    assert "invoice.payment_action_required" in _types(client, mark)
    status, _, page = fetch_no_redirect(invoice.hosted_invoice_url)
    assert status == 200 and 'id="authenticate"' in page
    status, location, _ = fetch_no_redirect(pi.next_action.redirect_to_url.url, b"action=complete")
    assert status == 303 and location.startswith(invoice.hosted_invoice_url)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert invoice.status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_failed_first_payment_leaves_checkout_open_and_the_next_card_pays(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    seller = onboarded_account(client, sb)
    session, result = _subscribe(client, sb, seller, amount=1_500, currency="usd", card="4000000000000002")
    assert result["status"] == "declined" and result["error"] == "Your card was declined."
    assert session.status == "open" and session.subscription is None
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert result["status"] == "succeeded" and session.status == "complete"
    sub = client.v1.subscriptions.retrieve(session.subscription)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "active" and invoice.status == "paid" and invoice.attempt_count == 2


def test_only_the_card_that_paid_is_saved_on_the_customer(client: stripe.StripeClient, sb: Sandbox) -> None:
    """Stripe saves the card of a subscription's Checkout "after the PaymentIntent is confirmed and any required
    actions from the user are complete" (`setup_future_usage`): a declined card, or one whose 3-D Secure failed,
    is not left on the buyer's Customer to be listed among their cards."""
    seller = onboarded_account(client, sb)
    session, result = _subscribe(client, sb, seller, amount=1_500, currency="usd", card="4000000000000002")
    assert result["status"] == "declined"
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000002760003184")
    assert result["status"] == "requires_action"
    control(sb, f"checkout/sessions/{session.id}/authenticate", outcome="fail")
    assert client.v1.payment_methods.list(params={"customer": session.customer, "type": "card"}).data == []
    control(sb, f"checkout/sessions/{session.id}/pay", card="4000002760003184")
    control(sb, f"checkout/sessions/{session.id}/authenticate", outcome="complete")
    session = client.v1.checkout.sessions.retrieve(session.id)
    saved = client.v1.payment_methods.list(params={"customer": session.customer, "type": "card"}).data
    sub = client.v1.subscriptions.retrieve(session.subscription)
    assert [pm.card.last4 for pm in saved] == ["3184"] and sub.default_payment_method == saved[0].id


def test_portal_cancels_at_period_end_and_returns(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=1_500, currency="usd")
    portal = _portal(client, session.customer)
    assert portal.return_url == "http://app/subs" and portal.configuration.startswith("bpc_")
    status, _, page = fetch_no_redirect(portal.url)
    assert status == 200 and 'href="http://app/subs"' in page and "Coffee box" in page and "View invoice" in page
    status, location, _ = fetch_no_redirect(portal.url, f"action=cancel&subscription={session.subscription}".encode())
    assert status == 303 and location == f"{portal.url}?done=canceled"
    status, _, page = fetch_no_redirect(location)
    assert "Your subscription will end at the end of the current period." in page and "Renew Coffee box" in page
    sub = client.v1.subscriptions.retrieve(session.subscription)
    assert sub.cancel_at_period_end is True and sub.cancel_at == sub["items"].data[0].current_period_end
    assert sub.status == "active"
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert event.type == "customer.subscription.updated"
    assert event.data.previous_attributes["cancel_at_period_end"] is False
    control(sb, "clock/advance", seconds=MONTH)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1
    assert "customer.subscription.deleted" in _types(client)


def test_another_customers_subscription_cannot_be_changed_in_the_portal(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=1_500, currency="usd")
    other = client.v1.customers.create(params={"email": "x@example.com"})
    status, _, page = fetch_no_redirect(
        _portal(client, other.id).url, f"action=cancel&subscription={session.subscription}".encode()
    )
    assert status == 200 and "That subscription is not yours." in page
    assert client.v1.subscriptions.retrieve(session.subscription).cancel_at_period_end is False


def test_subscription_checkout_refuses_what_stripe_refuses(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    one_time = {"price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Mug"}}, "quantity": 1}
    monthly = {**one_time, "price_data": {**one_time["price_data"], "recurring": {"interval": "month"}}}
    with pytest.raises(stripe.InvalidRequestError, match="at least one recurring price"):
        client.v1.checkout.sessions.create(
            params={"mode": "subscription", "success_url": "http://a", "line_items": [one_time]}
        )
    with pytest.raises(stripe.InvalidRequestError, match="recurring price"):
        client.v1.checkout.sessions.create(
            params={"mode": "payment", "success_url": "http://a", "line_items": [monthly]}
        )
    with pytest.raises(stripe.InvalidRequestError, match="at most two decimal places"):
        client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "success_url": "http://a",
                "line_items": [monthly],
                "subscription_data": {"application_fee_percent": "10.125"},
            }
        )
    with pytest.raises(stripe.InvalidRequestError, match="No such destination"):
        client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "success_url": "http://a",
                "line_items": [monthly],
                "subscription_data": {"transfer_data": {"destination": "acct_nope"}},
            }
        )
    with pytest.raises(stripe.InvalidRequestError, match="maximum billing interval"):
        client.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": 1,
                "product_data": {"name": "x"},
                "recurring": {"interval": "month", "interval_count": 13},
            }
        )
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 900,
            "product_data": {"name": "Box"},
            "recurring": {"interval": "year"},
        }
    )
    assert price.type == "recurring" and price.recurring.interval == "year" and price.recurring.interval_count == 1
    assert seller


def test_first_payment_with_3ds_in_checkout_then_renewals_off_session(client: stripe.StripeClient, sb: Sandbox) -> None:
    seller = onboarded_account(client, sb)
    session, result = _subscribe(client, sb, seller, amount=1_500, currency="usd", card="4000002500003155")
    assert result["status"] == "requires_action" and result["redirect_url"].endswith("/authenticate")
    assert session.status == "open"
    result = control(sb, f"checkout/sessions/{session.id}/authenticate", outcome="complete")
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert result["status"] == "succeeded" and session.status == "complete"
    sub = client.v1.subscriptions.retrieve(session.subscription)
    assert sub.status == "active"
    # The "authenticate unless set up" card was set up by that payment: the renewal needs nobody.
    control(sb, "clock/advance", seconds=MONTH)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and client.v1.invoices.retrieve(sub.latest_invoice).status == "paid"


@pytest.mark.parametrize(("currency", "amount"), [("usd", 2_000), ("jpy", 3_000)])
def test_a_subscription_given_another_card_renews_on_that_card(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int
) -> None:
    """Checkout sets the subscription's `default_payment_method` (the card paid with), which "takes
    precedence" over the customer's `invoice_settings.default_payment_method`: a new customer default
    changes nothing, and `subscriptions.update(default_payment_method=...)` with another of the
    customer's cards makes the next renewal charge that card (`customer.subscription.updated` with the
    old card in `previous_attributes`). A card of another customer is refused."""
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=amount, currency=currency)
    sub = client.v1.subscriptions.retrieve(session.subscription)
    first = sub.default_payment_method
    mastercard = client.v1.setup_intents.create(
        params={
            "customer": session.customer,
            "payment_method": "pm_card_mastercard",
            "confirm": True,
            "return_url": "https://shop.example/return",
        }
    ).payment_method
    client.v1.customers.update(session.customer, params={"invoice_settings": {"default_payment_method": mastercard}})
    control(sb, "clock/advance", seconds=MONTH)
    renewals = client.v1.charges.list(params={"customer": session.customer}).data
    assert [c.payment_method_details.card.last4 for c in renewals] == ["4242", "4242"]

    mark = _last_event(client)
    sub = client.v1.subscriptions.update(sub.id, params={"default_payment_method": mastercard})
    assert sub.default_payment_method == mastercard
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert (event.type, event.data.previous_attributes.to_dict()) == (
        "customer.subscription.updated",
        {"default_payment_method": first},
    )
    assert _types(client, mark) == ["customer.subscription.updated"]
    control(sb, "clock/advance", seconds=MONTH)
    charges = client.v1.charges.list(params={"customer": session.customer}).data
    assert [(c.amount, c.payment_method_details.card.last4) for c in charges] == [
        (amount, "4444"),
        (amount, "4242"),
        (amount, "4242"),
    ]
    assert charges[0].payment_method == mastercard
    stranger = client.v1.customers.create(params={"email": "s@example.com"})
    theirs = client.v1.setup_intents.create(
        params={
            "customer": stranger.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": "https://shop.example/return",
        }
    ).payment_method
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, params={"default_payment_method": theirs})
    assert refused.value.param == "default_payment_method"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("currency", "shown"), [("usd", "$79.00"), ("jpy", "¥7,900")])
def test_an_abandoned_subscription_checkout_expires_after_23_hours_and_its_invoice_is_voided(
    client: stripe.StripeClient, sb: Sandbox, currency: str, shown: str
) -> None:
    """Declined, then a 3-D Secure card whose authentication is never finished: the incomplete subscription becomes
    ``incomplete_expired`` 23 hours after it was created and its open invoice is voided (API reference,
    ``Subscription.status``), so the buyer's portal no longer lists it nor an open invoice to pay."""
    seller = onboarded_account(client, sb)
    session, result = _subscribe(client, sb, seller, amount=7_900, currency=currency, card="4000000000000002")
    assert result["status"] == "declined"
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4000002760003184")
    assert result["status"] == "requires_action"
    (sub,) = client.v1.subscriptions.list(params={"customer": session.customer, "status": "all"}).data
    mark = _last_event(client)
    control(sb, "clock/advance", seconds=23 * 3600 - 60)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "open"
    control(sb, "clock/advance", seconds=60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "incomplete_expired" and sub.ended_at == sub.created + 23 * 3600
    assert invoice.status == "void" and invoice.status_transitions.voided_at == sub.ended_at
    pi = client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
    assert pi.status == "canceled" and pi.cancellation_reason == "void_invoice"
    assert _types(client, mark) == ["customer.subscription.updated", "payment_intent.canceled", "invoice.voided"]
    updated = client.v1.events.list(params={"type": "customer.subscription.updated", "limit": 1}).data[0]
    assert updated.data.previous_attributes["status"] == "incomplete"
    _, _, page = fetch_no_redirect(_portal(client, session.customer).url)
    assert "No subscriptions." in page and f"<td>{shown}</td><td>void</td>" in page and ">open<" not in page
    control(sb, "clock/advance", seconds=DAY)  # nothing is retried or renewed
    assert len(client.v1.invoices.list(params={"customer": session.customer}).data) == 1
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_an_expired_incomplete_subscription_is_replaced_when_the_open_checkout_is_paid(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    """The Checkout Session outlives the subscription's 23 hours (Sessions last 24 by default): paying it then
    starts a new subscription; the expired one and its voided invoice stay as they are."""
    seller = onboarded_account(client, sb)
    session, result = _subscribe(client, sb, seller, amount=1_500, currency="usd", card="4000000000000002")
    (expired,) = client.v1.subscriptions.list(params={"customer": session.customer, "status": "all"}).data
    control(sb, "clock/advance", seconds=23 * 3600)
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    session = client.v1.checkout.sessions.retrieve(session.id)
    assert result["status"] == "succeeded" and session.subscription != expired.id
    assert client.v1.subscriptions.retrieve(session.subscription).status == "active"
    assert client.v1.subscriptions.retrieve(expired.id).status == "incomplete_expired"
    assert client.v1.invoices.retrieve(expired.latest_invoice).status == "void"


@pytest.mark.parametrize(("currency", "amount"), [("usd", 2_000), ("jpy", 1_999)])
def test_no_renewal_is_charged_to_a_seller_stripe_has_disabled(
    client: stripe.StripeClient, sb: Sandbox, currency: str, amount: int
) -> None:
    """A renewal declined while the seller could sell, then Stripe disables the seller (requirements past due:
    ``transfers`` inactive): neither the buyer paying the hosted invoice page nor Stripe's retry makes a charge or
    moves money to the seller, as Stripe refuses any destination charge to such an account ("pausing payments
    blocks creation of any charges", docs.stripe.com/connect/pausing-payments-or-payouts-on-connected-accounts).
    Once the seller is enabled again the next retry is paid."""
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=amount, currency=currency)
    fetch_no_redirect(_portal(client, session.customer).url, b"action=card&cardNumber=4000000000000341")
    control(sb, "clock/advance", seconds=MONTH)
    sub = client.v1.subscriptions.retrieve(session.subscription)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "past_due" and invoice.status == "open"
    control(
        sb,
        f"accounts/{seller}/requirements",
        currently_due="individual.verification.document",
        disabled_reason="requirements.past_due",
    )
    seller_before = balances(client, seller, currency)
    charges_before = len(client.v1.charges.list(params={"limit": 100}).data)
    mark = _last_event(client)
    _, _, page = fetch_no_redirect(invoice.hosted_invoice_url, b"cardNumber=4242424242424242")
    assert "insufficient_capabilities_for_transfer" not in page and "Paid on" not in page
    control(sb, "clock/advance", seconds=2 * DAY)  # Stripe's retry
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert invoice.status == "open" and client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert len(client.v1.charges.list(params={"limit": 100}).data) == charges_before
    assert balances(client, seller, currency) == seller_before
    types = _types(client, mark)
    assert "charge.succeeded" not in types and "transfer.created" not in types and "invoice.payment_failed" in types
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.confirm(
            invoice.payments.data[0].payment.payment_intent, params={"payment_method": "pm_card_visa"}
        )
    assert refused.value.code == "insufficient_capabilities_for_transfer"  # type: ignore[attr-defined]
    control(sb, f"accounts/{seller}/requirements", currently_due="")
    fetch_no_redirect(_portal(client, session.customer).url, b"action=card&cardNumber=4242424242424242")
    control(sb, "clock/advance", seconds=2 * DAY)
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert balances(client, seller, currency)[1] > seller_before[1]


def test_listing_without_a_status_leaves_out_only_canceled_subscriptions(
    client: stripe.StripeClient, sb: Sandbox
) -> None:
    """The API reference's ``status`` of ``GET /v1/subscriptions``: "If no value is supplied, all subscriptions
    that have not been canceled are returned"; ``ended`` is "canceled and subscriptions that are expired due to
    incomplete payment", so an ``incomplete_expired`` one is not a canceled one: the default list has it."""
    seller = onboarded_account(client, sb)
    session, _ = _subscribe(client, sb, seller, amount=1_500, currency="usd", card="4000000000000002")
    control(sb, "clock/advance", seconds=23 * 3600)
    customer = session.customer
    (expired,) = client.v1.subscriptions.list(params={"customer": customer, "status": "all"}).data
    assert expired.status == "incomplete_expired"
    result = control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    assert result["status"] == "succeeded"
    live = client.v1.checkout.sessions.retrieve(session.id).subscription
    client.v1.subscriptions.cancel(live)

    def ids(**params: str) -> set[str]:
        return {s.id for s in client.v1.subscriptions.list(params={"customer": customer, **params}).data}

    assert ids() == {expired.id}
    assert ids(status="ended") == {expired.id, live}
    assert ids(status="canceled") == {live}
    assert ids(status="incomplete_expired") == {expired.id}
    assert ids(status="all") == {expired.id, live}
