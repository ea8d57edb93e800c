"""PaymentIntents, Charges and Refunds, with Stripe's test cards and the money each payment moves."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .. import money
from ..core import Core, Ctx, Route, diff
from ..errors import StripeError, invalid
from ..store import Obj, empty_billing_details, list_envelope, new_id, template


@dataclass(frozen=True)
class TestCard:
    """One of Stripe's documented test cards (docs.stripe.com/testing) and what happens when it is used."""

    number: str
    brand: str = "visa"
    decline_code: str | None = None
    three_ds: bool = False  # an on-session payment asks for 3-D Secure
    auth_on_setup: bool = False  # saving it (SetupIntent) asks for 3-D Secure
    auth_off_session: bool = False  # off-session payments need the buyer even once it was set up
    decline_after_auth: str | None = None  # authenticates, then the bank declines with this code
    attach_only: bool = False  # saving it succeeds; every charge is declined
    dispute: bool = False
    dispute_reason: str = "fraudulent"
    inquiry: bool = False  # the dispute opens as an inquiry (warning_needs_response): no funds withdrawn
    available_now: bool = False
    funding: str = "credit"
    refund: str | None = None  # "pending": refunds stay pending, then succeed; "fail": they succeed, then fail


CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("4242424242424242"),
    "pm_card_mastercard": TestCard("5555555555554444", brand="mastercard"),
    "pm_card_chargeDeclined": TestCard("4000000000000002", decline_code="generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard("4000000000009995", decline_code="insufficient_funds"),
    # docs.stripe.com/testing, "Authentication and setup" (connect-behaviour.md section g).
    "pm_card_authenticationRequiredOnSetup": TestCard("4000002500003155", three_ds=True, auth_on_setup=True),
    "pm_card_authenticationRequired": TestCard(
        "4000002760003184", three_ds=True, auth_on_setup=True, auth_off_session=True
    ),
    "pm_card_authenticationRequiredSetupForOffSession": TestCard("4000003800000446", three_ds=True),
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": TestCard(
        "4000008260003178",
        three_ds=True,
        auth_on_setup=True,
        auth_off_session=True,
        decline_after_auth="insufficient_funds",
    ),
    "pm_card_threeDSecure2Required": TestCard(
        "4000000000003220", three_ds=True, auth_on_setup=True, auth_off_session=True
    ),
    "pm_card_chargeCustomerFail": TestCard("4000000000000341", attach_only=True),
    "pm_card_createDispute": TestCard("4000000000000259", dispute=True),
    # docs.stripe.com/testing "Disputes": product not received, and an inquiry (the PaymentMethod names of these
    # two are the sandbox's own: UNCONFIRMED; the inquiry's reason too).
    "pm_card_createDisputeProductNotReceived": TestCard(
        "4000000000002685", dispute=True, dispute_reason="product_not_received"
    ),
    "pm_card_createDisputeInquiry": TestCard("4000000000001976", dispute=True, inquiry=True),
    "pm_card_bypassPending": TestCard("4000000000000077", available_now=True),
    # docs.stripe.com/testing "Refunds": a refund starts pending and succeeds later / succeeds, then fails.
    "pm_card_pendingRefund": TestCard("4000000000007726", refund="pending"),
    "pm_card_refundFail": TestCard("4000000000005126", refund="fail"),
}
PM_BY_NUMBER = {card.number: pm for pm, card in CARDS.items()}
# Sandbox seconds after which a test card's asynchronous refund outcome happens (on the next clock advance).
REFUND_SETTLE_SECONDS = 60
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}
# What the API puts in `last_payment_error.message` when 3-D Secure fails (a real payload's wording) ...
AUTH_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)
# ... and what Stripe's own pages (Stripe.js, hosted Checkout) tell the buyer for the same failure.
AUTH_FAILED_BUYER = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)

PI_SCHEMA: dict[str, Any] = {
    "amount": "int",
    "currency": "str",
    "application_fee_amount": "int",
    "automatic_payment_methods": {"enabled": "bool", "allow_redirects": ("always", "never")},
    "capture_method": ("automatic", "automatic_async", "manual"),
    "confirm": "bool",
    "customer": "str",
    "description": "str",
    "metadata": "meta",
    "on_behalf_of": "str",
    "payment_method": "str",
    "payment_method_types": "any",
    "allowed_payment_method_types": ["str"],
    "excluded_payment_method_types": ["str"],
    "payment_method_options": "any",
    "setup_future_usage": ("off_session", "on_session"),
    "error_on_requires_action": "bool",
    "receipt_email": "str",
    "return_url": "str",
    "off_session": "bool",
    "statement_descriptor": "str",
    "statement_descriptor_suffix": "str",
    "transfer_data": {"!destination": "str", "amount": "int"},
    "transfer_group": "str",
}


