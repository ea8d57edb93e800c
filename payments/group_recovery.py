"""Recovering a lost dispute on a payment for several shops (separate charges and transfers).

Stripe debits the platform for the whole dispute; the platform recovers it from the sellers in
proportion to their share of the disputed amount, each by its own reversal of its own transfer
(`../shared/stripe-reference/connect-behaviour.md` §f "Disputes"):

- the disputed amount is split over the payment's orders by what each still holds of the charge (its
  total less its refunds), by largest remainder, so the parts add up to the dispute;
- with `DISPUTE_RECOVERY=seller_share` (default) each seller gives back its net share of its part
  (its transfer x part / order total, rounded half up), so it ends as if that part of the sale never
  happened and the platform bears its fee's share; `seller_share_and_fee` adds Stripe's dispute fee,
  split the same way, as debt; `none` recovers nothing;
- a reversal a failed refund of the order left in place (the seller's share of that refund, on the
  platform's balance) counts first toward that net share, and is named for the dispute, so the
  seller does not give the same share back twice; a dispute smaller than it counts only its part of
  it, and of the fee share booked with it in proportion, and the rest stays kept for a refund;
- a reversal of a separate transfer needs the seller's *available* balance: what it cannot cover is
  that seller's debt (`SellerDebt`, one per dispute and seller), collected later as the disputes
  issue does (`recovery.seller_debts_collect`).

Each reversal's key is the dispute and the order, and carries in its metadata the fee the platform
gives back, so `transfer.reversed` posts the same legs (`payouts.services.transfer_reversal_record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from marketplace import money
from marketplace.errors import InvalidInput
from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway import transfers as gateway_transfers
from marketplace.gateway.balances import balance_retrieve
from marketplace.gateway.types import TransferReversal as StripeTransferReversal
from orders.models import Order
from payments.models import OPEN_REFUND_STATUSES, Dispute, DisputeStatus, Payment, RecoveryStatus, SellerDebt
from payments.services import KeptReversal, group_reversals_kept, group_reversals_unused, kept_reversals_counted
from payouts.models import Transfer
from payouts.services import (
    kept_reversals_count_for_dispute,
    transfer_reversal_from_stripe,
    transfer_reversal_name_dispute,
)

if TYPE_CHECKING:
    from sellers.models import Seller


@dataclass(frozen=True)
class DisputeShare:
    """One shop's part of a dispute on a payment for several shops, and what recovering it takes."""

    order: Order
    disputed: int  # the order's part of the disputed amount
    reversal: int  # what its seller gives back from its transfer: its net share of that part
    fee_given_back: int  # the platform fee's share of that part, which the platform bears
    reused: int = 0  # of that net share, what its failed refunds' kept reversals already took back
    fee_reused: int = 0  # of the fee's share, what was booked with those reversals
    counted: tuple[KeptReversal, ...] = ()  # those reversals, each with what stays kept of it for a refund


def pays_checkout_group(payment: Payment | None) -> bool:
    return payment is not None and payment.orders.filter(checkout_group__isnull=False).exists()


def group_orders(*, payment_ids: list[int]) -> QuerySet[Order]:
    """The orders of these payments for several shops, oldest first, each with what its refunds took
    (`refunded`): `dispute_parts` weighs them by it."""
    return (
        Order.objects.filter(payment_id__in=payment_ids, checkout_group__isnull=False)
        .annotate(refunded=Coalesce(Sum("refunds__amount", filter=Q(refunds__status__in=OPEN_REFUND_STATUSES)), 0))
        .order_by("pk")
    )


def dispute_parts(*, orders: list[Order], amount: int) -> list[int]:
    """Each order's part of a dispute of `amount` on their payment (the orders of one payment, from
    `group_orders`): largest remainder over what each still holds of the charge, so the parts add up
    to the dispute. Empty when they hold nothing. Recovery and every page naming a shop's part use it."""
    weights = [max(0, order.amount_total - order.refunded) for order in orders]  # type: ignore[attr-defined]
    if not orders or sum(weights) == 0:
        return []
    return money.split_by_largest_remainder(min(amount, sum(weights)), weights)


