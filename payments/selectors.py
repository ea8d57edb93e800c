"""Reads of disputes (the admins' queue, one dispute, a seller's own, a seller's dispute rate) and
of refunds: those an admin must look at, and the latest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.errors import NotFound, PermissionDenied
from marketplace.rates import percent_text
from orders.models import Order
from payments.disputes import EVIDENCE_FILE_FIELDS, EVIDENCE_TEXT_FIELDS, NOT_SENT
from payments.group_recovery import dispute_parts, group_dispute_shares, group_orders, pays_checkout_group
from payments.models import (
    OPEN_DISPUTE_STATUSES,
    OPEN_REFUND_STATUSES,
    Dispute,
    DisputeFile,
    DisputeFileSide,
    Payment,
    Refund,
    SellerDebt,
)
from payouts.models import TransferReversal
from payouts.selectors import refunds_with_shares
from sellers.models import Seller
from subscriptions.models import SubscriptionInvoice

RATE_WINDOW = timedelta(days=90)


# What `Dispute.subscription_payment` reads and the pages show of it: one query for a page of disputes.
SUBSCRIPTION_PAYMENT = (
    "payment__subscription_invoices__subscription__listing",
    "payment__subscription_invoices__subscription__buyer",
)


def disputes_for_console(
    *, status: str = "", reason: str = "", seller_id: int | None = None, currency: str = ""
) -> QuerySet[Dispute]:
    """The admins' queue: open disputes by default (`status="all"`: every one), soonest deadline first,
    those with no deadline last: said, not left to the database (Postgres sorts NULL last, the
    demo's SQLite first, above the dispute due tomorrow)."""
    qs = (
        Dispute.objects.select_related("seller", "order")
        .prefetch_related(*SUBSCRIPTION_PAYMENT)
        .annotate(file_count=Count("files", filter=~Q(files__evidence_field=NOT_SENT)))
    )
    if status == "all":
        pass
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=OPEN_DISPUTE_STATUSES)
    if reason:
        qs = qs.filter(reason=reason)
    if seller_id is not None:  # those of its payments for several shops too, as its own pages show them
        qs = qs.filter(_seller_sees(seller_id))
    if currency:
        qs = qs.filter(currency=currency.lower())
    return qs.order_by(F("due_by").asc(nulls_last=True), "pk")


def sellers_with_disputes() -> QuerySet[Seller]:
    """The shops the console's queue offers to filter by, by name: each a filter finds disputes of
    (`_seller_sees`), the shop a dispute names and every other shop of a disputed payment for several
    shops, whose part is disputed too. One query."""
    disputed_group_orders = Order.objects.filter(checkout_group__isnull=False, payment__disputes__isnull=False)
    return (
        Seller.objects.filter(Q(disputes__isnull=False) | Q(pk__in=disputed_group_orders.values("seller_id")))
        .distinct()
        .order_by("shop_name")
    )