# https://docs.stripe.com/changelog/2023-08-16/automatic-payment-methods (wording quoted in
# woocommerce-gateway-stripe#2982).
RETURN_URL_REQUIRED = (
    "A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment "
    "methods enabled in the Dashboard, some of which may require a full page redirect to succeed. If you do not want "
    "to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents."
)


def refuse_payment_method_types(p: dict[str, Any]) -> None:
    """The pinned version (endive, 2026-09-30 changelog) no longer takes `payment_method_types` on PaymentIntents and
    SetupIntents."""
    if "payment_method_types" in p:
        raise invalid(
            "The parameter `payment_method_types` is no longer supported in this API version. Use "
            "`allowed_payment_method_types` or `excluded_payment_method_types` instead.",
            param="payment_method_types",
            code="payment_method_types_no_longer_supported",
        )


def require_return_url(intent: Obj, return_url: str | None, *, off_session: bool) -> None:
    """Since 2023-08-16 confirming an intent with automatic payment methods needs a `return_url`, unless the
    payment is off-session or redirects were turned off (`allow_redirects=never`)."""
    apm = intent.get("automatic_payment_methods") or {}
    redirects = apm.get("enabled") and apm.get("allow_redirects") != "never"
    if redirects and not off_session and not return_url and not intent.get("_return_url"):
        raise invalid(RETURN_URL_REQUIRED, param="return_url")


def check_destination(core: Core, destination: str, param: str) -> None:
    """Stripe refuses destination charges to unknown accounts and to ones without an active ``transfers``."""
    acct = core.store.objects.get(destination)
    if not acct or acct.get("object") != "account" or acct.get("_deleted"):
        raise StripeError(400, f"No such destination: '{destination}'", code="resource_missing", param=param)
    if acct["capabilities"].get("transfers") != "active" and acct["capabilities"].get("card_payments") != "active":
        raise StripeError(
            400,
            "Your destination account needs to have at least one of the following capabilities enabled: "
            "transfers, crypto_transfers, legacy_payments",
            code="insufficient_capabilities_for_transfer",
            param=param,
        )


# Stripe's amount field takes at most 8 digits in minor units ($999,999.99, ¥99,999,999).
MAXIMUM_AMOUNT = 99_999_999


def check_amounts(
    amount: int, fee: int | None, transfer_amount: int | None, prefix: str = "", *, currency: str = "usd"
) -> None:
    if amount < 1:
        raise StripeError(400, "Amount must be at least 1", code="amount_too_small", param=f"{prefix}amount")
    if amount > MAXIMUM_AMOUNT:
        most = money.format_amount(MAXIMUM_AMOUNT, currency)
        raise StripeError(400, f"Amount must be no more than {most}", code="amount_too_large", param=f"{prefix}amount")
    if fee is not None and not 0 <= fee <= amount:
        raise invalid(
            "The application fee amount must be positive and cannot exceed the amount of the payment.",
            param=f"{prefix}application_fee_amount",
        )
    if transfer_amount is not None and not 0 < transfer_amount <= amount:
        raise invalid(
            "The transfer amount cannot be greater than the amount of the payment.",
            param=f"{prefix}transfer_data[amount]",
        )


def new_payment_intent(core: Core, owner: str, p: dict[str, Any]) -> Obj:
    """A PaymentIntent (``payment_intent.created``); through the API it has automatic payment methods on, the
    default since 2023-08-16, while Checkout's own intents list ``card``."""
    now = core.store.now()
    pi_id = new_id("pi_")
    transfer_data = p.get("transfer_data")
    if transfer_data:
        if owner:
            raise invalid("Destination charges cannot be created on behalf of a connected account.")
        check_destination(core, transfer_data["destination"], "transfer_data[destination]")
    check_amounts(
        p["amount"], p.get("application_fee_amount"), (transfer_data or {}).get("amount"), currency=p["currency"]
    )
    if p.get("customer"):
        core.store.get(p["customer"], "customer", owner)
    pm_id = p.get("payment_method")
    if pm_id and pm_id not in CARDS:
        pm = core.store.objects.get(pm_id)
        if pm is None or pm.get("object") != "payment_method" or core.store.owner.get(pm_id) != owner:
            raise StripeError(404, f"No such PaymentMethod: '{pm_id}'", code="resource_missing", param="payment_method")
        if pm["customer"] and pm["customer"] != p.get("customer"):
            raise invalid(
                "The provided PaymentMethod belongs to a Customer, so the Customer must be given too.",
                param="customer",
            )
    pi = template(
        "payment_intent",
        id=pi_id,
        amount=p["amount"],
        amount_received=0,
        amount_capturable=0,
        application_fee_amount=p.get("application_fee_amount"),
        automatic_payment_methods=p.get("_automatic_payment_methods"),
        capture_method=p.get("capture_method") or "automatic",
        client_secret=f"{pi_id}_secret_{new_id('', 24)}",
        created=now,
        currency=p["currency"].lower(),
        customer=p.get("customer"),
        description=p.get("description"),
        metadata=p.get("metadata") or {},
        on_behalf_of=p.get("on_behalf_of"),
        payment_method=p.get("payment_method"),
        payment_method_types=["card"],
        setup_future_usage=p.get("setup_future_usage"),
        receipt_email=p.get("receipt_email"),
        statement_descriptor=p.get("statement_descriptor"),
        statement_descriptor_suffix=p.get("statement_descriptor_suffix"),
        status="requires_payment_method" if not p.get("payment_method") else "requires_confirmation",
        transfer_data=(
            {"destination": transfer_data["destination"], "amount": transfer_data.get("amount")}
            if transfer_data
            else None
        ),
        transfer_group=p.get("transfer_group"),
    )
    if pi["transfer_data"] and pi["transfer_data"]["amount"] is None:
        del pi["transfer_data"]["amount"]
    core.store.add(pi, owner)
    core.emit("payment_intent.created", pi, account=owner)
    return pi


