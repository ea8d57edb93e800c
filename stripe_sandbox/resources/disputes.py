"""Disputes: opened by the dispute test card or the control API, answered with evidence, closed as won or lost."""

from __future__ import annotations

import copy
from typing import Any

from .. import money
from ..core import Core, Ctx, Route, diff
from ..errors import invalid
from ..store import Obj, new_id, template

EVIDENCE_DAYS = 7
_TEXT_FIELDS = [
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
]
_FILE_FIELDS = [
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
]
EVIDENCE_SCHEMA: dict[str, Any] = dict.fromkeys(_TEXT_FIELDS + _FILE_FIELDS, "str")
EVIDENCE_MAX_CHARACTERS = 150_000  # [API]: "The combined character count of all fields is limited to 150,000."
SUBMISSION_METHODS = ["automatic", "manual", "prefer_automatic", "prefer_manual"]
# Test mode: evidence text that decides the outcome on submission (docs.stripe.com/testing, "Evidence").
OPEN_INQUIRY_STATUSES = ("warning_needs_response", "warning_under_review")
MAGIC_OUTCOMES = {"winning_evidence": "won", "losing_evidence": "lost"}
# The platform account's country: where its fee rules come from (the emulated platform is a US business).
PLATFORM_COUNTRY = "US"


# Stripe's dispute reasons (Dispute object, `reason`).
REASONS = [
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
]
OPEN_STATUSES = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")


def disputable_amount(charge: Obj) -> int:
    """What a cardholder can still dispute: the captured amount not refunded; 0 when the charge cannot be disputed
    (not a captured card payment, already disputed, or fully refunded: "Disputes and chargebacks aren't possible on
    credit card charges that are fully refunded")."""
    if not charge.get("payment_intent") or charge["status"] != "succeeded" or not charge["captured"]:
        return 0
    if charge.get("disputed"):
        return 0
    return int(charge["amount_captured"] - charge["amount_refunded"])


def open_dispute(
    core: Core, charge: Obj, *, reason: str = "fraudulent", amount: int | None = None, inquiry: bool = False
) -> Obj:
    """The card network opens a dispute: Stripe debits the disputed amount plus the dispute fee from the balance the
    charge landed on (the platform's, for destination charges) and sends ``charge.dispute.created`` and
    ``charge.dispute.funds_withdrawn``. An inquiry (``warning_needs_response``) moves no money and sends only
    ``charge.dispute.created``."""
    left = disputable_amount(charge)
    if left <= 0:
        raise invalid(f"Charge {charge['id']} cannot be disputed (already disputed, refunded, or not paid).")
    if reason not in REASONS:
        raise invalid(f"Invalid reason: must be one of {', '.join(REASONS)}", param="reason")
    amount = left if amount is None else amount
    if not 0 < amount <= left:
        raise invalid(
            f"The disputed amount must be between 1 and {left} ({money.format_amount(left, charge['currency'])}).",
            param="amount",
        )
    owner = core.store.owner[charge["id"]]
    now = core.store.now()
    dispute = template(
        "dispute",
        id=new_id("dp_"),
        amount=amount,
        charge=charge["id"],
        created=now,
        currency=charge["currency"],
        is_charge_refundable=inquiry,  # an inquiry's payment "can still be refunded" (stripe.com/docs/disputes)
        metadata={},
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="warning_needs_response" if inquiry else "needs_response",
    )
    dispute["evidence_details"] = {
        "due_by": now + EVIDENCE_DAYS * 86400,
        "has_evidence": False,
        "past_due": False,
        "submission_count": 0,
        "enhanced_eligibility": {},
    }
    dispute["payment_method_details"]["card"].update(brand=charge["payment_method_details"]["card"]["brand"])
    dispute["balance_transactions"] = []
    if not inquiry:
        fee = money.dispute_fee(charge["currency"])
        txn = money.add_txn(
            core.store,
            owner,
            amount=-amount,
            currency=charge["currency"],
            type="adjustment",
            source=dispute["id"],
            reporting_category="dispute",
            fee=fee,
            fee_details=money.stripe_fee_details(fee, charge["currency"], "Dispute fee"),
            description=f"Chargeback withdrawal for {charge['id']}",
        )
        dispute["balance_transactions"] = [copy.deepcopy(txn)]
    core.store.add(dispute, owner)
    charge["disputed"] = True
    charge["dispute"] = dispute["id"]
    core.emit("charge.dispute.created", dispute, account=owner)
    if not inquiry:
        core.emit("charge.dispute.funds_withdrawn", dispute, account=owner)
    return dispute