def group_dispute_shares(*, payment: Payment, amount: int) -> list[DisputeShare]:
    """Split a dispute of `amount` over the payment's orders and give each seller's recovery (see the
    module docstring). Three orders of 10000, 3333 and 1250 (fees 1030, 167, 0) disputed for 5000:
    parts 3429, 1143, 428; reversals 3076, 1086, 428; fees given back 353, 57, 0.

    A refund of the order that failed after its reversal left the seller's share of it on the
    platform's balance (`payments.services.group_refund_shares`): that kept reversal, and the fee
    share booked with it, count first (`group_reversals_unused`, the same accounting a refund
    uses), so the seller gives back its net share of the dispute once, not that and the kept
    reversal too. The reversal is what they do not cover, as far as the transfer goes. A part
    smaller than them counts only its share of them, with the fee share booked with it in
    proportion (`kept_reversals_counted`): the whole order refunded (8970 reversed with the fee's
    1030 given up) and failed, then 3449 of it lost in a dispute, counts 3094 and 355 of them, and
    5876 and 675 stay kept for the order's next refund."""
    orders = list(group_orders(payment_ids=[payment.pk]).select_related("seller"))
    parts = dispute_parts(orders=orders, amount=amount)
    if not parts:
        return []
    transfers = {t.stripe_id: t for t in Transfer.objects.filter(stripe_id__in=[o.stripe_transfer_id for o in orders])}
    shares = []
    for order, part in zip(orders, parts, strict=True):
        transfer = transfers.get(order.stripe_transfer_id)
        reversal = reused = fee_reused = 0
        counted: list[KeptReversal] = []
        if transfer is not None and part:
            share = money.round_half_up_div(transfer.amount * part, order.amount_total)
            unused_share, unused_fee = group_reversals_unused(order_id=order.pk)
            reused = min(share, unused_share)
            counted, fee_reused = kept_reversals_counted(
                group_reversals_kept(order_id=order.pk), share=reused, fee_at_most=min(part - share, unused_fee)
            )
            reversal = min(transfer.amount - transfer.amount_reversed, share - reused)
        shares.append(
            DisputeShare(
                order=order,
                disputed=part,
                reversal=reversal,
                fee_given_back=part - reversal - reused - fee_reused,
                reused=reused,
                fee_reused=fee_reused,
                counted=tuple(counted),
            )
        )
    return shares


def _available(*, stripe_account: str, currency: str) -> int:
    """The seller's *available* balance: what a reversal of a separate transfer may take."""
    balance = balance_retrieve(account=stripe_account)
    return sum(part.amount for part in balance.available if part.currency == currency)


def group_dispute_recover(*, dispute_id: int) -> tuple[Dispute, list[Seller]] | None:
    """Recover a lost dispute on a payment for several shops, once (the dispute's row lock and its
    `recovery` mark); None when the dispute is not on such a payment. Returns the dispute and the
    sellers left with a debt, for the caller to collect after the commit."""
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update(of=("self",)).select_related("payment").get(pk=dispute_id)
        if not pays_checkout_group(dispute.payment):
            return None
        assert dispute.payment is not None
        if dispute.status != DisputeStatus.LOST or dispute.recovery:
            return dispute, []
        mode = str(settings.DISPUTE_RECOVERY)
        shares = group_dispute_shares(payment=dispute.payment, amount=dispute.amount) if mode != "none" else []
        if not shares:
            dispute.recovery = RecoveryStatus.NOT_RECOVERED
            dispute.save(update_fields=["recovery", "updated_at"])
            return dispute, []
        fee = dispute.dispute_fee if mode == "seller_share_and_fee" else 0
        fee_parts = money.split_by_largest_remainder(fee, [s.disputed for s in shares]) if fee else [0] * len(shares)
        recovered_total, indebted = 0, []
        for share, fee_part in zip(shares, fee_parts, strict=True):
            recovered = _recover_share(dispute, share)
            owed = share.reversal - recovered + fee_part  # what the kept reversals counted is not in it
            recovered += _count_kept_reversals(dispute, share)
            if owed > 0:
                SellerDebt.objects.create(
                    seller=share.order.seller, dispute=dispute, currency=dispute.currency, amount=owed
                )
                indebted.append(share.order.seller)
            recovered_total += recovered
        dispute.recovered_amount = recovered_total
        dispute.recovery = RecoveryStatus.DEBT if indebted else RecoveryStatus.RECOVERED
        dispute.save(update_fields=["recovered_amount", "recovery", "updated_at"])
        return dispute, indebted