def pi_create(ctx: Ctx) -> Obj:
    p = ctx.params(PI_SCHEMA)
    refuse_payment_method_types(p)
    for key in ("amount", "currency"):
        if p.get(key) is None:
            raise StripeError(400, f"Missing required param: {key}.", code="parameter_missing", param=key)
    if not p.get("confirm"):
        for key in ("return_url", "off_session", "error_on_requires_action"):
            if key in p:
                raise invalid(f"You can only pass `{key}` when `confirm=true`.", param=key)
    apm = p.get("automatic_payment_methods") or {"enabled": True}
    if p.get("error_on_requires_action") and apm.get("allow_redirects") != "never":
        raise invalid(
            "`error_on_requires_action` cannot be used with `automatic_payment_methods` unless "
            "`allow_redirects` is `never`.",
            param="error_on_requires_action",
        )
    p["_automatic_payment_methods"] = {"allow_redirects": apm.get("allow_redirects") or "always", "enabled": True}
    if p.get("confirm"):
        probe = {"automatic_payment_methods": p["_automatic_payment_methods"]}
        require_return_url(probe, p.get("return_url"), off_session=bool(p.get("off_session")))
    pi = new_payment_intent(ctx.core, ctx.owner, p)
    if p.get("confirm"):
        pi["_return_url"] = p.get("return_url")
        pi["_off_session"] = bool(p.get("off_session"))
        pi["_error_on_requires_action"] = bool(p.get("error_on_requires_action"))
        return confirm(ctx.core, pi, raise_on_decline=True)
    return pi


def pi_retrieve(ctx: Ctx, pi_id: str) -> Obj:
    ctx.params({"client_secret": "str"})
    return ctx.store.get(pi_id, "payment_intent", ctx.owner)


def pi_update(ctx: Ctx, pi_id: str) -> Obj:
    pi = ctx.store.get(pi_id, "payment_intent", ctx.owner)
    schema = {
        k: v
        for k, v in PI_SCHEMA.items()
        if k not in ("confirm", "return_url", "off_session", "on_behalf_of", "error_on_requires_action")
    }
    p = ctx.params(schema)
    refuse_payment_method_types(p)
    if pi["status"] in ("succeeded", "canceled", "processing") and "amount" in p:
        raise invalid(
            f"This PaymentIntent's amount could not be updated because it has a status of {pi['status']}. "
            "You may only update the amount of a PaymentIntent with one of the following statuses: "
            "requires_payment_method, requires_confirmation, requires_action.",
            code="payment_intent_unexpected_state",
        )
    if "metadata" in p:
        pi["metadata"] = {k: v for k, v in {**pi["metadata"], **p.pop("metadata")}.items() if v}
    if "transfer_data" in p:
        td = p.pop("transfer_data")
        check_destination(ctx.core, td["destination"], "transfer_data[destination]")
        pi["transfer_data"] = dict(td)
    for key, value in p.items():
        if key != "expand":
            pi[key] = value
    if p.get("payment_method") and pi["status"] == "requires_payment_method":
        pi["status"] = "requires_confirmation"
    return pi


def pi_confirm(ctx: Ctx, pi_id: str) -> Obj:
    pi = ctx.store.get(pi_id, "payment_intent", ctx.owner)
    p = ctx.params(
        {
            "payment_method": "str",
            "return_url": "str",
            "off_session": "bool",
            "receipt_email": "str",
            "error_on_requires_action": "bool",
            "setup_future_usage": ("off_session", "on_session"),
        }
    )
    if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise invalid(
            f"This PaymentIntent's payment_method could not be updated because it has a status of {pi['status']}. "
            "You may only update the payment_method of a PaymentIntent with one of the following statuses: "
            "requires_payment_method, requires_confirmation, requires_action.",
            code="payment_intent_unexpected_state",
        )
    if p.get("payment_method"):
        pi["payment_method"] = p["payment_method"]
    if not pi["payment_method"]:
        raise invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update "
            "the PaymentIntent with a payment method and then confirm it again, or confirm it again directly "
            "with a payment method.",
            code="payment_intent_unexpected_state",
        )
    require_return_url(pi, p.get("return_url"), off_session=bool(p.get("off_session")))
    if p.get("return_url"):
        pi["_return_url"] = p["return_url"]
    pi["_off_session"] = bool(p.get("off_session"))
    pi["_error_on_requires_action"] = bool(p.get("error_on_requires_action"))
    if p.get("setup_future_usage"):
        pi["setup_future_usage"] = p["setup_future_usage"]
    return confirm(ctx.core, pi, raise_on_decline=True)