def dispute_retrieve(ctx: Ctx, dp_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(dp_id, "dispute", ctx.owner)


def dispute_list(ctx: Ctx) -> Obj:
    p = ctx.params({"charge": "str", "payment_intent": "str"}, listing=True)
    match = {k: p[k] for k in ("charge", "payment_intent") if p.get(k)}
    return ctx.store.list_page("dispute", ctx.owner, p, "/v1/disputes", **match)


def dispute_update(ctx: Ctx, dp_id: str) -> Obj:
    """Evidence is staged with ``submit=false`` and sent to the bank otherwise: ``submit`` defaults to true
    ([API] ``_dispute_update_params.py``: "...set to `true` (the default)"). A submission after ``due_by`` is
    accepted and marks ``evidence_details.past_due`` ("the last evidence submission was submitted past the due
    date"). In test mode, ``uncategorized_text`` ``winning_evidence`` / ``losing_evidence`` closes the submitted
    dispute won / lost at once (docs.stripe.com/testing, "Evidence")."""
    dispute = ctx.store.get(dp_id, "dispute", ctx.owner)
    p = ctx.params(
        {
            "evidence": {**EVIDENCE_SCHEMA, "enhanced_evidence": "any", "appeal": "any"},
            "metadata": "meta",
            "submit": "bool",
            "intended_submission_method": SUBMISSION_METHODS,
        }
    )
    if dispute["status"] not in ("needs_response", "warning_needs_response"):
        raise invalid(
            "This dispute is already closed or under review and can no longer be updated "
            f"(status {dispute['status']}).",
        )
    evidence = dict(p.get("evidence") or {})
    evidence.pop("enhanced_evidence", None)  # accepted (Visa CE 3.0 and friends), not modelled
    evidence.pop("appeal", None)
    if sum(len(str(v or "")) for v in {**dispute["evidence"], **evidence}.values()) > EVIDENCE_MAX_CHARACTERS:
        raise invalid(
            f"The combined character count of all evidence fields is limited to {EVIDENCE_MAX_CHARACTERS:,}.",
            param="evidence",
        )
    before = copy.deepcopy(dispute)
    for key, value in evidence.items():
        if key in _FILE_FIELDS and value:
            ctx.store.get(value, "file", None)
        dispute["evidence"][key] = value or None  # an empty value unsets the field, as in Stripe
    if "metadata" in p:
        dispute["metadata"] = {k: v for k, v in {**dispute["metadata"], **p["metadata"]}.items() if v}
    details = dispute["evidence_details"]
    details["has_evidence"] = any(dispute["evidence"].get(k) for k in _TEXT_FIELDS + _FILE_FIELDS)
    submit = p.get("submit", True)
    if submit:
        inquiry = dispute["status"] == "warning_needs_response"
        dispute["status"] = "warning_under_review" if inquiry else "under_review"
        details["submission_count"] += 1
        details["past_due"] = bool(details["due_by"] and ctx.store.now() > details["due_by"])
        if not inquiry:
            _charge_countered_fee(ctx.core, dispute)
    changed = diff(before, dispute)
    ctx.core.emit("charge.dispute.updated", dispute, account=ctx.owner, previous=changed)
    magic = dispute["evidence"].get("uncategorized_text")
    if submit and magic in MAGIC_OUTCOMES:
        close_dispute(ctx.core, dispute, MAGIC_OUTCOMES[magic])
    return dispute


def dispute_close(ctx: Ctx, dp_id: str) -> Obj:
    """Accepting the dispute: it is lost, the funds stay withdrawn."""
    dispute = ctx.store.get(dp_id, "dispute", ctx.owner)
    ctx.params({})
    if dispute["status"] in ("won", "lost"):
        raise invalid(f"This dispute is already closed ({dispute['status']}).")
    return close_dispute(ctx.core, dispute, "lost")


def close_dispute(core: Core, dispute: Obj, outcome: str) -> Obj:
    """Won: the disputed amount comes back, the dispute fee where ``money.dispute_fee_returned_on_win`` says so
    (as a negative fee on the reversal, the way the withdrawal carried it), and a countered fee charged at
    submission is returned; lost: nothing comes back. An inquiry (``warning_*``) closes as ``warning_closed``."""
    owner = core.store.owner[dispute["id"]]
    before = copy.deepcopy(dispute)
    inquiry = dispute["status"].startswith("warning_")
    dispute["status"] = "warning_closed" if inquiry else outcome
    if outcome == "won" and not inquiry:
        fee = money.dispute_fee(dispute["currency"]) if money.dispute_fee_returned_on_win(PLATFORM_COUNTRY) else 0
        txn = money.add_txn(
            core.store,
            owner,
            amount=dispute["amount"],
            currency=dispute["currency"],
            type="adjustment",
            source=dispute["id"],
            reporting_category="dispute_reversal",
            fee=-fee,
            fee_details=money.stripe_fee_details(-fee, dispute["currency"], "Dispute fee") if fee else None,
            description=f"Chargeback reversal for {dispute['charge']}",
        )
        dispute["balance_transactions"].append(copy.deepcopy(txn))
        countered = dispute.get("_countered_fee", 0)
        if countered:
            money.add_txn(
                core.store,
                owner,
                amount=countered,
                currency=dispute["currency"],
                type="stripe_fee",
                source=dispute["id"],
                reporting_category="fee",
                description=f"Dispute countered fee returned for {dispute['id']}",
            )
        core.emit("charge.dispute.funds_reinstated", dispute, account=owner)
    core.emit("charge.dispute.closed", dispute, account=owner, previous=diff(before, dispute))
    return dispute


def _charge_countered_fee(core: Core, dispute: Obj) -> None:
    """The dispute countered fee (disputes opened after 2025-06-17): charged when evidence is submitted, once per
    dispute, "applied directly to your account balance via a balance transfer" and "not shown in the
    ``balance_transactions`` field of the Dispute API object" (support: calculate-dispute-countered-fees). Its
    balance-transaction type is UNCONFIRMED: modelled as ``stripe_fee`` / ``fee`` with the dispute as ``source``,
    so ``GET /v1/balance_transactions?source=dp_...`` finds it. Businesses in Japan and Mexico pay none, and
    currencies without a known amount get none (``money.COUNTERED_FEES``)."""
    fee = money.countered_fee(dispute["currency"], PLATFORM_COUNTRY)
    if not fee or dispute.get("_countered_fee"):
        return
    dispute["_countered_fee"] = fee
    money.add_txn(
        core.store,
        core.store.owner[dispute["id"]],
        amount=-fee,
        currency=dispute["currency"],
        type="stripe_fee",
        source=dispute["id"],
        reporting_category="fee",
        description=f"Dispute countered fee for {dispute['id']}",
    )


ROUTES: list[Route] = [
    ("GET", r"/v1/disputes", dispute_list),
    ("GET", r"/v1/disputes/([^/]+)", dispute_retrieve),
    ("POST", r"/v1/disputes/([^/]+)", dispute_update),
    ("POST", r"/v1/disputes/([^/]+)/close", dispute_close),
]