def _count_kept_reversals(dispute: Dispute, share: DisputeShare) -> int:
    """Name for the dispute the kept reversals of the order's failed refunds that its share counted
    (`DisputeShare.reused`, `counted`), so that no refund or later recovery counts that part again
    and the seller's earnings and the dispute's recovery by shop show it as taken for it, keeping
    the rest for a refund, and post what it counted, with the fee share booked with it, as recovered
    for the dispute (the seller's part of it, as its own reversal and fee share are); returns the
    seller's share it counted (not the whole reversals: a smaller dispute leaves the rest kept)."""
    if not share.counted:
        return 0
    kept_reversals_count_for_dispute(
        reversals=share.counted,
        dispute_id=dispute.stripe_id,
        destination=str(share.order.seller.stripe_account_id),
        amount=share.reused + share.fee_reused,
        currency=dispute.currency,
    )
    return share.reused


def _recover_share(dispute: Dispute, share: DisputeShare) -> int:
    """Reverse what the seller's available balance covers of its share (all of it, with the fee given
    back; or what is there, without); returns what was taken back.

    At most one reversal per dispute and order, whatever the retries: a run that made its reversal at
    Stripe and then died before its commit left nothing here, and the balance it reads again is lower
    by that reversal, so the amount (and with it the idempotency key) could differ. The reversal is
    therefore looked for first among the transfer's, by the dispute named in its metadata."""
    if share.reversal <= 0:
        return 0
    account = str(share.order.seller.stripe_account_id)
    transfer_id = str(share.order.stripe_transfer_id)
    made = reversal_made(transfer_id, dispute=str(dispute.pk))
    if made is None:
        holds = _available(stripe_account=account, currency=dispute.currency)
        amount, fee_back = (share.reversal, share.fee_given_back) if holds >= share.reversal else (holds, 0)
        if amount <= 0:
            return 0
        try:
            made = gateway_transfers.transfer_reversal_create(
                transfer_id=transfer_id,
                amount=amount,
                idempotency_ids=("dispute", dispute.pk, share.order.pk),
                metadata={
                    "reason": "dispute_recovery",
                    "dispute": str(dispute.pk),
                    "platform_fee_refunded": str(fee_back),
                },
            )
        except InvalidInput as exc:
            if exc.code != "balance_insufficient":
                raise
            return 0  # the balance moved meanwhile: all of it becomes the seller's debt
    transfer_reversal_from_stripe(reversal=made, destination=account)
    transfer_reversal_name_dispute(reversal_id=made.id, dispute_id=dispute.stripe_id)
    return made.amount


def reversal_made(transfer_id: str, **metadata: str) -> StripeTransferReversal | None:
    """The reversal of `transfer_id` an earlier run made, found by its `metadata` in Stripe's list:
    that run's answer lost (or it died before its commit), the retry cannot send the same request
    again, its amount being read from a balance that reversal had changed."""
    reversals = gateway_checkout.transfer_reversals_list(transfer_id)
    return next((r for r in reversals if all(r.metadata.get(k) == v for k, v in metadata.items())), None)