def card_for(core: Core, pm: str | None, param: str = "payment_method") -> TestCard:
    """The test card behind a magic id (``pm_card_visa``) or a saved ``pm_`` object."""
    card = CARDS.get(pm or "")
    if card is None and pm:
        obj = core.store.objects.get(pm)
        if obj is not None and obj.get("object") == "payment_method":
            card = CARDS[PM_BY_NUMBER[obj["_card"]]]
    if card is None:
        raise StripeError(404, f"No such PaymentMethod: '{pm}'", code="resource_missing", param=param)
    return card


def _set_up_for_off_session(core: Core, pm: str | None) -> bool:
    obj = core.store.objects.get(pm or "")
    return bool(obj and obj.get("object") == "payment_method" and obj.get("_set_up"))


def check_charge_destination(core: Core, pi: Obj) -> None:
    """A destination charge is refused when it is made, not only when its PaymentIntent is created: an account
    Stripe has disabled since (requirements past due, payments paused) has its ``transfers`` capability inactive,
    and "pausing payments blocks creation of any charges" (docs.stripe.com/connect/pausing-payments-or-payouts-on-
    connected-accounts). So a retry of a subscription's renewal, its hosted invoice page or a Checkout page opened
    before the account was disabled charges nothing and moves no money to it."""
    if pi.get("transfer_data"):
        check_destination(core, pi["transfer_data"]["destination"], "transfer_data[destination]")


def confirm(core: Core, pi: Obj, *, raise_on_decline: bool, authenticated: bool = False) -> Obj:
    """Run the payment: 3-D Secure step, decline, or a successful charge and everything it moves; an invoice's
    PaymentIntent then brings its invoice and subscription along, whatever the outcome. A destination that can
    no longer receive transfers is refused first (``check_charge_destination``): nothing happens to the intent."""
    check_charge_destination(core, pi)
    try:
        return _confirm(core, pi, raise_on_decline=raise_on_decline, authenticated=authenticated)
    finally:
        if pi.get("_invoice"):
            from . import billing

            billing.after_attempt(core, pi)


def _confirm(core: Core, pi: Obj, *, raise_on_decline: bool, authenticated: bool) -> Obj:
    owner = core.store.owner[pi["id"]]
    card = card_for(core, pi["payment_method"])
    decline_code = card.decline_code or ("generic_decline" if card.attach_only else None)
    if authenticated and card.decline_after_auth:
        decline_code = card.decline_after_auth
    needs_auth = card.three_ds and not authenticated
    if needs_auth and pi.get("_off_session"):
        # Off-session, nobody can authenticate: the bank declines unless the card was set up for it.
        if card.auth_off_session or not _set_up_for_off_session(core, pi["payment_method"]):
            decline_code = "authentication_required"
        needs_auth = False
    elif needs_auth and pi.get("_error_on_requires_action"):
        decline_code, needs_auth = "authentication_required", False
    if needs_auth:
        pi["status"] = "requires_action"
        pi["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": pi.get("_return_url"),
                "url": f"{core.base_url}/hosted/authenticate/{pi['id']}",
            },
        }
        core.emit("payment_intent.requires_action", pi, account=owner)
        return pi
    pi["next_action"] = None
    charge = _new_charge(core, pi, card, owner)
    if decline_code:
        charge.update(
            status="failed",
            paid=False,
            captured=False,
            failure_code="card_declined",
            failure_message=DECLINE_MESSAGES[decline_code],
        )
        charge["outcome"].update(
            network_status="declined_by_network",
            reason=decline_code,
            risk_level="normal",
            seller_message="The bank did not return any further details with this decline.",
            type="issuer_declined",
        )
        pi["latest_charge"] = charge["id"]
        pi["status"] = "requires_payment_method"
        pi["last_payment_error"] = {
            "charge": charge["id"],
            "code": "authentication_required" if decline_code == "authentication_required" else "card_declined",
            "decline_code": decline_code,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
            "message": DECLINE_MESSAGES[decline_code],
            "type": "card_error",
        }
        core.emit("charge.failed", charge, account=owner)
        core.emit("payment_intent.payment_failed", pi, account=owner)
        if raise_on_decline:
            raise StripeError(
                402,
                DECLINE_MESSAGES[decline_code],
                type="card_error",
                code="authentication_required" if decline_code == "authentication_required" else "card_declined",
                decline_code=decline_code,
                extra={"charge": charge["id"], "payment_intent": copy.deepcopy(pi)},
            )
        return pi
    pi["latest_charge"] = charge["id"]
    pi["last_payment_error"] = None
    if pi["capture_method"] == "manual":
        charge["captured"] = False
        charge["amount_captured"] = 0
        pi["status"] = "requires_capture"
        pi["amount_capturable"] = pi["amount"]
        core.emit("charge.succeeded", charge, account=owner)
        core.emit("payment_intent.amount_capturable_updated", pi, account=owner)
        return pi
    _capture(core, pi, charge, pi["amount"], card, owner)
    if pi.get("setup_future_usage") and pi["customer"]:
        from . import methods

        pm = methods.concrete(core, owner, pi["payment_method"])
        methods.attach(core, pm, pi["customer"])
        pm["_set_up"] = pm["_set_up"] or pi["setup_future_usage"] == "off_session"
        pi["payment_method"] = charge["payment_method"] = pm["id"]
    return pi


