"""Recovering a lost dispute from the seller, and collecting what the seller could not pay then.

Stripe debits the platform for a dispute on a destination charge and never takes anything back
from the seller by itself; the platform does, by reversing the transfer (`DISPUTE_RECOVERY`):

- `seller_share` (default): the disputed part of the transfer is reversed with the application fee
  refunded in proportion (Stripe's `refund_application_fee`), so the seller ends as if that part of
  the sale never happened: 10000 sold with a 1000 fee, lost in full, takes 9000 from the seller.
- `seller_share_and_fee`: that, plus Stripe's dispute fee (owed by the seller as a debt, collected
  from the seller's balance now or later).
- `none`: the platform bears the loss.

A refund that failed after its reversal left that reversal in place, and the seller's share of it on
the platform's balance (`payments.services.payment_reversals_unused`): it counts first toward the
disputed part and is named for the dispute, so the seller never gives the same share back twice,
and what it counted is posted as recovered for the dispute (`kept_reversals_count_for_dispute`);
a dispute smaller than it counts only its part, and the rest stays kept for the next refund.

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

from marketplace.errors import InvalidInput
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import disputes as gateway_disputes
from marketplace.gateway.balances import balance_retrieve
from marketplace.gateway.types import TransferReversal as StripeTransferReversal
from payments.group_recovery import group_dispute_recover, reversal_made
from payments.models import Dispute, DisputeStatus, RecoveryStatus, SellerDebt
from payments.services import kept_reversals_counted, payment_reversals_kept, payment_reversals_unused
from payouts.models import ApplicationFee, Transfer, TransferReversal
from payouts.services import (
    application_fee_refund_record,
    kept_reversals_count_for_dispute,
    transfer_reversal_from_stripe,
    transfer_reversal_name_debt,
    transfer_reversal_name_dispute,
)
from sellers.models import Seller

logger = logging.getLogger(__name__)


def seller_balance(*, stripe_account: str, currency: str) -> int:
    """What the seller holds at Stripe in `currency`: available + pending (a reversal takes from both)."""
    balance = balance_retrieve(account=stripe_account)
    return sum(part.amount for part in (*balance.available, *balance.pending) if part.currency == currency)


def dispute_recover(*, dispute_id: int) -> Dispute:
    """Recover a lost dispute from its seller per `DISPUTE_RECOVERY`, once (the dispute's row lock and
    its `recovery` mark; the reversal's key is the dispute). A dispute on a payment for several shops
    is recovered from each of them (`group_recovery`)."""
    group = group_dispute_recover(dispute_id=dispute_id)
    if group is not None:
        for seller in group[1]:
            seller_debts_collect(seller=seller)
        return group[0]
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update(of=("self",)).select_related("seller", "payment").get(pk=dispute_id)
        if dispute.status != DisputeStatus.LOST or dispute.recovery or dispute.seller is None:
            return dispute
        mode = str(settings.DISPUTE_RECOVERY)
        payment = dispute.payment
        transfer = Transfer.objects.filter(payment=payment).order_by("pk").first() if payment else None
        if mode == "none" or transfer is None:
            dispute.recovery = RecoveryStatus.NOT_RECOVERED
            dispute.save(update_fields=["recovery", "updated_at"])
            return dispute
        assert payment is not None  # it has a transfer
        account = str(dispute.seller.stripe_account_id)
        fee = ApplicationFee.objects.filter(payment=payment).order_by("pk").first()
        reversible = transfer.amount - transfer.amount_reversed
        # A failed refund's kept reversal already took part of the sale back (with its fee refund):
        # it counts first, so the seller gives the disputed part back once.
        reused = min(dispute.amount, payment_reversals_unused(payment_id=payment.pk))
        amount = min(dispute.amount - reused, reversible)
        fee_share = _fee_share(fee, amount, transfer.amount)
        seller_share = amount - fee_share
        owed_fee = dispute.dispute_fee if mode == "seller_share_and_fee" else 0
        holds = seller_balance(stripe_account=account, currency=dispute.currency)
        ids = ("dispute", dispute.pk)
        made = reversal_made(transfer.stripe_id, dispute=str(dispute.pk))
        if made is not None:
            # An earlier run's reversal whose answer was lost (this is the outbox's retry): Stripe made it,
            # so its terms stand, not today's (the seller's balance, which it emptied, read again now).
            reversal = _reversal_record(made, transfer=transfer, dispute=dispute)
            recovered, seller_share = int(made.metadata["recovered"]), int(made.metadata["seller_share"])
            if made.metadata.get("fee_refunded") == "yes":
                _record_fee_refunds(fee)
        elif seller_share > 0 and holds >= seller_share:
            terms = {"recovered": str(seller_share), "seller_share": str(seller_share), "fee_refunded": "yes"}
            terms["dispute"] = str(dispute.pk)
            reversal = _reverse(transfer, amount, refund_fee=fee_share > 0, ids=ids, dispute=dispute, terms=terms)
            _record_fee_refunds(fee)
            recovered = seller_share
        elif seller_share > 0 and holds > 0:
            # Not enough for the whole share: take what is there (without the fee refund, which would
            # give part of it straight back) and the rest becomes the seller's debt.
            terms = {"recovered": str(holds), "seller_share": str(seller_share), "fee_refunded": "no"}
            terms["dispute"] = str(dispute.pk)
            reversal = _reverse(transfer, holds, refund_fee=False, ids=ids, dispute=dispute, terms=terms)
            recovered = holds
        else:
            reversal, recovered = None, 0
        if reused:  # counted once, shown as taken for it on the money page, and recovered in the report
            counted, _fee = kept_reversals_counted(payment_reversals_kept(payment_id=payment.pk), share=reused)
            kept_reversals_count_for_dispute(
                reversals=counted,  # a dispute smaller than them leaves the rest kept for a refund
                dispute_id=dispute.stripe_id,
                destination=account,
                amount=reused,
                currency=dispute.currency,
            )
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


def _fee_share(fee: ApplicationFee | None, amount: int, transfer_amount: int) -> int:
    """The part of the fee Stripe refunds with a reversal of `amount` (in proportion, rounded half up,
    never more than is left of the fee), as the sandbox and Stripe's docs describe it."""
    if fee is None or transfer_amount <= 0:
        return 0
    share = (2 * fee.amount * amount + transfer_amount) // (2 * transfer_amount)
    return min(share, fee.amount - fee.amount_refunded)


def _reverse(
    transfer: Transfer,
    amount: int,
    *,
    refund_fee: bool,
    ids: tuple[object, ...],
    dispute: Dispute,
    terms: dict[str, str],
) -> TransferReversal:
    """Reverse `amount` of the transfer for a lost dispute's recovery, and record it named after the
    dispute (a debt's collections: `seller_debts_collect`)."""
    stripe_reversal = _create_reversal(transfer, amount, ids=ids, terms=terms, refund_fee=refund_fee)
    return _reversal_record(stripe_reversal, transfer=transfer, dispute=dispute)


def _create_reversal(
    transfer: Transfer, amount: int, *, ids: tuple[object, ...], terms: dict[str, str], refund_fee: bool = False
) -> StripeTransferReversal:
    """The reversal at Stripe. `terms` go in its metadata: what names its step, for a run after its
    answer was lost to find it (`reversal_made`), and what it recovered."""
    return gateway_disputes.transfer_reversal_create(
        transfer_id=transfer.stripe_id,
        amount=amount,
        refund_application_fee=refund_fee,
        idempotency_ids=ids,
        metadata={"reason": "dispute_recovery", **terms},
    )


def _debt_step(debt: SellerDebt) -> str:
    """A collection's step: the debt and what was collected of it before (the reversal's key holds both)."""
    return f"{debt.pk}:{debt.collected}"


def _debt_reversal_made(debt: SellerDebt, transfers: list[Transfer]) -> tuple[Transfer, StripeTransferReversal] | None:
    """The reversal an earlier run made for this step of the debt, its answer lost: on the transfer that
    run chose (newest first, the first with something left to reverse) or on a newer one the reversal
    has since emptied (its `transfer.reversed` recorded), so those are looked at, from the newest, until
    the first with something left."""
    step = _debt_step(debt)
    for transfer in transfers:
        left = transfer.amount > transfer.amount_reversed
        if left or transfer.amount_reversed > 0:
            made = reversal_made(transfer.stripe_id, debt=step)
            if made is not None:
                return transfer, made
        if left:
            return None
    return None


def _debt_collected(debt: SellerDebt, made: StripeTransferReversal, *, transfer: Transfer) -> int:
    """Record a collection's reversal, named for the debt's dispute, and count it on the debt."""
    reversal = _reversal_record(made, transfer=transfer, dispute=None)
    transfer_reversal_name_debt(reversal_id=reversal.stripe_id, dispute_id=debt.dispute.stripe_id)
    SellerDebt.objects.filter(pk=debt.pk).update(collected=F("collected") + made.amount)
    debt.refresh_from_db()
    return made.amount


def _reversal_record(
    stripe_reversal: StripeTransferReversal, *, transfer: Transfer, dispute: Dispute | None
) -> TransferReversal:
    reversal = transfer_reversal_from_stripe(reversal=stripe_reversal, destination=transfer.destination)
    if dispute is not None:
        transfer_reversal_name_dispute(reversal_id=reversal.stripe_id, dispute_id=dispute.stripe_id)
    return reversal


def _record_fee_refunds(fee: ApplicationFee | None) -> None:
    if fee is None:
        return
    for fee_refund in gateway_checkout.application_fee_refunds_list(fee.stripe_id):
        application_fee_refund_record(fee_refund=fee_refund, application_fee_id=fee.stripe_id, account=fee.account)


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
            transfers = Transfer.objects.filter(destination=account, currency=debt.currency).order_by("-created_at")
            made = _debt_reversal_made(debt, list(transfers))
            if made is not None:
                total += _debt_collected(debt, made[1], transfer=made[0])
            holds = seller_balance(stripe_account=account, currency=debt.currency)
            wanted = min(debt.outstanding, holds)
            for transfer in transfers.all():
                if wanted <= 0:
                    break
                take = min(wanted, transfer.amount - transfer.amount_reversed)
                if take <= 0:
                    continue
                step = {"debt": _debt_step(debt)}
                try:
                    made_now = _create_reversal(transfer, take, ids=("debt", debt.pk, debt.collected), terms=step)
                except InvalidInput as exc:
                    # A separate transfer (a payment for several shops) is reversed only from the
                    # seller's *available* funds: what is pending is collected when it is available.
                    if exc.code != "balance_insufficient":
                        raise
                    break
                wanted -= take
                total += _debt_collected(debt, made_now, transfer=transfer)
            if debt.outstanding <= 0:
                SellerDebt.objects.filter(pk=debt.pk).update(settled_at=timezone.now())
                others = SellerDebt.objects.filter(dispute_id=debt.dispute_id, settled_at__isnull=True)
                if not others.exists():  # a dispute on several shops' payment may leave several debts
                    Dispute.objects.filter(pk=debt.dispute_id).update(recovery=RecoveryStatus.RECOVERED)
    return total


def seller_debts_collect_all() -> int:
    """The beat job: every seller with an outstanding debt."""
    seller_ids = SellerDebt.objects.filter(settled_at__isnull=True).values_list("seller_id", flat=True).distinct()
    return sum(seller_debts_collect(seller=seller) for seller in Seller.objects.filter(pk__in=list(seller_ids)))
