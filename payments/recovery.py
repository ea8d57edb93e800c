"""Recovering a lost dispute from the seller, and collecting what the seller could not pay then.

Stripe debits the platform for a dispute on a destination charge and never takes anything back
from the seller by itself; the platform does, by reversing the transfer (`DISPUTE_RECOVERY`):

- `seller_share` (default): the disputed part of the transfer is reversed with the application fee
  refunded in proportion (Stripe's `refund_application_fee`), so the seller ends as if that part of
  the sale never happened: 10000 sold with a 1000 fee, lost in full, takes 9000 from the seller.
- `seller_share_and_fee`: that, plus Stripe's dispute fee (owed by the seller as a debt, collected
  from the seller's balance now or later).
- `none`: the platform bears the loss.

A reversal beyond what the seller holds would leave the seller's Stripe balance negative, so the
seller's balance (available + pending) is read first: what it cannot cover is recorded as the
seller's debt (`SellerDebt`) and collected by reversals of the seller's later transfers when funds
arrive (`balance.available` on the seller's account, and an hourly beat job), under the debt's row
lock, each reversal keyed by the debt and what was collected before it, so never twice.

Every reversal and fee refund is recorded and posted by `payouts.services` (the same records the
`transfer.reversed` and `application_fee.refunded` events make), so the ledger equals Stripe.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import disputes as gateway_disputes
from marketplace.gateway.balances import balance_retrieve
from payments.models import Dispute, DisputeStatus, RecoveryStatus, SellerDebt
from payouts.models import ApplicationFee, Transfer, TransferReversal
from payouts.services import application_fee_refund_record, transfer_reversal_from_stripe
from sellers.models import Seller

logger = logging.getLogger(__name__)

RECOVERY_MODES = ("seller_share", "seller_share_and_fee", "none")


def seller_balance(*, stripe_account: str, currency: str) -> tuple[int, int]:
    """What the seller holds at Stripe in `currency`: (available, available + pending). A destination
    charge's transfer can be reversed from both; a transfer the platform made itself (a payment for
    several shops) only "up to the connected account's available balance" (Stripe, separate charges
    and transfers)."""
    balance = balance_retrieve(account=stripe_account)
    available = sum(part.amount for part in balance.available if part.currency == currency)
    pending = sum(part.amount for part in balance.pending if part.currency == currency)
    return available, available + pending


def _reversible_from(transfer: Transfer, holds: tuple[int, int]) -> int:
    """How much of what the seller holds a reversal of this transfer may take (see `seller_balance`)."""
    destination_charge = transfer.payment is not None and transfer.amount == transfer.payment.amount
    return max(0, holds[1] if destination_charge else holds[0])


def dispute_recover(*, dispute_id: int) -> Dispute:
    """Recover a lost dispute from its seller per `DISPUTE_RECOVERY`, once (the dispute's row lock and
    its `recovery` mark; the reversal's key is the dispute)."""
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update(of=("self",)).select_related("seller", "payment").get(pk=dispute_id)
        if dispute.status != DisputeStatus.LOST or dispute.recovery:
            return dispute
        mode = str(settings.DISPUTE_RECOVERY)
        payment = dispute.payment
        transfer = (
            Transfer.objects.filter(payment=payment).select_related("payment").order_by("pk").first()
            if payment
            else None
        )
        if mode == "none" or transfer is None or payment is None:
            dispute.recovery = RecoveryStatus.NOT_RECOVERED
            dispute.save(update_fields=["recovery", "updated_at"])
            return dispute
        if dispute.seller is None:  # one payment for several shops: each gives back its part
            debtors = _recover_from_each_shop(dispute, payment_amount=payment.amount)
            for seller in debtors:
                seller_debts_collect(seller=seller)
            return dispute
        account = str(dispute.seller.stripe_account_id)
        fee = ApplicationFee.objects.filter(payment=payment).order_by("pk").first()
        reversible = transfer.amount - transfer.amount_reversed
        amount = min(dispute.amount, reversible)
        fee_share = _fee_share(fee, amount, transfer.amount)
        seller_share = amount - fee_share
        owed_fee = dispute.dispute_fee if mode == "seller_share_and_fee" else 0
        holds = _reversible_from(transfer, seller_balance(stripe_account=account, currency=dispute.currency))
        recovered = 0
        if seller_share > 0 and holds >= seller_share:
            reversal = _reverse(transfer, amount, refund_fee=fee_share > 0, ids=("dispute", dispute.pk))
            _record_fee_refunds(fee)
            recovered = seller_share
        elif seller_share > 0 and holds > 0:
            # Not enough for the whole share: take what is there (without the fee refund, which would
            # give part of it straight back) and the rest becomes the seller's debt.
            reversal = _reverse(transfer, holds, refund_fee=False, ids=("dispute", dispute.pk))
            recovered = reversal.amount
        else:
            reversal = None
        dispute.recovered_amount = recovered  # at once; a debt's collections add to it (`SellerDebt.collected`)
        dispute.recovery_reversal_id = reversal.stripe_id if reversal is not None else ""
        owed = seller_share - recovered + owed_fee
        dispute.recovery = RecoveryStatus.DEBT if owed > 0 else RecoveryStatus.RECOVERED
        dispute.save(update_fields=["recovered_amount", "recovery_reversal_id", "recovery", "updated_at"])
        if owed > 0:
            SellerDebt.objects.create(seller=dispute.seller, dispute=dispute, currency=dispute.currency, amount=owed)
    if owed > 0:
        seller_debts_collect(seller=dispute.seller)
    return dispute


def _recover_from_each_shop(dispute: Dispute, *, payment_amount: int) -> list[Seller]:
    """A payment for several shops (separate transfers, each already net of the platform's fee):
    each shop gives back its transfer's share of the disputed amount (half up), from what it holds;
    what it cannot cover is its debt. Returns the sellers left owing. The dispute fee stays the
    platform's (it is not split between shops)."""
    debtors: list[Seller] = []
    recovered = 0
    for transfer in Transfer.objects.filter(payment=dispute.payment).select_related("payment").order_by("pk"):
        seller = Seller.objects.filter(stripe_account_id=transfer.destination).first()
        share = min((2 * transfer.amount * dispute.amount + payment_amount) // (2 * payment_amount), transfer.amount)
        share = min(share, transfer.amount - transfer.amount_reversed)
        if seller is None or share <= 0:
            continue
        holds = _reversible_from(
            transfer, seller_balance(stripe_account=transfer.destination, currency=dispute.currency)
        )
        taken = min(share, holds)
        if taken:
            row = _reverse(transfer, taken, refund_fee=False, ids=("dispute", dispute.pk, transfer.stripe_id))
            taken = row.amount
            recovered += taken
        if share > taken:
            SellerDebt.objects.create(seller=seller, dispute=dispute, currency=dispute.currency, amount=share - taken)
            debtors.append(seller)
    dispute.recovered_amount = recovered
    dispute.recovery = RecoveryStatus.DEBT if debtors else RecoveryStatus.RECOVERED
    dispute.save(update_fields=["recovered_amount", "recovery", "updated_at"])
    return debtors


def _fee_share(fee: ApplicationFee | None, amount: int, transfer_amount: int) -> int:
    """The part of the fee Stripe refunds with a reversal of `amount` (in proportion, rounded half up,
    never more than is left of the fee), as the sandbox and Stripe's docs describe it."""
    if fee is None or transfer_amount <= 0:
        return 0
    share = (2 * fee.amount * amount + transfer_amount) // (2 * transfer_amount)
    return min(share, fee.amount - fee.amount_refunded)


def _reverse(transfer: Transfer, amount: int, *, refund_fee: bool, ids: tuple[object, ...]) -> TransferReversal:
    """Reverse `amount` of the transfer for the recovery named by `ids`, once: the key is `ids` and
    the amount, and a reversal Stripe already made for the same `ids` (found by its metadata, as
    after a run that reversed and then failed before committing, whose retry reads a smaller
    balance and so asks for another amount) is recorded instead of making a second one."""
    tag = ":".join(str(i) for i in ids)
    for existing in gateway_checkout.transfer_reversals_list(transfer.stripe_id):
        if existing.metadata.get("recovery") == tag:
            return transfer_reversal_from_stripe(reversal=existing, destination=transfer.destination)
    stripe_reversal = gateway_disputes.transfer_reversal_create(
        transfer_id=transfer.stripe_id,
        amount=amount,
        refund_application_fee=refund_fee,
        idempotency_ids=ids,
        metadata={"reason": "dispute_recovery", "recovery": tag},
    )
    return transfer_reversal_from_stripe(reversal=stripe_reversal, destination=transfer.destination)


def _record_fee_refunds(fee: ApplicationFee | None) -> None:
    if fee is None:
        return
    for fee_refund in gateway_checkout.application_fee_refunds_list(fee.stripe_id):
        application_fee_refund_record(
            fee_refund_id=fee_refund.id,
            application_fee_id=fee.stripe_id,
            account=fee.account,
            amount=fee_refund.amount,
            currency=fee_refund.currency,
            created=fee_refund.created,
        )


def seller_debts_collect(*, seller: Seller) -> int:
    """Collect the seller's outstanding debts (oldest first) from what its Stripe balance holds now,
    by reversing its transfers (newest first, up to what each has left). Returns what was collected.
    Each debt is handled under its row lock and each reversal is keyed by the debt and what was
    collected before it: a second run, or two at once, collect nothing twice."""
    total = 0
    account = str(seller.stripe_account_id or "")
    if not account:
        return 0
    for debt_id in SellerDebt.objects.filter(seller=seller, settled_at__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            debt = SellerDebt.objects.select_for_update().get(pk=debt_id)
            if debt.outstanding <= 0:
                continue
            holds = seller_balance(stripe_account=account, currency=debt.currency)
            wanted = min(debt.outstanding, max(holds))
            transfers = (
                Transfer.objects.filter(destination=account, currency=debt.currency)
                .select_related("payment")
                .order_by("-created_at")
            )
            taken_here = 0
            for transfer in transfers:
                if wanted <= 0:
                    break
                room = _reversible_from(transfer, holds) - taken_here
                take = min(wanted, transfer.amount - transfer.amount_reversed, room)
                if take <= 0:
                    continue
                take = _reverse(transfer, take, refund_fee=False, ids=("debt", debt.pk, debt.collected)).amount
                SellerDebt.objects.filter(pk=debt.pk).update(collected=F("collected") + take)
                debt.refresh_from_db()
                wanted -= take
                taken_here += take
                total += take
            if debt.outstanding <= 0:
                SellerDebt.objects.filter(pk=debt.pk).update(settled_at=timezone.now())
                if not SellerDebt.objects.filter(dispute_id=debt.dispute_id, settled_at__isnull=True).exists():
                    Dispute.objects.filter(pk=debt.dispute_id).update(recovery=RecoveryStatus.RECOVERED)
    return total


def seller_debts_collect_all() -> int:
    """The beat job: every seller with an outstanding debt."""
    seller_ids = SellerDebt.objects.filter(settled_at__isnull=True).values_list("seller_id", flat=True).distinct()
    return sum(seller_debts_collect(seller=seller) for seller in Seller.objects.filter(pk__in=list(seller_ids)))