def fail_authentication(core: Core, pi: Obj) -> Obj:
    """The buyer failed 3-D Secure: Stripe puts the PaymentIntent back to ``requires_payment_method`` with
    ``payment_intent_authentication_failure``, so the same PaymentIntent can be confirmed again with any card."""
    pi.update(
        status="requires_payment_method",
        next_action=None,
        last_payment_error={
            "code": "payment_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
            "message": AUTH_FAILED,
            "type": "invalid_request_error",
        },
    )
    core.emit("payment_intent.payment_failed", pi, account=core.store.owner[pi["id"]])
    if pi.get("_invoice"):
        from . import billing

        billing.after_attempt(core, pi)
    return pi


def buyer_message(pi: Obj) -> str | None:
    """The sentence a Stripe-hosted page shows the buyer for the PaymentIntent's last failed attempt."""
    err = pi.get("last_payment_error") or {}
    if err.get("code") == "payment_intent_authentication_failure":
        return AUTH_FAILED_BUYER
    message = err.get("message")
    return str(message) if message else None


def _new_charge(core: Core, pi: Obj, card: TestCard, owner: str) -> Obj:
    ch_id = new_id("ch_")
    charge = template(
        "charge",
        id=ch_id,
        amount=pi["amount"],
        amount_captured=pi["amount"],
        amount_refunded=0,
        application_fee=None,
        application_fee_amount=pi["application_fee_amount"],
        balance_transaction=None,
        billing_details=empty_billing_details(email=pi.get("receipt_email")),
        calculated_statement_descriptor="SANDBOX",
        captured=True,
        created=core.store.now(),
        currency=pi["currency"],
        customer=pi["customer"],
        description=pi["description"],
        disputed=False,
        metadata=copy.deepcopy(pi["metadata"]),
        on_behalf_of=pi["on_behalf_of"],
        paid=True,
        payment_intent=pi["id"],
        payment_method=pi["payment_method"],
        receipt_email=pi.get("receipt_email"),
        receipt_url=f"{core.base_url}/hosted/receipts/{ch_id}",
        refunded=False,
        refunds=list_envelope([], f"/v1/charges/{ch_id}/refunds"),
        status="succeeded",
        transfer_data=copy.deepcopy(pi["transfer_data"]) if pi["transfer_data"] else None,
        transfer_group=pi["transfer_group"],
        _card=card.number,
    )
    if charge["transfer_data"] is not None:
        charge["transfer_data"].setdefault("amount", None)
    details = charge["payment_method_details"]["card"]
    details.update(
        brand=card.brand,
        network=card.brand,
        last4=card.number[-4:],
        funding=card.funding,
        fingerprint=f"fp{card.number[-8:]}",
        exp_month=12,
        exp_year=2034,
    )
    details["overcapture"]["maximum_amount_capturable"] = pi["amount"]
    details["checks"] = {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}
    return core.store.add(charge, owner)