def dispute_for_console(*, dispute_id: int) -> Dispute:
    dispute = (
        Dispute.objects.select_related("seller__user", "order__buyer", "payment")
        .prefetch_related(*SUBSCRIPTION_PAYMENT)
        .filter(pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise NotFound("No such dispute.", code="dispute_not_found")
    return dispute


def _seller_sees(seller: Any) -> Q:
    """A dispute is the seller's (a Seller or its id) when it names the seller, or when it is on a
    payment for several shops of which the seller had an order: each of them pays its part if it is
    lost. (A Dispute names one seller, the first shop's, which alone answers it.)"""
    group_payments = Payment.objects.filter(orders__seller=seller, orders__checkout_group__isnull=False)
    return Q(seller=seller) | Q(payment__in=group_payments.values("pk"))


@dataclass(frozen=True)
class SellerDispute:
    """A dispute on the console's page of one seller; `part`: on a payment for several shops, the
    seller's own order and its part of the disputed amount (as the seller's own page names them)."""

    dispute: Dispute
    part: DisputePart | None


def seller_disputes_for_console(*, seller: Any, limit: int) -> list[SellerDispute]:
    """The seller's disputes as its console page lists them (those of its payments for several shops
    too, each with its own order and part), soonest deadline first: one query for the orders of those
    payments (none without an order's dispute), however many there are."""
    disputes = list(disputes_for_console(status="all", seller_id=seller.pk)[:limit])
    shared = [d.payment_id for d in disputes if d.payment_id is not None and d.order_id is not None]
    orders: dict[int | None, list[Any]] = {}
    for order in group_orders(payment_ids=shared) if shared else []:
        orders.setdefault(order.payment_id, []).append(order)
    rows = []
    for d in disputes:
        group = orders.get(d.payment_id, [])
        parts = zip(group, dispute_parts(orders=group, amount=d.amount), strict=False)
        own = next((DisputePart(order=o, disputed=p) for o, p in parts if o.seller_id == seller.pk), None)
        rows.append(SellerDispute(dispute=d, part=own))
    return rows


def disputes_for_seller(*, seller: Any) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(_seller_sees(seller))
        .select_related("order", "seller")
        .prefetch_related(*SUBSCRIPTION_PAYMENT)
        .order_by("-stripe_created_at", "-pk")
    )


def disputes_of_order_for_seller(*, seller: Any, order: Any) -> list[Dispute]:
    """The disputes of the payment that paid `order`, as the seller sees them: the order's page links
    each, since the dispute's page is where the seller adds its side before the deadline."""
    if order.payment_id is None:
        return []
    return list(disputes_for_seller(seller=seller).filter(payment_id=order.payment_id))


def dispute_for_seller(*, seller: Any, dispute_id: int) -> Dispute:
    """A dispute the seller sees (above); any other is "not found", never "forbidden"."""
    dispute = (
        Dispute.objects.select_related("order", "seller", "payment").filter(_seller_sees(seller), pk=dispute_id).first()
    )
    if dispute is None:
        raise NotFound("No such dispute.", code="dispute_not_found")
    return dispute


def dispute_answered_by(*, seller: Any, dispute_id: int) -> Dispute:
    """A dispute the seller answers: one that names the seller. The other shops of a payment for
    several see it (`dispute_for_seller`) but may not write its side for the bank: 403, naming the
    shop that answers; anyone else gets "not found"."""
    dispute = dispute_for_seller(seller=seller, dispute_id=dispute_id)
    if dispute.seller_id != seller.pk:
        shop = dispute.seller.shop_name if dispute.seller else "The platform"
        raise PermissionDenied(
            f"{shop} answers this dispute for the whole payment; you can read it.",
            code="dispute_answered_by_another_shop",
        )
    return dispute


def dispute_file_for_console(*, dispute_id: int, file_id: int) -> DisputeFile:
    """Any proof file of the dispute, for a platform admin (the view checks that first)."""
    upload = DisputeFile.objects.filter(pk=file_id, dispute_id=dispute_id).first()
    if upload is None:
        raise NotFound("No such file.", code="dispute_file_not_found")
    return upload


def dispute_file_for_seller(*, seller: Any, dispute_id: int, file_id: int) -> DisputeFile:
    """A proof file the seller may download: one of the seller's side on a dispute that names the
    seller (the shop that answers it). The other shops of a payment for several, and everyone else,
    find nothing: proof carries the buyer's details and the answering shop's own papers."""
    upload = DisputeFile.objects.filter(
        pk=file_id, dispute_id=dispute_id, dispute__seller=seller, side=DisputeFileSide.SELLER
    ).first()
    if upload is None:
        raise NotFound("No such file.", code="dispute_file_not_found")
    return upload


def days_left(dispute: Dispute, *, now: datetime | None = None) -> int | None:
    if dispute.due_by is None:
        return None
    return max(0, (dispute.due_by - (now or timezone.now())).days)


def evidence_completeness(dispute: Dispute, *, file_count: int | None = None) -> tuple[int, int]:
    """How much of the evidence is there: (parts filled, parts counted) over the seller's statement,
    the admin's text fields and the kinds of proof file (`file_count`: the files that are sent)."""
    files = file_count if file_count is not None else dispute.files.exclude(evidence_field=NOT_SENT).count()
    filled = bool(dispute.seller_statement) + sum(1 for k in EVIDENCE_TEXT_FIELDS if dispute.evidence.get(k))
    filled += min(files, len(EVIDENCE_FILE_FIELDS))
    return filled, 1 + len(EVIDENCE_TEXT_FIELDS) + len(EVIDENCE_FILE_FIELDS)


@dataclass(frozen=True)
class DisputeRate:
    disputes: int
    payments: int  # paid orders and paid subscription payments
    flagged: bool

    @property
    def percent(self) -> str:
        """Disputes over payments as the console shows every rate; disputes with no payment in the window
        (paid before it) read 100%."""
        return percent_text(self.disputes, self.payments) if self.payments else ("100%" if self.disputes else "0%")


def seller_dispute_rate(*, seller: Any, now: datetime | None = None) -> DisputeRate:
    """Disputes opened in the last 90 days over the payments made in them (orders and subscription
    payments, as payment health counts them: a dispute of either is counted); flagged above
    `DISPUTE_RATE_THRESHOLD_BPS` (0.75% by default, the level card networks start watching), compared
    on the exact counts: a rate a hair above the threshold is above it, whatever its rounded text."""
    return sellers_dispute_rates(seller_ids=[seller.pk], now=now)[seller.pk]


def sellers_dispute_rates(*, seller_ids: list[int], now: datetime | None = None) -> dict[int, DisputeRate]:
    """`seller_dispute_rate` for many sellers in one query (the sellers list). A dispute of a payment for
    several shops counts for each shop whose order it paid, not only the one the Dispute names: the
    bank disputes the whole payment, so each shop's sale in it is disputed (and each pays its part if
    it is lost), as each shop's order counts among its payments. Not a shop whose order was refunded
    in full: Stripe refuses refunds of a disputed charge, so that was before the dispute, which then
    disputes none of its sale (its part is nothing, `group_recovery.dispute_parts`)."""
    since = (now or timezone.now()) - RATE_WINDOW

    def count_of(qs: QuerySet[Any]) -> Subquery:  # COUNT over the filtered rows, with no GROUP BY
        counted = qs.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
        return Subquery(counted, output_field=IntegerField())

    shop_paid = Order.objects.filter(
        payment_id=OuterRef("payment_id"),
        seller_id=OuterRef(OuterRef("pk")),
        checkout_group__isnull=False,
        amount_refunded__lt=F("amount_total"),
    )
    disputes = Dispute.objects.filter(Q(seller_id=OuterRef("pk")) | Exists(shop_paid), stripe_created_at__gte=since)
    paid = Order.objects.filter(seller_id=OuterRef("pk"), paid_at__gte=since)
    subscription_paid = SubscriptionInvoice.objects.filter(
        subscription__seller_id=OuterRef("pk"), payment__isnull=False, payment__created_at__gte=since
    )
    rows = Seller.objects.filter(pk__in=seller_ids).annotate(
        n_disputes=Coalesce(count_of(disputes), 0),
        n_paid=Coalesce(count_of(paid), 0) + Coalesce(count_of(subscription_paid), 0),
    )
    threshold = int(settings.DISPUTE_RATE_THRESHOLD_BPS)
    rates = {}
    for seller_id, n, payments in rows.values_list("pk", "n_disputes", "n_paid"):
        flagged = n * 10_000 > threshold * payments if payments else n > 0
        rates[seller_id] = DisputeRate(disputes=n, payments=payments, flagged=flagged)
    return rates


def seller_debts_outstanding(*, seller: Any) -> dict[str, int]:
    """What the seller still owes the platform from lost disputes, per currency (zeros left out):
    for the seller's money and disputes pages and the console's seller page."""
    owed: dict[str, int] = {}
    for currency, amount, collected in SellerDebt.objects.filter(seller=seller, settled_at__isnull=True).values_list(
        "currency", "amount", "collected"
    ):
        owed[currency] = owed.get(currency, 0) + amount - collected
    return {c: a for c, a in owed.items() if a}


def dispute_debt_owed(*, dispute: Dispute) -> int:
    """What the seller still owes from this lost dispute (0 once collected): the console's dispute page
    says it beside what was taken back at once, which may be nothing."""
    owed = SellerDebt.objects.filter(dispute=dispute, settled_at__isnull=True).aggregate(
        total=Sum(F("amount") - F("collected"))
    )["total"]
    return int(owed or 0)


@dataclass(frozen=True)
class DisputePart:
    """One shop's side of a dispute on a payment for several shops: its own order and its part of the
    disputed amount (largest remainder over the orders, as recovery splits it)."""

    order: Any
    disputed: int


def dispute_part_for_seller(*, dispute: Dispute, seller: Any) -> DisputePart | None:
    """The seller's part of a dispute on a group payment; None for a payment of one shop."""
    if dispute.payment is None or not pays_checkout_group(dispute.payment):
        return None
    share = next(
        (
            s
            for s in group_dispute_shares(payment=dispute.payment, amount=dispute.amount)
            if s.order.seller_id == seller.pk
        ),
        None,
    )
    if share is None:
        return None
    return DisputePart(order=share.order, disputed=share.disputed)


def seller_dispute_debt(*, dispute: Dispute, seller: Any) -> SellerDebt | None:
    """What the seller's balance could not give back of its share of a lost dispute (its own part's, on a
    payment for several shops), owed or since collected; None when its balance covered it."""
    return SellerDebt.objects.filter(dispute=dispute, seller=seller).first()


@dataclass(frozen=True)
class ShopRecovery:
    """What one shop gave back for a lost dispute on a payment for several shops."""

    shop_name: str
    taken: int  # reversed from its transfer at once
    owed: int  # left as its debt (collected since or not)


def dispute_recovery_by_shop(*, dispute: Dispute) -> list[ShopRecovery]:
    """Each shop's side of a lost dispute's recovery, for a payment for several shops (the dispute's
    `recovered_amount` adds them all up); none for a payment of one shop. Three queries."""
    if not dispute.recovery or dispute.payment is None or not pays_checkout_group(dispute.payment):
        return []
    taken = dict(  # of a failed refund's kept reversal, only what the dispute counted (the rest stays kept)
        TransferReversal.objects.filter(for_dispute=dispute.stripe_id)
        .values_list("transfer__destination")
        .annotate(total=Sum(F("amount") - F("kept_for_refund")))
    )
    owed = dict(SellerDebt.objects.filter(dispute=dispute).values_list("seller_id").annotate(total=Sum("amount")))
    orders = dispute.payment.orders.select_related("seller").order_by("pk")
    return [
        ShopRecovery(
            shop_name=order.seller.shop_name,
            taken=int(taken.get(order.seller.stripe_account_id, 0)),
            owed=int(owed.get(order.seller_id, 0)),
        )
        for order in orders
    ]


def refunds_needing_attention() -> QuerySet[Refund]:
    """Refunds an admin must look at, newest first: made in the Stripe Dashboard without taking the
    seller's share back (the platform paid), or failed after the seller's share was taken; until an
    admin marks one handled (`refund_attention_handle`)."""
    return (
        Refund.objects.exclude(attention="")
        .filter(attention_handled_at__isnull=True)
        .select_related("order__seller", "payment")
        .order_by("-created_at")
    )


def refunds_recent(*, limit: int = 50) -> QuerySet[Refund]:
    """The latest refunds with their orders (and the orders' payments, for their status badges), or,
    for a refund of a subscription payment, its subscription and shop; annotated by `refunds_with_shares`."""
    return (
        refunds_with_shares(Refund.objects.all())
        .select_related("order__seller", "order__payment", "payment")
        .prefetch_related("requests")  # a request it answered, to say what was asked when it refunded less or more
        .prefetch_related("payment__subscription_invoices__subscription__seller")
        .order_by("-created_at", "-id")[:limit]
    )


def refund_share_kept(*, refund: Refund) -> int:
    """What a failed refund's transfer reversal took back from the seller and left in place (Stripe
    does not undo it): the seller's share of it, which the next refund uses; 0 when it made none."""
    if not refund.stripe_transfer_reversal_id or refund.status in OPEN_REFUND_STATUSES:
        return 0
    kept = TransferReversal.objects.filter(stripe_id=refund.stripe_transfer_reversal_id).first()
    return int(kept.amount) if kept else 0
