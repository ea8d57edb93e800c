"""Reads of disputes: the admins' queue, one dispute, a seller's own, and a seller's dispute rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.errors import NotFound
from payments.disputes import EVIDENCE_FILE_FIELDS, EVIDENCE_TEXT_FIELDS
from payments.models import OPEN_DISPUTE_STATUSES, Dispute, SellerDebt

RATE_WINDOW = timedelta(days=90)


def disputes_for_console(
    *, status: str = "", reason: str = "", seller_id: int | None = None, currency: str = ""
) -> QuerySet[Dispute]:
    """The admins' queue: open disputes by default (`status="all"`: every one), soonest deadline first."""
    qs = Dispute.objects.select_related("seller", "order").annotate(file_count=Count("files"))
    if status == "all":
        pass
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=OPEN_DISPUTE_STATUSES)
    if reason:
        qs = qs.filter(reason=reason)
    if seller_id is not None:
        qs = qs.filter(seller_id=seller_id)
    if currency:
        qs = qs.filter(currency=currency.lower())
    return qs.order_by("due_by", "pk")


def dispute_for_console(*, dispute_id: int) -> Dispute:
    dispute = Dispute.objects.select_related("seller__user", "order__buyer", "payment").filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound("No such dispute.")
    return dispute


def disputes_for_seller(*, seller: Any) -> QuerySet[Dispute]:
    return Dispute.objects.filter(seller=seller).select_related("order").order_by("-stripe_created_at", "-pk")


def dispute_for_seller(*, seller: Any, dispute_id: int) -> Dispute:
    """A seller's own dispute; another seller's is "not found", never "forbidden"."""
    dispute = Dispute.objects.select_related("order").filter(pk=dispute_id, seller=seller).first()
    if dispute is None:
        raise NotFound("No such dispute.")
    return dispute


def days_left(dispute: Dispute, *, now: datetime | None = None) -> int | None:
    if dispute.due_by is None:
        return None
    return max(0, (dispute.due_by - (now or timezone.now())).days)


def evidence_completeness(dispute: Dispute, *, file_count: int | None = None) -> tuple[int, int]:
    """How much of the evidence is there: (parts filled, parts counted) over the seller's statement,
    the admin's text fields and the kinds of proof file."""
    files = file_count if file_count is not None else dispute.files.count()
    filled = bool(dispute.seller_statement) + sum(1 for k in EVIDENCE_TEXT_FIELDS if dispute.evidence.get(k))
    filled += min(files, len(EVIDENCE_FILE_FIELDS))
    return filled, 1 + len(EVIDENCE_TEXT_FIELDS) + len(EVIDENCE_FILE_FIELDS)


@dataclass(frozen=True)
class DisputeRate:
    disputes: int
    paid_orders: int
    basis_points: int  # disputes per paid orders, in hundredths of a percent
    flagged: bool

    @property
    def percent(self) -> str:
        return f"{self.basis_points / 100:.2f}%"


def seller_dispute_rate(*, seller: Any, now: datetime | None = None) -> DisputeRate:
    """Disputes opened in the last 90 days over the orders paid in them; flagged above
    `DISPUTE_RATE_THRESHOLD_BPS` (0.75% by default, the level card networks start watching)."""
    return sellers_dispute_rates(seller_ids=[seller.pk], now=now)[seller.pk]


def sellers_dispute_rates(*, seller_ids: list[int], now: datetime | None = None) -> dict[int, DisputeRate]:
    """`seller_dispute_rate` for many sellers in one query (the sellers list)."""
    from orders.models import Order
    from sellers.models import Seller

    since = (now or timezone.now()) - RATE_WINDOW

    def count_of(qs: QuerySet[Any]) -> Subquery:
        counted = qs.order_by().values("seller_id").annotate(n=Count("pk")).values("n")
        return Subquery(counted, output_field=IntegerField())

    disputes = Dispute.objects.filter(seller_id=OuterRef("pk"), stripe_created_at__gte=since)
    paid = Order.objects.filter(seller_id=OuterRef("pk"), paid_at__gte=since)
    rows = Seller.objects.filter(pk__in=seller_ids).annotate(
        n_disputes=Coalesce(count_of(disputes), 0), n_paid=Coalesce(count_of(paid), 0)
    )
    threshold = int(settings.DISPUTE_RATE_THRESHOLD_BPS)
    rates = {}
    for seller_id, n, orders in rows.values_list("pk", "n_disputes", "n_paid"):
        bps = (n * 10_000 // orders) if orders else (10_000 if n else 0)
        rates[seller_id] = DisputeRate(disputes=n, paid_orders=orders, basis_points=bps, flagged=bps > threshold)
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