def _capture(core: Core, pi: Obj, charge: Obj, amount: int, card: TestCard, owner: str) -> None:
    """Money for a captured card payment: the charge, then the destination transfer and application fee."""
    from . import connect, disputes

    now = core.store.now()
    available_on = now if card.available_now else now + money.PENDING_SECONDS
    fee = money.processing_fee(amount, charge["currency"])
    txn = money.add_txn(
        core.store,
        owner,
        amount=amount,
        currency=charge["currency"],
        type="charge",
        source=charge["id"],
        reporting_category="charge",
        fee=fee,
        fee_details=money.stripe_fee_details(fee, charge["currency"]),
        available_on=available_on,
        description=charge["description"],
    )
    charge.update(balance_transaction=txn["id"], captured=True, amount_captured=amount)
    charge["_available_on"] = available_on
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    core.emit("charge.succeeded", charge, account=owner)
    core.emit("payment_intent.succeeded", pi, account=owner)
    td = pi.get("transfer_data")
    if td:
        transfer_amount = td.get("amount") or amount
        transfer = connect.create_transfer(
            core,
            amount=transfer_amount,
            currency=charge["currency"],
            destination=td["destination"],
            source_transaction=charge["id"],
            transfer_group=pi["transfer_group"],
            metadata={},
            available_on=available_on,
            application_fee_amount=pi["application_fee_amount"] if not td.get("amount") else None,
        )
        charge["transfer"] = transfer["id"]
        fee_amount = pi["application_fee_amount"]
        if fee_amount and not td.get("amount"):
            app_fee = connect.create_application_fee(core, charge, transfer, fee_amount, available_on)
            charge["application_fee"] = app_fee["id"]
    if card.dispute:
        disputes.open_dispute(core, charge, reason=card.dispute_reason, inquiry=card.inquiry)


def pi_capture(ctx: Ctx, pi_id: str) -> Obj:
    pi = ctx.store.get(pi_id, "payment_intent", ctx.owner)
    p = ctx.params({"amount_to_capture": "int", "application_fee_amount": "int", "metadata": "meta"})
    if pi["status"] != "requires_capture":
        raise invalid(
            f"This PaymentIntent could not be captured because it has a status of {pi['status']}. Only a "
            "PaymentIntent with one of the following statuses may be captured: requires_capture.",
            code="payment_intent_unexpected_state",
        )
    amount = p.get("amount_to_capture") or pi["amount"]
    if amount > pi["amount_capturable"]:
        raise invalid("The amount to capture cannot exceed the amount capturable.", param="amount_to_capture")
    if "application_fee_amount" in p:
        pi["application_fee_amount"] = p["application_fee_amount"]
    charge = ctx.store.get(pi["latest_charge"], "charge", ctx.owner)
    _capture(ctx.core, pi, charge, amount, card_for(ctx.core, pi["payment_method"]), ctx.owner)
    return pi


def pi_cancel(ctx: Ctx, pi_id: str) -> Obj:
    pi = ctx.store.get(pi_id, "payment_intent", ctx.owner)
    p = ctx.params({"cancellation_reason": ("duplicate", "fraudulent", "requested_by_customer", "abandoned")})
    if pi["status"] in ("succeeded", "canceled", "processing"):
        raise invalid(
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a PaymentIntent "
            "with one of the following statuses may be canceled: requires_payment_method, requires_capture, "
            "requires_confirmation, requires_action, processing.",
            code="payment_intent_unexpected_state",
        )
    pi.update(
        status="canceled",
        canceled_at=ctx.store.now(),
        cancellation_reason=p.get("cancellation_reason"),
        amount_capturable=0,
        next_action=None,
    )
    ctx.core.emit("payment_intent.canceled", pi, account=ctx.owner)
    return pi


def pi_list(ctx: Ctx) -> Obj:
    p = ctx.params({"customer": "str"}, listing=True)
    match = {"customer": p["customer"]} if p.get("customer") else {}
    return ctx.store.list_page("payment_intent", ctx.owner, p, "/v1/payment_intents", **match)


