"""Transfers to connected accounts, their reversals, application fees and fee refunds.

Each movement is written on both sides: the platform's balance transaction and the connected account's.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import money
from ..core import Core, Ctx, Route, diff
from ..errors import StripeError, invalid
from ..store import PLATFORM, Obj, Store, empty_billing_details, list_envelope, new_id, template
from .payments import check_destination

INSUFFICIENT_FUNDS = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly to your available "
    "balance by creating Charges using the 4000000000000077 test card. See: "
    "https://stripe.com/docs/testing#available-balance"
)


# [SCT] "Reverse transfers" / [TRR]: a separate transfer is reversed only when the connected
# account's *available* balance covers it. Stripe's exact wording and code: UNCONFIRMED.
REVERSAL_INSUFFICIENT_FUNDS = (
    "Insufficient funds in the destination account's available balance to reverse this transfer. A transfer "
    "made with separate charges and transfers can be reversed only up to the connected account's available "
    "balance."
)


def create_transfer(
    core: Core,
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None,
    transfer_group: str | None,
    metadata: dict[str, str],
    available_on: int | None = None,
    application_fee_amount: int | None = None,
    description: str | None = None,
) -> Obj:
    """Move ``amount`` from the platform to ``destination``; the seller sees it as a ``py_`` payment."""
    now = core.store.now()
    tr_id = new_id("tr_")
    py_id = new_id("py_")
    transfer = template(
        "transfer",
        id=tr_id,
        amount=amount,
        amount_reversed=0,
        created=now,
        currency=currency,
        description=description,
        destination=destination,
        destination_payment=py_id,
        metadata=metadata,
        reversals=list_envelope([], f"/v1/transfers/{tr_id}/reversals"),
        reversed=False,
        source_transaction=source_transaction,
        transfer_group=transfer_group,
    )
    core.store.add(transfer, PLATFORM)
    txn = money.add_txn(
        core.store,
        PLATFORM,
        amount=-amount,
        currency=currency,
        type="transfer",
        source=tr_id,
        reporting_category="transfer",
        available_on=available_on,
        description=description,
    )
    transfer["balance_transaction"] = txn["id"]
    fee = application_fee_amount or 0
    payment = template(
        "charge",
        id=py_id,
        amount=amount,
        amount_captured=amount,
        amount_refunded=0,
        application_fee_amount=None,
        billing_details=empty_billing_details(),
        calculated_statement_descriptor=None,
        captured=True,
        created=now,
        currency=currency,
        description=None,
        metadata={},
        outcome=None,
        paid=True,
        payment_intent=None,
        payment_method=None,
        payment_method_details={"stripe_account": {}, "type": "stripe_account"},
        receipt_url=None,
        refunded=False,
        refunds=list_envelope([], f"/v1/charges/{py_id}/refunds"),
        source_transfer=tr_id,
        status="succeeded",
        transfer_group=transfer_group,
    )
    core.store.add(payment, destination)
    pay_txn = money.add_txn(
        core.store,
        destination,
        amount=amount,
        currency=currency,
        type="payment",
        source=py_id,
        reporting_category="charge",
        fee=fee,
        available_on=available_on,
        fee_details=(
            [
                {
                    "amount": fee,
                    "application": "ca_sandbox",
                    "currency": currency,
                    "description": "Application fee",
                    "type": "application_fee",
                }
            ]
            if fee
            else []
        ),
    )
    payment["balance_transaction"] = pay_txn["id"]
    core.emit("transfer.created", transfer)
    return transfer


def create_application_fee(core: Core, charge: Obj, transfer: Obj, amount: int, available_on: int) -> Obj:
    fee_id = new_id("fee_")
    fee = template(
        "application_fee",
        id=fee_id,
        account=transfer["destination"],
        amount=amount,
        amount_refunded=0,
        charge=transfer["destination_payment"],
        created=core.store.now(),
        currency=charge["currency"],
        fee_source={"charge": transfer["destination_payment"], "type": "charge"},
        originating_transaction=charge["id"],
        refunded=False,
        refunds=list_envelope([], f"/v1/application_fees/{fee_id}/refunds"),
    )
    core.store.add(fee, PLATFORM)
    txn = money.add_txn(
        core.store,
        PLATFORM,
        amount=amount,
        currency=charge["currency"],
        type="application_fee",
        source=fee_id,
        reporting_category="platform_earning",
        available_on=available_on,
    )
    fee["balance_transaction"] = txn["id"]
    payment = core.store.objects[transfer["destination_payment"]]
    payment["application_fee"] = fee_id
    payment["application_fee_amount"] = amount
    core.emit("application_fee.created", fee)
    return fee


def create_reversal(
    core: Core, transfer: Obj, amount: int, *, metadata: dict[str, str], source_refund: str | None = None
) -> Obj:
    """Pull ``amount`` back from the seller; their ``py_`` payment gets a matching refund."""
    left = transfer["amount"] - transfer["amount_reversed"]
    if amount > left:
        raise invalid(
            f"Transfer reversal amount ({money.format_amount(amount, transfer['currency'])}) is greater than the "
            f"amount remaining on the transfer ({money.format_amount(left, transfer['currency'])}).",
            param="amount",
        )
    dest = transfer["destination"]
    reversal = template(
        "transfer_reversal",
        id=new_id("trr_"),
        amount=amount,
        created=core.store.now(),
        currency=transfer["currency"],
        destination_payment_refund=new_id("pyr_"),
        metadata=metadata,
        source_refund=source_refund,
        transfer=transfer["id"],
    )
    core.store.add(reversal, PLATFORM)
    txn = money.add_txn(
        core.store,
        PLATFORM,
        amount=amount,
        currency=transfer["currency"],
        type="transfer_refund",
        source=reversal["id"],
        reporting_category="transfer_reversal",
    )
    reversal["balance_transaction"] = txn["id"]
    seller_txn = money.add_txn(
        core.store,
        dest,
        amount=-amount,
        currency=transfer["currency"],
        type="payment_refund",
        source=reversal["destination_payment_refund"],
        reporting_category="refund",
    )
    # The seller's side is a Refund of its `py_` payment on the connected account (Stripe's `pyr_`), which
    # names the reversal it came from (`source_transfer_reversal`).
    payment_refund = template(
        "refund",
        id=reversal["destination_payment_refund"],
        amount=amount,
        balance_transaction=seller_txn["id"],
        charge=transfer["destination_payment"],
        created=reversal["created"],
        currency=transfer["currency"],
        metadata={},
        payment_intent=None,
        reason=None,
        status="succeeded",
        source_transfer_reversal=reversal["id"],
        transfer_reversal=None,
    )
    core.store.add(payment_refund, dest)
    before = copy.deepcopy(transfer)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"].insert(0, reversal)
    payment = core.store.objects.get(transfer["destination_payment"])
    if payment:
        payment["amount_refunded"] += amount
        payment["refunded"] = payment["amount_refunded"] == payment["amount"]
    core.emit("transfer.reversed", transfer, previous=diff(before, transfer))
    return reversal


def create_fee_refund(core: Core, fee: Obj, amount: int, *, metadata: dict[str, str]) -> Obj:
    left = fee["amount"] - fee["amount_refunded"]
    if amount > left:
        raise invalid(
            f"Refund amount ({money.format_amount(amount, fee['currency'])}) is greater than the remaining "
            f"application fee ({money.format_amount(left, fee['currency'])}).",
            param="amount",
        )
    refund = template(
        "fee_refund",
        id=new_id("fr_"),
        amount=amount,
        created=core.store.now(),
        currency=fee["currency"],
        fee=fee["id"],
        metadata=metadata,
    )
    core.store.add(refund, PLATFORM)
    txn = money.add_txn(
        core.store,
        PLATFORM,
        amount=-amount,
        currency=fee["currency"],
        type="application_fee_refund",
        source=refund["id"],
        reporting_category="platform_earning_refund",
    )
    refund["balance_transaction"] = txn["id"]
    money.add_txn(
        core.store,
        fee["account"],
        amount=amount,
        currency=fee["currency"],
        type="application_fee_refund",
        source=refund["id"],
        reporting_category="fee",
    )
    before = copy.deepcopy(fee)
    fee["amount_refunded"] += amount
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]
    fee["refunds"]["data"].insert(0, refund)
    core.emit("application_fee.refunded", fee, previous=diff(before, fee))
    return refund


# -- API -----------------------------------------------------------------------------------------------------
def _platform_only(ctx: Ctx) -> None:
    if ctx.owner:
        raise StripeError(400, "This endpoint is only available to platforms, without a Stripe-Account header.")


def transfer_create(ctx: Ctx) -> Obj:
    _platform_only(ctx)
    p = ctx.params(
        {
            "!amount": "int",
            "!currency": "str",
            "!destination": "str",
            "source_transaction": "str",
            "transfer_group": "str",
            "metadata": "meta",
            "description": "str",
        }
    )
    currency = p["currency"].lower()
    check_destination(ctx.core, p["destination"], "destination")
    if p["amount"] < 1:
        raise invalid("Amount must be at least 1", param="amount", code="amount_too_small")
    available_on = None
    transfer_group = p.get("transfer_group")
    if p.get("source_transaction"):
        charge = ctx.store.get(p["source_transaction"], "charge", PLATFORM, label="charge")
        moved = sum(t["amount"] for t in ctx.store.find("transfer", PLATFORM, source_transaction=charge["id"]))
        if charge["status"] != "succeeded" or p["amount"] + moved > charge["amount"] - charge["amount_refunded"]:
            raise invalid(
                "The transfer amount exceeds the amount available on the source transaction.",
                param="amount",
            )
        if charge["currency"] != currency:
            raise invalid(
                "The currency of source_transaction's balance transaction must match the transfer currency.",
                param="currency",
            )
        available_on = charge.get("_available_on")
        transfer_group = _source_transfer_group(ctx.store, charge, transfer_group)
    elif money.available(ctx.store, PLATFORM, currency) < p["amount"]:
        raise invalid(INSUFFICIENT_FUNDS, code="balance_insufficient")
    return create_transfer(
        ctx.core,
        amount=p["amount"],
        currency=currency,
        destination=p["destination"],
        source_transaction=p.get("source_transaction"),
        transfer_group=transfer_group,
        metadata=p.get("metadata") or {},
        available_on=available_on,
        description=p.get("description"),
    )


def _source_transfer_group(store: Store, charge: Obj, requested: str | None) -> str:
    """[SCT] "Transfer availability": a transfer with a ``source_transaction`` takes the charge's
    ``transfer_group``; a charge without one gets ``group_<payment intent id>``, written on the charge
    (and its PaymentIntent) and on the transfer. Which value wins when the request names another
    group than the charge's is not documented; the charge's does here. A request naming a group
    for a charge that has none keeps it for this transfer only (UNCONFIRMED)."""
    if charge.get("transfer_group"):
        return str(charge["transfer_group"])
    if requested:
        return requested
    group = f"group_{charge.get('payment_intent') or charge['id']}"
    charge["transfer_group"] = group
    intent = store.objects.get(charge.get("payment_intent") or "")
    if intent is not None and not intent.get("transfer_group"):
        intent["transfer_group"] = group
    return group


def transfer_retrieve(ctx: Ctx, tr_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(tr_id, "transfer", ctx.owner)


def transfer_update(ctx: Ctx, tr_id: str) -> Obj:
    transfer = ctx.store.get(tr_id, "transfer", ctx.owner)
    p = ctx.params({"metadata": "meta", "description": "str"})
    if "metadata" in p:
        transfer["metadata"] = {k: v for k, v in {**transfer["metadata"], **p["metadata"]}.items() if v}
    if "description" in p:
        transfer["description"] = p["description"]
    return transfer


def transfer_list(ctx: Ctx) -> Obj:
    p = ctx.params({"destination": "str", "transfer_group": "str"}, listing=True)
    match = {k: p[k] for k in ("destination", "transfer_group") if p.get(k)}
    return ctx.store.list_page("transfer", ctx.owner, p, "/v1/transfers", **match)


def reversal_create(ctx: Ctx, tr_id: str) -> Obj:
    transfer = ctx.store.get(tr_id, "transfer", ctx.owner)
    p = ctx.params({"amount": "int", "metadata": "meta", "description": "str", "refund_application_fee": "bool"})
    left = transfer["amount"] - transfer["amount_reversed"]
    if left <= 0:
        raise invalid(f"Transfer {tr_id} has already been fully reversed.")
    amount = p.get("amount") or left
    seller_available = money.available(ctx.store, transfer["destination"], transfer["currency"])
    if _is_separate_transfer(ctx.store, transfer) and seller_available < amount:
        raise invalid(REVERSAL_INSUFFICIENT_FUNDS, param="amount", code="balance_insufficient")
    reversal = create_reversal(ctx.core, transfer, amount, metadata=p.get("metadata") or {})
    if p.get("refund_application_fee") and transfer.get("source_transaction"):
        charge = ctx.store.objects.get(transfer["source_transaction"])
        if charge and charge.get("application_fee"):
            fee = ctx.store.objects[charge["application_fee"]]
            share = min(
                fee["amount"] - fee["amount_refunded"], money.proportional(amount, transfer["amount"], fee["amount"])
            )
            if share > 0:
                create_fee_refund(ctx.core, fee, share, metadata={})
    return reversal


def _is_separate_transfer(store: Store, transfer: Obj) -> bool:
    """A transfer the platform made itself (separate charges and transfers, with or without a
    ``source_transaction``), as opposed to the one Stripe made for a destination charge."""
    charge = store.objects.get(transfer.get("source_transaction") or "")
    return charge is None or charge.get("transfer") != transfer["id"]


def reversal_list(ctx: Ctx, tr_id: str) -> Obj:
    ctx.store.get(tr_id, "transfer", ctx.owner)
    p = ctx.params({}, listing=True)
    return ctx.store.page(
        ctx.store.find("transfer_reversal", ctx.owner, transfer=tr_id), p, f"/v1/transfers/{tr_id}/reversals"
    )


def reversal_retrieve(ctx: Ctx, tr_id: str, trr_id: str) -> Obj:
    ctx.params({})
    rev = ctx.store.get(trr_id, "transfer_reversal", ctx.owner)
    if rev["transfer"] != tr_id:
        raise StripeError(404, f"No such transfer reversal: '{trr_id}'", code="resource_missing", param="id")
    return rev


def fee_retrieve(ctx: Ctx, fee_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(fee_id, "application_fee", ctx.owner, label="application fee")


def fee_list(ctx: Ctx) -> Obj:
    p = ctx.params({"charge": "str"}, listing=True)
    match: dict[str, Any] = {"charge": p["charge"]} if p.get("charge") else {}
    return ctx.store.list_page("application_fee", ctx.owner, p, "/v1/application_fees", **match)


def fee_refund_create(ctx: Ctx, fee_id: str) -> Obj:
    fee = ctx.store.get(fee_id, "application_fee", ctx.owner, label="application fee")
    p = ctx.params({"amount": "int", "metadata": "meta"})
    left = fee["amount"] - fee["amount_refunded"]
    if left <= 0:
        raise invalid(f"Application fee {fee_id} has already been refunded.")
    return create_fee_refund(ctx.core, fee, p.get("amount") or left, metadata=p.get("metadata") or {})


def fee_refund_list(ctx: Ctx, fee_id: str) -> Obj:
    ctx.store.get(fee_id, "application_fee", ctx.owner, label="application fee")
    p = ctx.params({}, listing=True)
    return ctx.store.page(
        ctx.store.find("fee_refund", ctx.owner, fee=fee_id), p, f"/v1/application_fees/{fee_id}/refunds"
    )


def fee_refund_retrieve(ctx: Ctx, fee_id: str, fr_id: str) -> Obj:
    ctx.params({})
    return ctx.store.get(fr_id, "fee_refund", ctx.owner, label="fee refund")


ROUTES: list[Route] = [
    ("POST", r"/v1/transfers", transfer_create),
    ("GET", r"/v1/transfers", transfer_list),
    ("GET", r"/v1/transfers/([^/]+)", transfer_retrieve),
    ("POST", r"/v1/transfers/([^/]+)", transfer_update),
    ("POST", r"/v1/transfers/([^/]+)/reversals", reversal_create),
    ("GET", r"/v1/transfers/([^/]+)/reversals", reversal_list),
    ("GET", r"/v1/transfers/([^/]+)/reversals/([^/]+)", reversal_retrieve),
    ("GET", r"/v1/application_fees", fee_list),
    ("GET", r"/v1/application_fees/([^/]+)", fee_retrieve),
    ("POST", r"/v1/application_fees/([^/]+)/refunds", fee_refund_create),
    ("GET", r"/v1/application_fees/([^/]+)/refunds", fee_refund_list),
    ("GET", r"/v1/application_fees/([^/]+)/refunds/([^/]+)", fee_refund_retrieve),
]
