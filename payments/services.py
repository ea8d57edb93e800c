"""Writes of payments: record a paid charge once, with its ledger postings, in one transaction;
refunds, from the row written before Stripe is called to the postings of what Stripe did, and the
seller's share each takes back (reversals a failed refund kept, shares of a group payment); and
the postings of a dispute's balance transactions (`dispute_post_balance_transactions`).

`payment_record_charge` is the one path from "Stripe says this charge succeeded" to a `Payment`
row and the ledger. It is reached from the Checkout Session (webhook, success page, sweeper) and
from `charge.succeeded`, in any order and maybe twice, so it upserts on the charge id and posts
with sources unique on (Stripe id, kind): the second caller changes nothing.

A destination charge is posted whole from the charge: the charge less Stripe's processing fee
(read from the charge's balance transaction, Stripe's figure, never our own guess), the transfer
of the whole amount to the seller and the application fee taken back, since Stripe makes all three
at once. Their own webhooks (`transfer.created`, `application_fee.created`, `payouts.webhooks`)
post the same legs under the same sources, so whichever comes first posts.

Reading the balance transaction may need Stripe: that happens before the database transaction
opens, and an outage raises `PaymentProviderError`, so the webhook is retried and nothing is
half-posted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from marketplace import money
from marketplace.errors import InvalidInput, PaymentProviderError
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import transfers as gateway_transfers
from marketplace.gateway.types import ApplicationFeeRefund, BalanceTransaction, Charge, TransferReversal
from marketplace.gateway.types import Refund as StripeRefund
from marketplace.ledger import flows
from marketplace.ledger.services import ledger_lock_stripe_account, ledger_post_one, ledger_reverse
from marketplace.money import format_money
from marketplace.outbox.services import outbox_add
from marketplace.text import within_limit
from payments.models import (
    OPEN_REFUND_STATUSES,
    REFUND_STATUS_RANK,
    Payment,
    PaymentStatus,
    Refund,
    RefundOrigin,
    RefundStatus,
)
from payouts.models import ApplicationFee, Transfer
from payouts.models import TransferReversal as TransferReversalRow
from payouts.services import (
    NotRecordedYet,
    application_fee_record,
    application_fee_refund_record,
    transfer_record,
    transfer_reversal_from_stripe,
)


def charge_with_balance_transaction(*, charge: Charge) -> tuple[Charge, BalanceTransaction]:
    """The charge with its balance transaction expanded, re-read through the gateway when it is not
    (as in a `charge.succeeded` event). Callers that lock rows call this first, so that no lock is
    held while Stripe answers. Stripe unreachable, or a charge with no balance transaction yet,
    raises `PaymentProviderError`."""
    if not isinstance(charge.balance_transaction, BalanceTransaction):
        charge = gateway_checkout.charge_retrieve(charge.id)
    balance_txn = charge.balance_transaction
    if not isinstance(balance_txn, BalanceTransaction):
        raise PaymentProviderError(f"Charge {charge.id} has no balance transaction yet.", code="charge_not_settled")
    return charge, balance_txn


def payment_record_charge(*, charge: Charge) -> Payment | None:
    """Record a succeeded charge and post it; None for a charge that has not succeeded.

    Re-reads the charge through the gateway when its balance transaction is not expanded (as in a
    `charge.succeeded` event). Idempotent: a payment already recorded is returned as it is, with
    only its refunded amount moved forward.
    """
    if charge.status != "succeeded":
        return None
    charge, balance_txn = charge_with_balance_transaction(charge=charge)
    when = datetime.fromtimestamp(charge.created, tz=UTC)
    destination = charge.transfer_data.destination if charge.transfer_data else None
    with transaction.atomic(savepoint=False):
        ledger_lock_stripe_account(stripe_account=destination or "")  # first: see its docstring
        payment, _ = Payment.objects.get_or_create(
            stripe_charge_id=charge.id,
            defaults={
                "stripe_payment_intent_id": charge.payment_intent or charge.id,
                "stripe_balance_transaction_id": balance_txn.id,
                "currency": charge.currency,
                "amount": charge.amount,
                "stripe_fee": balance_txn.fee,
                "created_at": when,
            },
        )
        posting = flows.charge(
            charge_id=charge.id, amount=charge.amount, stripe_fee=balance_txn.fee, currency=charge.currency
        )
        ledger_post_one(posting=posting, occurred_at=when)
        if destination and charge.transfer:
            amount = charge.transfer_data.amount if charge.transfer_data and charge.transfer_data.amount else None
            transfer_record(
                transfer_id=charge.transfer,
                destination=destination,
                amount=amount or charge.amount,
                currency=charge.currency,
                created=charge.created,
                payment=payment,
            )
        if destination and charge.application_fee and charge.application_fee_amount:
            application_fee_record(
                application_fee_id=charge.application_fee,
                account=destination,
                amount=charge.application_fee_amount,
                currency=charge.currency,
                created=charge.created,
                payment=payment,
            )
        return payment


# --- Refunds -------------------------------------------------------------------------------------------
#
# A refund is a row first (`refund_create`, under the payment's row lock, so that refunds at once
# can never together exceed the payment), then a Stripe refund whose idempotency key is that row
# (`refund_submit`, called right after the commit and again by the outbox until Stripe answers), then
# what Stripe answered, recorded and posted (`refund_record_stripe`, also the path of every refund
# event, and of refunds made in the Stripe Dashboard, which have no row until their event comes).

REFUND_SUBMIT = "payments.refund_submit"  # the outbox follow-up that sends a written refund to Stripe

RefundListener = Callable[[Refund], None]
_refund_listeners: list[RefundListener] = []


def refund_listener(fn: RefundListener) -> RefundListener:
    """Call `fn(refund)` whenever a refund's state is recorded, inside that transaction: how the
    orders app (which imports payments, never the other way round) makes an order follow its
    refunds, whichever path (our own call, any refund event) recorded them."""
    if fn not in _refund_listeners:
        _refund_listeners.append(fn)
    return fn


def _tell_listeners(refund: Refund) -> None:
    for listener in _refund_listeners:
        listener(refund)


# Stripe's refund statuses as ours.
_STATUS_OF_STRIPE = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}

# Why Stripe refused a refund (or we did not send it), for the admins; the seller reads its own sentence
# (`payments.models.REFUSALS_FOR_SELLER`), and the buyer is not shown a refund that never left.
REFUSALS = {
    "balance_insufficient": (
        "The seller's Stripe balance is too low to give back their share of this refund, so Stripe refused it "
        "and nothing was refunded. A platform admin can refund it from the platform's balance instead."
    ),
    "charge_disputed": (
        "The buyer's bank has opened a dispute on this payment; Stripe refuses refunds while it is disputed, "
        "so nothing was refunded."
    ),
    "charge_already_refunded": "This payment was already refunded in full at Stripe; nothing more was refunded.",
    # Ours, before Stripe is called (`_destination_decision_holds`).
    "not_everything_left": (
        "Not sent: since it was written, a refund of this payment did not go through after the seller's share "
        "was taken back (or one written before it was not sent), so this one is no longer everything left and "
        "Stripe would take the seller's share of it beside the share already taken back. Nothing was refunded "
        "and its amount is open again: refund again."
    ),
}
# Why a refund failed after Stripe took it (docs.stripe.com/api/refunds/object, failure_reason). The
# sentence is stored once and read by the buyer, the seller and the admin: it names the card, not whose.
FAILURES = {
    "expired_or_canceled_card": "the card it was going back to has expired or was canceled",
    "lost_or_stolen_card": "the card it was going back to was reported lost or stolen",
    "declined": "the bank of the card it was going back to declined it",
    "insufficient_funds": "the platform's Stripe balance could not cover it",
}


def payment_refundable(*, payment: Payment) -> int:
    """What can still be refunded of a payment: its amount less every refund sent or being sent."""
    taken = payment.refunds.filter(status__in=OPEN_REFUND_STATUSES).aggregate(total=Sum("amount"))["total"] or 0
    return int(payment.amount - taken)


def _destination_share_reused(*, payment: Payment, transfer: Transfer, amount: int) -> int:
    """What a refund of `amount` of a destination charge that takes the seller's share back uses of
    the reversals its payment's failed refunds left in place (0 when none): Stripe does not undo a
    reversal when its refund fails later (card 5126; nothing in its documentation says otherwise), so
    the seller's share of that refund already sits on the platform's balance, with the fee refund
    Stripe made alongside it (`connect-behaviour.md` §a).

    A refund of everything left reverses, at Stripe, only what is left of the transfer: it is sent as
    usual and uses none of them (should it fail too, its own reversal joins them). A smaller refund
    whose share of the transfer (in proportion, rounded half up as the sandbox does) they cover uses
    that share and is sent without `reverse_transfer` and without `refund_application_fee`, since
    that share and its fee refund were made already. One in between would need a reversal Stripe's
    refund cannot make beside the kept one: refused, saying which refunds work. Decided once, under
    the payment's lock, when the refund is written, and checked again when it is sent
    (`_destination_decision_holds`): "everything left" holds only if Stripe sees it so."""
    unused = payment_reversals_unused(payment_id=payment.pk)
    if unused <= 0:
        return 0
    rest = payment_refundable(payment=payment)
    if amount >= rest:
        return 0
    share = money.round_half_up_div(transfer.amount * amount, payment.amount)
    if share > unused:
        covered = unused * payment.amount // transfer.amount
        raise InvalidInput(
            f"A refund of this payment failed after the seller's share ({format_money(unused, payment.currency)}) "
            f"was taken back. Refund at most {format_money(min(covered, rest), payment.currency)} (that share is "
            f"used, not taken twice) or everything left ({format_money(rest, payment.currency)}).",
            code="refund_after_kept_reversal",
        )
    return share


REFUND_REASON_MAX = Refund._meta.get_field("reason").max_length or 300  # what a refund's reason holds
WHOLE_SHARE_UNCONFIRMED = "whole_share_unconfirmed"  # `refund_create`'s refusal: see `payment_whole_share`


class WholeShare(NamedTuple):
    """What a refund of everything left of a destination charge takes from the seller at Stripe when
    refunds the platform paid came before it: Stripe reverses all that is left of the transfer
    (`taken`) and refunds all that is left of the fee (`fee_back`, with `refund_application_fee`),
    `beyond` more than the refund's own share, since "if the refund results in the entire charge
    being refunded, the entire transfer is reversed" (connect-behaviour.md §a). `platform_paid` is
    what those refunds came to, `amount` the refund of everything left."""

    amount: int
    taken: int
    beyond: int
    fee_back: int
    platform_paid: int
    currency: str


def payment_whole_share(
    *,
    payment: Payment,
    amount: int | None = None,
    refund_fee: bool | None = None,
    refunds: Sequence[Refund] | None = None,
) -> WholeShare | None:
    """What a refund of `amount` (None: everything left) taking the seller's share back would take
    beyond its own share, when it is everything left of a destination charge and the platform paid
    refunds of it (which left the seller its share of them); None otherwise. From the mirrored
    transfer, fee and refunds (Stripe's figures), less the shares of refunds written and not sent yet,
    which reverse theirs first. For the forms, which say it before the refund is sent, and for
    `refund_create`, which refuses such a refund unless the person sending it has read that. The fee
    comes back as `refund_fee` says (None: the platform's policy, `REFUND_APPLICATION_FEE`). A page
    that has read the payment's `refunds` already passes them: without one the platform paid, no query."""
    if refunds is not None and not any(r.status in OPEN_REFUND_STATUSES and not r.reverse_transfer for r in refunds):
        return None
    if payment.orders.filter(checkout_group__isnull=False).exists():
        return None  # a payment for several shops: the platform reverses each shop's own share
    transfer = Transfer.objects.filter(payment=payment).first()
    rest = payment_refundable(payment=payment)
    amount = rest if amount is None else amount
    if transfer is None or rest <= 0 or amount < rest:
        return None
    open_refunds = payment.refunds.filter(status__in=OPEN_REFUND_STATUSES)
    platform_paid = open_refunds.filter(reverse_transfer=False).aggregate(total=Sum("amount"))["total"] or 0
    if not platform_paid:
        return None
    unsent = open_refunds.filter(status=RefundStatus.CREATED, stripe_refund_id=None, reverse_transfer=True)
    unsent_total = unsent.aggregate(total=Sum("amount"))["total"] or 0

    def share_of(whole: int, part: int) -> int:
        return money.round_half_up_div(whole * part, payment.amount)

    taken = transfer.amount - transfer.amount_reversed - share_of(transfer.amount, unsent_total)
    # Its own share, less what a failed refund's kept reversal took of it already (`_destination_share_reused`).
    beyond = taken - (share_of(transfer.amount, amount) - payment_reversals_unused(payment_id=payment.pk))
    if beyond <= 0:
        return None
    fee = ApplicationFee.objects.filter(payment=payment).first()
    refund_fee = settings.REFUND_APPLICATION_FEE if refund_fee is None else refund_fee
    fee_back = fee.amount - fee.amount_refunded - share_of(fee.amount, unsent_total) if fee and refund_fee else 0
    return WholeShare(amount, taken, beyond, max(fee_back, 0), int(platform_paid), payment.currency)


def whole_share_sentence(whole: WholeShare) -> str:
    """The refusal's sentence for a refund of everything left not confirmed (`refund_create`), naming
    the amounts, for the seller and the admin alike."""
    fee = (
        f" The rest of the marketplace fee, {format_money(whole.fee_back, whole.currency)}, goes back to the seller."
        if whole.fee_back
        else ""
    )
    return (
        f"This refund leaves nothing of the payment, so Stripe takes back all that is left of the seller's share: "
        f"{format_money(whole.taken, whole.currency)} from the seller's balance, "
        f"{format_money(whole.beyond, whole.currency)} more than this refund's own share, because the platform "
        f"paid {format_money(whole.platform_paid, whole.currency)} of earlier refunds itself and Stripe takes the "
        f"seller's share of those back too.{fee} Nothing was refunded. To refund it anyway, tick "
        "“Take back the whole share” (in the API, send `take_whole_share`) and send it again; to leave the "
        "seller their share, refund less, or a platform admin can refund it at the platform's cost."
    )


def refund_create(
    *,
    payment: Payment,
    amount: int,
    origin: str,
    reason: str = "",
    order_id: int | None = None,
    order_limit: int | None = None,
    reverse_transfer: bool = True,
    refund_application_fee: bool | None = None,
    created_by: Any = None,
    token: str = "",
    whole_share_ok: bool = True,
) -> Refund:
    """Write a refund of `amount` and queue it for Stripe; refused when more than what is left.

    Under the payment's row lock: two refunds at once (ten, in the tests) can never together exceed
    the payment, nor, with `order_limit` (what is left of the order's own amount), the order. The
    seller's share is taken back (`reverse_transfer`) unless an admin decides the platform absorbs
    it; the fee goes back to the seller as the platform's policy says (`REFUND_APPLICATION_FEE`),
    which Stripe only allows together with the reversal. On a destination charge whose earlier
    refund failed after its reversal, that kept reversal is used first (`_destination_share_reused`),
    so the seller's share is never taken twice; that decision is checked again when it is sent
    (`_destination_decision_holds`). A refund of everything left of a destination charge the platform
    paid refunds of takes the seller's whole share at Stripe (`payment_whole_share`): without
    `whole_share_ok` (a form's box, the API's `take_whole_share`) it is refused with a sentence naming
    the amount (`whole_share_unconfirmed`). The Stripe call happens after the commit
    (`refund_submit`): the caller calls it, and the outbox calls it again if Stripe could not be
    reached, with the same key, so one Stripe refund is made whatever happens. `token` names the
    submission (unique per order, see `Refund.token`); the caller looks for its refund first.
    A `reason` longer than a refund's holds (typed on a form, the buyer reads it) is refused with a
    sentence (`reason_too_long`), not cut.
    """
    if type(amount) is not int or amount <= 0:
        raise InvalidInput("A refund must be a positive whole amount.", code="invalid_amount")
    reason = within_limit(reason, limit=REFUND_REASON_MAX, what="The reason", code="reason_too_long")
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        left = payment_refundable(payment=locked)
        if order_limit is not None:
            left = min(left, order_limit)
        if amount > left:
            raise InvalidInput(
                f"At most {format_money(max(left, 0), locked.currency)} can still be refunded"
                f" ({format_money(amount, locked.currency)} was asked).",
                code="refund_exceeds_remaining",
            )
        fee_policy = settings.REFUND_APPLICATION_FEE if refund_application_fee is None else refund_application_fee
        if locked.orders.filter(checkout_group__isnull=False).exists():  # separate charges and transfers
            transfer_id = _group_order_transfer(payment=locked, order_id=order_id, amount=amount)
            reverse = reverse_transfer and bool(transfer_id)
            refund_fee = fee_policy and reverse
            share_reused = None  # decided when it is sent (`group_refund_shares`)
        else:
            destination = Transfer.objects.filter(payment=locked).first()
            reverse = reverse_transfer and destination is not None
            refund_fee = fee_policy and reverse and ApplicationFee.objects.filter(payment=locked).exists()
            share_reused = (
                _destination_share_reused(payment=locked, transfer=destination, amount=amount)
                if reverse and destination is not None
                else None
            )
            whole = (
                None
                if whole_share_ok or not reverse
                else payment_whole_share(payment=locked, amount=amount, refund_fee=refund_fee)
            )
            if whole is not None:
                raise InvalidInput(whole_share_sentence(whole), code=WHOLE_SHARE_UNCONFIRMED)
        refund = Refund.objects.create(
            payment=locked,
            order_id=order_id,
            origin=origin,
            currency=locked.currency,
            amount=amount,
            reverse_transfer=reverse,
            refund_application_fee=refund_fee,
            share_reused=share_reused,
            reason=reason,
            created_by=created_by,
            token=token,
        )
        outbox_add(REFUND_SUBMIT, refund.pk, key=f"refund-submit:{refund.pk}")
    return refund


def refund_attention_handle(*, refund_id: int, admin: Any) -> bool:
    """An admin has dealt with what a refund needed (sent the seller's share back, refunded again):
    it leaves "Refunds to look at", keeping its reason, who and when. False when there was nothing to
    handle or it was handled already (a double click)."""
    handled = Refund.objects.filter(pk=refund_id, attention_handled_at__isnull=True).exclude(attention="")
    return handled.update(attention_handled_at=timezone.now(), attention_handled_by=admin) == 1


def refund_idempotency_ids(refund: Refund) -> tuple[object, ...]:
    """Our ids of a refund's Stripe calls: its row, and the submission that wrote it (`token`: the
    form's, the API's `Idempotency-Key`, the approved request's), so a replayed submission, finding
    the same row, can only ever send the same key. Refunds without a token keep the key they
    always had (the row alone), so one written before tokens existed is never sent twice."""
    return ("refund", refund.pk, refund.token) if refund.token else ("refund", refund.pk)


def refund_submit(*, refund_id: int) -> Refund:
    """Send a written refund to Stripe, keyed by its row, and record the answer. Called after the
    row is committed, by its creator and by the outbox: the second finds it sent, or sends it with
    the same key and gets the same Stripe refund. Stripe refusing it (the seller's balance too low,
    a dispute) marks it failed with a sentence saying why, and its amount is open again; Stripe
    unreachable raises `PaymentProviderError` and leaves it to the outbox's retries.

    A destination charge's refunds reach Stripe in the order they were written (`_destination_decision_holds`)."""
    refund = Refund.objects.select_related("payment", "order__seller").get(pk=refund_id)
    if refund.status != RefundStatus.CREATED or refund.stripe_refund_id:
        return refund
    metadata = {"refund_id": str(refund.pk)}
    if refund.order_id is not None:
        metadata["order_id"] = str(refund.order_id)
    if refund.order is not None and refund.order.checkout_group_id is not None:
        return _group_refund_submit(refund, metadata=metadata)
    reuses = bool(refund.share_reused)  # the seller's share is already on the platform's balance
    try:
        if not _destination_decision_holds(refund):
            raise InvalidInput(REFUSALS["not_everything_left"], code="not_everything_left")
        stripe_refund = gateway_checkout.refund_create(
            charge=refund.payment.stripe_charge_id,
            idempotency_ids=refund_idempotency_ids(refund),
            amount=refund.amount,
            reverse_transfer=refund.reverse_transfer and not reuses,
            refund_application_fee=refund.refund_application_fee and not reuses,
            metadata=metadata,
        )
    except InvalidInput as exc:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.CREATED, stripe_refund_id=None).update(
                status=RefundStatus.FAILED,
                failure_code=exc.code[:60],
                failure_message=REFUSALS.get(exc.code, f"Stripe refused the refund: {exc.message}")[:500],
            )
            refund.refresh_from_db()
            _tell_listeners(refund)
        return refund
    return refund_record_stripe(stripe_refund=stripe_refund)


def _destination_decision_holds(refund: Refund) -> bool:
    """Send first the refunds of the same destination charge written before `refund` and not sent yet,
    then say whether what `_destination_share_reused` decided for it still holds as Stripe will see it.

    Only a refund taking the share back that uses no kept reversal depends on it, and only while a
    kept reversal is unused: as a refund of everything left it goes with `reverse_transfer`, and
    Stripe reverses only what is left of the transfer; the refunds written before it, but sent after
    it, would make it a partial refund at Stripe, reversed in proportion beside the kept reversal, so
    the outcome would depend on which send came first. Sending in the order of writing (each earlier
    one with its own key, so a concurrent send of it makes the same Stripe refund) makes Stripe see
    what was decided. Should one of them not go through, or a refund fail after its reversal since
    this one was written, it is no longer everything left (or no longer without a kept reversal)
    and is refused ("not_everything_left"). Read just before the call, without a lock: one held here
    would be released before Stripe is called anyway, and taking it before the ledger's (as
    `refund_record_stripe` does) could deadlock a caller's transaction. An outage raises
    `PaymentProviderError` from the earlier send, so this one waits for the outbox's retry behind it."""
    if not refund.reverse_transfer or refund.share_reused != 0:
        return True  # no reversal asked, or a kept reversal covers it: nothing hangs on the order
    if payment_reversals_unused(payment_id=refund.payment_id) <= 0:
        return True
    earlier = Refund.objects.filter(
        payment_id=refund.payment_id, pk__lt=refund.pk, status=RefundStatus.CREATED, stripe_refund_id=None
    )
    for earlier_id in earlier.order_by("pk").values_list("pk", flat=True):
        refund_submit(refund_id=earlier_id)
    if payment_reversals_unused(payment_id=refund.payment_id) <= 0:
        return True
    payment = Payment.objects.get(pk=refund.payment_id)
    sent = payment.refunds.filter(status__in=(RefundStatus.PENDING, RefundStatus.SUCCEEDED))
    return refund.amount >= payment.amount - (sent.aggregate(total=Sum("amount"))["total"] or 0)


def refund_record_stripe(*, stripe_refund: StripeRefund) -> Refund:
    """Record a Stripe refund as it is now, with its transfer reversal and the fee refunds, and post
    them: from our own call's answer, from any refund event (any order, any number of times), or for
    a refund made in the Stripe Dashboard (a new row, flagged when the platform paid it all).

    The status only moves forward (pending, succeeded, then maybe failed); a failed refund's posting
    is reversed by a new `refund_failure` one, and its amount is open again. Stripe is read (the
    reversal, the fee refunds) before any lock is taken."""
    payment = Payment.objects.filter(stripe_charge_id=stripe_refund.charge or "").first()
    if payment is None:
        raise NotRecordedYet(f"The charge of refund {stripe_refund.id} is not recorded yet.")
    reversal = stripe_refund.transfer_reversal
    if isinstance(reversal, str):
        reversal = gateway_checkout.refund_retrieve(stripe_refund.id).transfer_reversal
    assert reversal is None or isinstance(reversal, TransferReversal)
    fees = list(ApplicationFee.objects.filter(payment=payment))
    fee_refunds: list[tuple[ApplicationFee, ApplicationFeeRefund]] = [
        (fee, fee_refund) for fee in fees for fee_refund in gateway_checkout.application_fee_refunds_list(fee.stripe_id)
    ]
    transfer = Transfer.objects.filter(payment=payment).first()
    status = _STATUS_OF_STRIPE.get(stripe_refund.status or "", RefundStatus.PENDING)
    when = datetime.fromtimestamp(stripe_refund.created, tz=UTC)
    with transaction.atomic():
        ledger_lock_stripe_account(stripe_account=transfer.destination if transfer else "")
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        refund = _refund_row_for(stripe_refund, payment=payment, reversal=reversal, transfer=transfer)
        if REFUND_STATUS_RANK[status] > REFUND_STATUS_RANK[RefundStatus(refund.status)]:
            refund.status = status
            if status == RefundStatus.FAILED:
                why = FAILURES.get(stripe_refund.failure_reason or "", "Stripe could not complete it")
                refund.failure_code = (stripe_refund.failure_reason or "failed")[:60]
                refund.failure_message = f"The refund failed after it was sent: {why}. Its amount is open again."
                kept_amount = reversal.amount if reversal is not None else None
                if reversal is None and refund.stripe_transfer_reversal_id:  # a shop's order: our own reversal
                    kept = TransferReversalRow.objects.filter(stripe_id=refund.stripe_transfer_reversal_id).first()
                    kept_amount = kept.amount if kept else 0
                if kept_amount is not None:  # the seller is told by its email and order page
                    refund.attention = _reversal_kept("Refund failed", kept_amount, refund.currency)
        refund.stripe_refund_id = stripe_refund.id
        if reversal is not None:
            refund.stripe_transfer_reversal_id = reversal.id
        refund.save()
        if status != RefundStatus.CANCELED:  # a canceled refund never moved money
            posted = ledger_post_one(
                posting=flows.refund(refund_id=stripe_refund.id, amount=stripe_refund.amount, currency=refund.currency),
                occurred_at=when,
            )
            if refund.status == RefundStatus.FAILED:
                ledger_reverse(
                    original=posted,
                    kind=flows.PostingKind.REFUND_FAILURE,
                    description=f"Refund {stripe_refund.id} failed: "
                    f"{format_money(stripe_refund.amount, refund.currency)} back from the buyer's bank",
                    occurred_at=when,
                )
        if reversal is not None and transfer is not None:
            transfer_reversal_from_stripe(reversal=reversal, destination=transfer.destination)
        for fee, fee_refund in fee_refunds:
            application_fee_refund_record(fee_refund=fee_refund, application_fee_id=fee.stripe_id, account=fee.account)
        _payment_refresh_refunded(payment)
        _tell_listeners(refund)
        return refund


def _refund_row_for(
    stripe_refund: StripeRefund, *, payment: Payment, reversal: TransferReversal | None, transfer: Transfer | None
) -> Refund:
    """Our row of a Stripe refund: by its id, by the row id we put in its metadata (our own call's
    answer, or its event arriving first), or a new row for a refund nobody here started."""
    refund = Refund.objects.select_for_update().filter(stripe_refund_id=stripe_refund.id).first()
    if refund is None and stripe_refund.metadata.get("refund_id", "").isdigit():
        refund = (
            Refund.objects.select_for_update()
            .filter(pk=int(stripe_refund.metadata["refund_id"]), payment=payment)
            .first()
        )
    if refund is not None:
        return refund
    order_ids = list(payment.orders.values_list("pk", flat=True)[:2])
    attention = ""
    if transfer is not None and reversal is None:
        attention = (
            f"Refunded outside the app (Stripe Dashboard) without taking the seller's share back: the platform "
            f"paid all {format_money(stripe_refund.amount, payment.currency)} of it."
        )
    return Refund.objects.create(
        payment=payment,
        order_id=order_ids[0] if len(order_ids) == 1 else None,
        origin=RefundOrigin.DASHBOARD,
        currency=stripe_refund.currency,
        amount=stripe_refund.amount,
        reverse_transfer=reversal is not None,
        refund_application_fee=False,
        reason="Refunded in the Stripe Dashboard.",
        stripe_refund_id=stripe_refund.id,
        attention=attention,
    )
    payment.refresh_from_db()
    return payment


def dispute_post_balance_transactions(
    *, dispute_id: str, transactions: Sequence[BalanceTransaction], lost: bool
) -> None:
    """Post what Stripe moved for a dispute, read from its balance transactions (Stripe's figures):
    the withdrawal (amount and dispute fee), the reinstatement of a win (the fee too where Stripe
    returns it, as a negative fee), and the countered fee charged on submission and returned on a win
    (`stripe_fee` transactions with the dispute as source). Each posts once whatever calls it.

    A `lost` dispute also turns the withdrawn amount, held until then, into a loss. Stripe moves no
    money at that moment and the dispute says nothing of when it closed, so the loss is dated when
    we learn of it (never before the withdrawal)."""
    for txn in transactions:
        when = datetime.fromtimestamp(txn.created, tz=UTC)
        if txn.reporting_category == "dispute" and txn.amount < 0:
            amount, currency = -txn.amount, txn.currency
            withdrawn = flows.dispute_funds_withdrawn(
                dispute_id=dispute_id, amount=amount, dispute_fee=txn.fee, currency=currency
            )
            ledger_post_one(posting=withdrawn, occurred_at=when)
            if lost:
                loss = flows.dispute_lost(dispute_id=dispute_id, amount=amount, currency=currency)
                ledger_post_one(posting=loss, occurred_at=max(when, timezone.now()))
            continue
        if txn.reporting_category == "dispute_reversal" and txn.amount > 0:
            posting = flows.dispute_funds_reinstated(
                dispute_id=dispute_id, amount=txn.amount, fee_returned=max(0, -txn.fee), currency=txn.currency
            )
        elif txn.type == "stripe_fee" and txn.net:
            posting = flows.dispute_countered_fee(
                balance_transaction_id=txn.id, dispute_id=dispute_id, amount=txn.net, currency=txn.currency
            )
        else:
            continue
        ledger_post_one(posting=posting, occurred_at=when)


def _payment_refresh_refunded(payment: Payment) -> None:
    """The payment's refunded amount: its refunds that Stripe took and that have not failed."""
    refunded = (
        payment.refunds.filter(status__in=(RefundStatus.PENDING, RefundStatus.SUCCEEDED)).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    status = PaymentStatus.REFUNDED if refunded >= payment.amount else PaymentStatus.SUCCEEDED
    Payment.objects.filter(pk=payment.pk).update(amount_refunded=refunded, status=status)
    payment.amount_refunded, payment.status = refunded, status


def refunds_record_for_charge(*, charge_id: str) -> list[Refund]:
    """Record every refund Stripe has on a charge (`charge.refunded`: the event names the charge,
    not the refund, and a Dashboard refund reaches us first this way)."""
    return [refund_record_stripe(stripe_refund=r) for r in gateway_checkout.refunds_of_charge(charge_id)]


# --- Refunds of a payment for several shops (separate charges and transfers) -----------------------------
#
# Stripe's `reverse_transfer` belongs to destination charges: here the platform refunds the buyer
# from its own charge and takes back, by its own reversal, only the refunded shop's share from that
# shop's transfer (`../shared/stripe-reference/connect-behaviour.md` §f). The reversal goes first:
# Stripe allows it only up to the seller's available balance, and when it refuses, nothing is
# refunded and the refund fails with the same sentence as a destination charge's (`REFUSALS`), so
# an admin can refund it from the platform's balance instead (`reverse_transfer=False`).
#
# When the refund fails after its reversal (refused at once, or failed later at the buyer's bank),
# Stripe gives the refund's money back to the platform and leaves the reversal as it is: the
# seller's share sits on the platform's balance. The order's next refund uses it before reversing
# anything (`group_refund_shares`), so a refund sent again never takes the seller's share twice.


def _group_order_transfer(*, payment: Payment, order_id: int | None, amount: int) -> str:
    """The transfer of the one shop's order a refund of a payment for several shops is for ("" when
    nothing was transferred for it); refused without an order of this payment, or beyond what is left
    of that order."""
    order = payment.orders.filter(pk=order_id).first() if order_id is not None else None
    if order is None:
        raise InvalidInput(
            "A payment for several shops is refunded one shop's order at a time: choose the order.",
            code="refund_needs_order",
        )
    taken = order.refunds.filter(status__in=OPEN_REFUND_STATUSES).aggregate(total=Sum("amount"))["total"] or 0
    left = order.amount_total - taken
    if amount > left:
        raise InvalidInput(
            f"At most {format_money(max(left, 0), order.currency)} of this order can still be refunded"
            f" ({format_money(amount, order.currency)} was asked).",
            code="refund_exceeds_remaining",
        )
    return order.stripe_transfer_id


class GroupRefundShares(NamedTuple):
    """What a refund of one shop's order takes back from that shop (`share`) and the part of the
    platform's fee given up with it (`fee_back`); of them, what the reversals of the order's failed
    refunds already took back and booked (`share_reused`, `fee_reused`). The rest is the new reversal."""

    share: int
    fee_back: int
    share_reused: int
    fee_reused: int

    @property
    def reversal(self) -> int:
        return self.share - self.share_reused

    @property
    def reversal_fee(self) -> int:
        return self.fee_back - self.fee_reused


def group_refund_shares(*, refund: Refund) -> GroupRefundShares:
    """What a refund of one shop's order takes back from that shop's transfer, and the part of the
    platform's fee given up with it (the fee policy): with the fee refunded, the seller gives back
    its net share of the refund (`refund_share_of_transfer`) and the platform gives up the rest, its
    fee's share; without, the seller gives back the whole refund, as far as its transfer goes.

    Of that share, the reversals of the order's refunds that failed, and that no other refund used
    yet, are used first (`group_reversals_unused`): reusing is what Stripe's model asks of the
    platform ("it's up to your platform to reconcile any amount owed back to it", separate charges
    and transfers), and it moves no money, where undoing the reversal would need a new transfer from
    the platform's available balance and a second reversal of it, which the seller's balance may
    then refuse. Decided once per refund, under the payment's lock (refunds are written and recorded
    under it), so two refunds cannot use the same reversal and a resend of this refund (the outbox,
    same idempotency key) asks Stripe for the same reversal."""
    order = refund.order
    assert order is not None
    transfer = Transfer.objects.get(stripe_id=order.stripe_transfer_id)
    with transaction.atomic():
        Payment.objects.select_for_update().get(pk=refund.payment_id)
        row = Refund.objects.get(pk=refund.pk)
        unused_share, unused_fee = group_reversals_unused(order_id=order.pk, excluding=refund.pk)
        left = transfer.amount - transfer.amount_reversed + unused_share
        if not refund.refund_application_fee:
            share, fee_back = min(refund.amount, left), 0
        else:
            # Only the refunds taken back from the seller count: one the platform paid took nothing,
            # and the seller keeps its share of what it refunded.
            before = (
                order.refunds.filter(status__in=(RefundStatus.PENDING, RefundStatus.SUCCEEDED), reverse_transfer=True)
                .exclude(pk=refund.pk)
                .aggregate(total=Sum("amount"))["total"]
                or 0
            )
            share = min(
                left,
                refund_share_of_transfer(
                    transfer=transfer.amount, order_total=order.amount_total, before=before, amount=refund.amount
                ),
            )
            fee_back = refund.amount - share
        if row.share_reused is None:
            row.share_reused, row.fee_reused = min(share, unused_share), min(fee_back, unused_fee)
            Refund.objects.filter(pk=row.pk).update(share_reused=row.share_reused, fee_reused=row.fee_reused)
    reused = min(share, row.share_reused)
    return GroupRefundShares(share, fee_back, reused, min(fee_back, row.fee_reused))


def group_reversals_unused(*, order_id: int, excluding: int | None = None) -> tuple[int, int]:
    """What the reversals of an order's refunds that failed (or were canceled) took back from the
    seller and booked of the platform's fee, less what its other refunds not failed used of them.
    The fee booked with a reversal is what its refund gave up less what that refund itself reused
    (`flows.separate_transfer_reversal`, from the reversal's metadata). What a lost dispute's
    recovery counted of a reversal (named for it, `payments.group_recovery`) is used up; a dispute
    smaller than it leaves the rest, and that much of the fee share, unused (`kept_reversals_counted`)."""
    refunds = Refund.objects.filter(order_id=order_id)
    return _reversals_unused(refunds=refunds if excluding is None else refunds.exclude(pk=excluding))


class KeptReversal(NamedTuple):
    """A failed refund's reversal left in place (Stripe does not undo it) and what of it is still kept
    for a refund: of the seller's share it took back (`share`) and of the platform's fee share booked
    with it (`fee`: on a payment for several shops, the part of the fee its refund gave up, less what
    that refund itself reused; 0 on a destination charge, whose fee refund is Stripe's own)."""

    stripe_id: str
    share: int
    fee: int


def group_reversals_kept(*, order_id: int) -> list[KeptReversal]:
    """The reversals of an order's failed refunds, oldest first, with what is kept of each that no
    lost dispute has counted yet: what a dispute's recovery counts first (`payments.group_recovery`)."""
    return _kept_reversals(Refund.objects.filter(order_id=order_id))


def payment_reversals_unused(*, payment_id: int) -> int:
    """What the reversals of a destination charge's failed refunds took back from the seller and left
    in place, less what its refunds not failed used of them (`_destination_share_reused`): the seller's
    share already on the platform's balance, which its next refund or lost dispute counts first."""
    return _reversals_unused(refunds=Refund.objects.filter(payment_id=payment_id))[0]


def payment_reversals_kept(*, payment_id: int) -> list[KeptReversal]:
    """`group_reversals_kept` for a destination charge (`payments.recovery`)."""
    return _kept_reversals(Refund.objects.filter(payment_id=payment_id))


def kept_reversals_counted(
    reversals: Sequence[KeptReversal], *, share: int, fee_at_most: int = 0
) -> tuple[list[KeptReversal], int]:
    """A lost dispute counts `share` of the kept `reversals`, oldest first, and of each the fee share
    booked with it in proportion to what it counts of it (rounded half up, `money.round_half_up_div`,
    as the sandbox's `proportional` rounds a reversal's fee share; all of it with the whole of it),
    `fee_at_most` in all (the dispute's own fee share, and what is unused of them). Returns the
    reversals it counted something of, each with what stays kept of it for a refund, and the fee it
    counted: a dispute smaller than them leaves the rest, share and fee alike, to the next refund."""
    left, fee_left, counted = share, fee_at_most, []
    for kept in reversals:
        part = min(left, kept.share)
        fee = kept.fee if part == kept.share else money.round_half_up_div(kept.fee * part, kept.share)
        fee = min(fee, fee_left)
        if part or fee:
            counted.append(KeptReversal(kept.stripe_id, kept.share - part, kept.fee - fee))
        left, fee_left = left - part, fee_left - fee
        if left <= 0:
            break
    return counted, fee_at_most - fee_left


def _kept_reversals(refunds: QuerySet[Refund]) -> list[KeptReversal]:
    """The reversals of `refunds` that failed, oldest first, with what is kept of each: all of one no
    lost dispute counted (its fee share: what its refund gave up less what that refund reused), the
    part not counted of one a dispute counted in part (`TransferReversal.kept_for_refund`,
    `fee_kept_for_refund`); one a dispute counted whole is left out."""
    failed = {
        r.stripe_transfer_reversal_id: r
        for r in refunds.exclude(status__in=OPEN_REFUND_STATUSES).exclude(stripe_transfer_reversal_id="")
    }
    rows = (
        TransferReversalRow.objects.filter(stripe_id__in=list(failed))
        .filter(Q(for_dispute="") | Q(kept_for_refund__gt=0) | Q(fee_kept_for_refund__gt=0))
        .order_by("created_at", "pk")
    )
    kept = []
    for row in rows:
        if row.for_dispute:
            kept.append(KeptReversal(row.stripe_id, row.kept_for_refund, row.fee_kept_for_refund))
            continue
        r = failed[row.stripe_id]
        fee = r.amount - row.amount - (r.share_reused or 0) - r.fee_reused if r.refund_application_fee else 0
        kept.append(KeptReversal(row.stripe_id, row.amount, max(0, fee)))
    return kept


def _reversals_unused(*, refunds: QuerySet[Refund]) -> tuple[int, int]:
    kept = _kept_reversals(refunds)
    used = refunds.filter(status__in=OPEN_REFUND_STATUSES).aggregate(share=Sum("share_reused"), fee=Sum("fee_reused"))
    share = sum(k.share for k in kept) - (used["share"] or 0)
    fee = sum(k.fee for k in kept) - (used["fee"] or 0)
    return max(0, share), max(0, fee)


def refund_share_of_transfer(*, transfer: int, order_total: int, before: int, amount: int) -> int:
    """The seller's net share of a refund of `amount` of an order of `order_total` paid to it by a
    transfer of `transfer`, after refunds of `before` were taken back from it: the transfer's share
    of everything taken back so far (rounded half up; all of it once the whole order is) less what
    the earlier ones took. Cumulative, so the shares of refunds taken back add up to the transfer
    when they add up to the order, whatever their number, each within a unit of its exact share,
    and never more than the refund: the platform's fee share (`amount` - share) is never negative.
    A refund the platform paid is not in `before`: it left the seller its share, which no later
    refund takes (the last refund used to take "what is left", the whole transfer then)."""

    def taken(refunded: int) -> int:
        if refunded >= order_total:
            return transfer
        return money.round_half_up_div(transfer * refunded, order_total)

    return max(0, min(amount, taken(before + amount) - taken(before)))


def _group_refund_submit(refund: Refund, *, metadata: dict[str, str]) -> Refund:
    """Send a refund of one shop's order in a payment for several shops: that shop's reversal (if
    any), then the platform's refund to the buyer, then record and post both."""
    order = refund.order
    assert order is not None
    reversal = None
    if refund.reverse_transfer:
        shares = group_refund_shares(refund=refund)
        if shares.reversal > 0:
            try:
                reversal = gateway_transfers.transfer_reversal_create(
                    transfer_id=order.stripe_transfer_id,
                    amount=shares.reversal,
                    idempotency_ids=refund_idempotency_ids(refund),
                    metadata={**metadata, "platform_fee_refunded": str(shares.reversal_fee)},
                )
            except InvalidInput as exc:
                return _refund_refused(refund, exc)
    try:
        stripe_refund = gateway_checkout.refund_create(
            charge=refund.payment.stripe_charge_id,
            idempotency_ids=refund_idempotency_ids(refund),
            amount=refund.amount,
            reverse_transfer=False,
            refund_application_fee=False,
            metadata=metadata,
        )
    except InvalidInput as exc:
        refused = _refund_refused(refund, exc)
        if reversal is not None:
            with transaction.atomic():
                transfer_reversal_from_stripe(reversal=reversal, destination=str(order.seller.stripe_account_id))
                Refund.objects.filter(pk=refund.pk).update(
                    stripe_transfer_reversal_id=reversal.id,
                    attention=_reversal_kept("Stripe refused the refund", reversal.amount, refund.currency),
                )
            refused.refresh_from_db()
        return refused
    with transaction.atomic():
        recorded = refund_record_stripe(stripe_refund=stripe_refund)
        if reversal is not None:
            transfer_reversal_from_stripe(reversal=reversal, destination=str(order.seller.stripe_account_id))
            Refund.objects.filter(pk=refund.pk).update(stripe_transfer_reversal_id=reversal.id)
            recorded.stripe_transfer_reversal_id = reversal.id
    return recorded


def _reversal_kept(what: str, amount: int, currency: str) -> str:
    """The admin's sentence for a refund that failed after its reversal (a destination charge's, or a
    shop's order in a payment for several shops)."""
    return (
        f"{what} after the seller's share ({format_money(amount, currency)}) was taken back; that money stays "
        "on the platform's balance. Refunding again, taking the share from the seller as usual, uses it, so it "
        "is not taken from the seller a second time; if the buyer is refunded otherwise, send it back to the seller."
    )[:500]


def _refund_refused(refund: Refund, exc: InvalidInput) -> Refund:
    Refund.objects.filter(pk=refund.pk, status=RefundStatus.CREATED, stripe_refund_id=None).update(
        status=RefundStatus.FAILED,
        failure_code=exc.code[:60],
        failure_message=REFUSALS.get(exc.code, f"Stripe refused the refund: {exc.message}")[:500],
    )
    refund.refresh_from_db()
    return refund