def charge_retrieve(ctx: Ctx, ch_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(ch_id, "charge", ctx.owner)


def charge_list(ctx: Ctx) -> Obj:
    p = ctx.params({"customer": "str", "payment_intent": "str", "transfer_group": "str"}, listing=True)
    match = {k: p[k] for k in ("customer", "payment_intent", "transfer_group") if p.get(k)}
    return ctx.store.list_page("charge", ctx.owner, p, "/v1/charges", **match)


def charge_update(ctx: Ctx, ch_id: str) -> Obj:
    charge = ctx.store.get(ch_id, "charge", ctx.owner)
    p = ctx.params({"description": "str", "metadata": "meta", "transfer_group": "str", "receipt_email": "str"})
    before = copy.deepcopy(charge)
    if "metadata" in p:
        charge["metadata"] = {k: v for k, v in {**charge["metadata"], **p.pop("metadata")}.items() if v}
    charge.update({k: v for k, v in p.items() if k != "expand"})
    changed = diff(before, charge)
    if changed:
        ctx.core.emit("charge.updated", charge, account=ctx.owner, previous=changed)
    return charge


# -- refunds -----------------------------------------------------------------------------------------------------
REFUND_SCHEMA: dict[str, Any] = {
    "charge": "str",
    "payment_intent": "str",
    "amount": "int",
    "reason": ("duplicate", "fraudulent", "requested_by_customer"),
    "reverse_transfer": "bool",
    "refund_application_fee": "bool",
    "metadata": "meta",
    "instructions_email": "str",
}


def refund_create(ctx: Ctx) -> Obj:
    p = ctx.params(REFUND_SCHEMA)
    if p.get("payment_intent"):
        pi = ctx.store.get(p["payment_intent"], "payment_intent", ctx.owner)
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise invalid("This PaymentIntent does not have a successful charge to refund.", param="payment_intent")
        charge = ctx.store.get(pi["latest_charge"], "charge", ctx.owner)
    elif p.get("charge"):
        charge = ctx.store.get(p["charge"], "charge", ctx.owner)
    else:
        raise StripeError(
            400,
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    return create_refund(
        ctx.core,
        charge,
        amount=p.get("amount"),
        reason=p.get("reason"),
        metadata=p.get("metadata") or {},
        reverse_transfer=bool(p.get("reverse_transfer")),
        refund_application_fee=bool(p.get("refund_application_fee")),
    )


def create_refund(
    core: Core,
    charge: Obj,
    *,
    amount: int | None,
    reason: str | None,
    metadata: dict[str, str],
    reverse_transfer: bool,
    refund_application_fee: bool,
) -> Obj:
    """Refund part or all of a charge; on a destination charge also pull back the seller's share and the fee.

    Everything is checked before anything moves, so a refused refund leaves no trace: Stripe "returns an error
    instead of creating a refund" when the transfer reversal needs more than the connected account holds
    (connect/charges, "Refunds"). Which balance counts is UNCONFIRMED; the sandbox counts available + pending
    (a refund right after the sale, while the seller's funds are pending, goes through), net of the fee share the
    same refund pays back to the seller."""
    from . import connect, disputes

    owner = core.store.owner[charge["id"]]
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    cur = charge["currency"]
    if charge["status"] != "succeeded" or not charge["captured"]:
        raise invalid(f"Charge {charge['id']} has not been captured and cannot be refunded.", param="charge")
    if remaining <= 0:
        raise invalid(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    # An inquiry is not a chargeback: "no funds have been withdrawn and the payment it relates to can still be
    # refunded" (stripe.com/docs/disputes, "Inquiries and retrievals"); a dispute proper refuses it.
    dispute = core.store.objects.get(charge.get("dispute") or "")
    if charge.get("disputed") and not (dispute is not None and dispute["status"].startswith("warning_")):
        raise invalid(f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed")
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise invalid("Refund amount must be a positive integer.", param="amount", code="amount_too_small")
    if amount > remaining:
        raise invalid(
            f"Refund amount ({money.format_amount(amount, cur)}) is greater than unrefunded amount on charge "
            f"({money.format_amount(remaining, cur)})",
            param="amount",
        )
    if reverse_transfer and not charge.get("transfer"):
        raise invalid("You can only reverse a transfer for a destination charge.", param="reverse_transfer")
    if refund_application_fee and not charge.get("application_fee"):
        # alf.io#739 quotes Stripe's answer for a charge without a fee.
        raise invalid(
            f"Attempting to refund_application_fee on {charge['id']}, but it has no application fee.",
            param="refund_application_fee",
        )
    if refund_application_fee and charge.get("transfer") and not reverse_transfer:
        # connect/destination-charges: "if you refund the application fee for a destination charge, you must also
        # reverse the transfer" (Stripe's exact error text is UNCONFIRMED).
        raise invalid(
            "To refund the application fee of a destination charge you must also reverse the transfer "
            "(reverse_transfer=true).",
            param="refund_application_fee",
        )
    full = amount == remaining
    transfer = core.store.get(charge["transfer"], "transfer", None) if reverse_transfer else None
    fee = core.store.get(charge["application_fee"], "application_fee", None) if refund_application_fee else None
    reversal_share = _share(transfer, "amount_reversed", amount, charge["amount"], full) if transfer else 0
    fee_share = _share(fee, "amount_refunded", amount, charge["amount"], full) if fee else 0
    if transfer is not None and reversal_share > 0:
        seller = transfer["destination"]
        holds = money.total(core.store, seller, cur)
        if holds + fee_share < reversal_share:
            raise invalid(
                f"Insufficient funds in the destination account {seller} to reverse the transfer: it holds "
                f"{money.format_amount(holds, cur)}, the reversal needs "
                f"{money.format_amount(reversal_share - fee_share, cur)}.",
                code="balance_insufficient",
            )
    card = CARDS.get(PM_BY_NUMBER.get(charge.get("_card") or "", ""), CARDS["pm_card_visa"])
    now = core.store.now()
    refund = template(
        "refund",
        id=new_id("re_"),
        amount=amount,
        charge=charge["id"],
        created=now,
        currency=cur,
        metadata=metadata,
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="pending" if card.refund == "pending" else "succeeded",
        payment_method=charge["payment_method"],
        customer=charge["customer"],
    )
    if card.refund:
        refund["_settle_at"] = now + REFUND_SETTLE_SECONDS
        refund["_outcome"] = "failed" if card.refund == "fail" else "succeeded"
    core.store.add(refund, owner)
    txn = money.add_txn(
        core.store,
        owner,
        amount=-amount,
        currency=cur,
        type="refund",
        source=refund["id"],
        reporting_category="refund",
        description="REFUND FOR CHARGE",
    )
    refund["balance_transaction"] = txn["id"]
    before = copy.deepcopy(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    if transfer is not None and reversal_share > 0:
        reversal = connect.create_reversal(core, transfer, reversal_share, metadata={}, source_refund=refund["id"])
        refund["transfer_reversal"] = reversal["id"]
    if fee is not None and fee_share > 0:
        connect.create_fee_refund(core, fee, fee_share, metadata={})
    charge["refunds"]["data"].insert(0, refund)
    charge["refunds"]["data"] = charge["refunds"]["data"][:10]
    core.emit("refund.created", refund, account=owner)
    core.emit("charge.refunded", charge, account=owner, previous=diff(before, charge))
    if dispute is not None and charge["refunded"] and dispute["status"] in disputes.OPEN_INQUIRY_STATUSES:
        # "refund the payment in full. This marks the inquiry or retrieval as resolved" (same page).
        dispute["is_charge_refundable"] = False
        disputes.close_dispute(core, dispute, "warning_closed")
    return refund


def _share(obj: Obj, done_field: str, amount: int, charge_amount: int, full: bool) -> int:
    """What of a transfer (or fee) a refund of ``amount`` moves back: in proportion, the rest on a full refund."""
    left = int(obj["amount"] - obj[done_field])
    return left if full else min(left, money.proportional(amount, charge_amount, obj["amount"]))


def settle_refund(core: Core, refund: Obj) -> None:
    """The asynchronous outcome of a test card's refund (docs.stripe.com/testing "Refunds"): a pending refund
    succeeds; a failing one fails, its amount comes back to the platform (a ``refund_failure`` balance
    transaction, reporting category ``refund_failure``) and leaves the charge's ``amount_refunded``. What happens
    to the transfer reversal and fee refund of a failed destination-charge refund is UNCONFIRMED: they stay."""
    outcome = refund.pop("_outcome")
    refund.pop("_settle_at", None)
    owner = core.store.owner[refund["id"]]
    before = copy.deepcopy(refund)
    if outcome == "failed":
        txn = money.add_txn(
            core.store,
            owner,
            amount=refund["amount"],
            currency=refund["currency"],
            type="refund_failure",
            source=refund["id"],
            reporting_category="refund_failure",
            description="REFUND FAILURE",
        )
        refund.update(status="failed", failure_reason="expired_or_canceled_card", failure_balance_transaction=txn["id"])
        charge = core.store.objects[refund["charge"]]
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
    else:
        refund["status"] = "succeeded"
    previous = diff(before, refund)
    core.emit("refund.updated", refund, account=owner, previous=previous)
    core.emit("charge.refund.updated", refund, account=owner, previous=previous)
    if outcome == "failed":
        core.emit("refund.failed", refund, account=owner)


def refund_retrieve(ctx: Ctx, re_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(re_id, "refund", ctx.owner)


def refund_update(ctx: Ctx, re_id: str) -> Obj:
    refund = ctx.store.get(re_id, "refund", ctx.owner)
    p = ctx.params({"metadata": "meta"})
    before = copy.deepcopy(refund)
    refund["metadata"] = {k: v for k, v in {**refund["metadata"], **(p.get("metadata") or {})}.items() if v}
    ctx.core.emit("refund.updated", refund, account=ctx.owner, previous=diff(before, refund))
    return refund


def refund_list(ctx: Ctx) -> Obj:
    p = ctx.params({"charge": "str", "payment_intent": "str"}, listing=True)
    match = {k: p[k] for k in ("charge", "payment_intent") if p.get(k)}
    return ctx.store.list_page("refund", ctx.owner, p, "/v1/refunds", **match)


ROUTES: list[Route] = [
    ("POST", r"/v1/payment_intents", pi_create),
    ("GET", r"/v1/payment_intents", pi_list),
    ("GET", r"/v1/payment_intents/([^/]+)", pi_retrieve),
    ("POST", r"/v1/payment_intents/([^/]+)", pi_update),
    ("POST", r"/v1/payment_intents/([^/]+)/confirm", pi_confirm),
    ("POST", r"/v1/payment_intents/([^/]+)/capture", pi_capture),
    ("POST", r"/v1/payment_intents/([^/]+)/cancel", pi_cancel),
    ("GET", r"/v1/charges", charge_list),
    ("GET", r"/v1/charges/([^/]+)", charge_retrieve),
    ("POST", r"/v1/charges/([^/]+)", charge_update),
    ("POST", r"/v1/refunds", refund_create),
    ("GET", r"/v1/refunds", refund_list),
    ("GET", r"/v1/refunds/([^/]+)", refund_retrieve),
    ("POST", r"/v1/refunds/([^/]+)", refund_update),
]
