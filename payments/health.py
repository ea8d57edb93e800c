"""Payment health for the console: checkout success, declines by reason, refund and dispute rates
per month, and the sellers who owe the platform: those whose *available* balance at Stripe is below
zero in a currency, and those with debts from lost disputes not collected yet (`SellerDebt`: a debt
is owed money that has not moved at Stripe, so it has no ledger posting until it is collected). A
few aggregate queries, whatever the number of orders and sellers.

The negative balances are the available ones, as Stripe last said them (`payouts.models.AvailableBalance`:
the balance the seller's Money page last read, moved by the reversals and fee refunds mirrored since),
not the ledger's: the ledger holds available and pending together, and a lost dispute or refund
taken from the available balance while the sale's funds are still pending leaves that total positive
(the console said "No seller owes anything" beside a Money page showing -¥7,380). Stripe takes
reversals from the available balance, pays nothing out while it is negative, and the platform
answers for it (connect-behaviour.md, "Negative balances"). Stripe's read, not a rule of our own, so
the two pages cannot disagree; and not a Stripe call per seller per page view. Only the sellers who
owe are read (a partial index), the first `NEGATIVE_SHOWN` of them with the count of the others, whose
full list is paged (`negative_balances`): a marketplace of many sellers costs this panel the same one
query as one of a single seller.

Checkout success is paid orders over the orders that went to Stripe's payment page that month (an
order is made when the buyer is sent there) and have an outcome: paid, or failed (declined by the
bank, its payment failed, or its session expired unpaid). An order whose session is still open and
has had no declined attempt is neither: the buyer may still pay, so it is shown apart as open, and
an order canceled before any attempt (the buyer went back, a changed cart replaced it) is no
payment that failed. Declines are the bank's reasons recorded on orders whose last attempt
failed. Refund and dispute rates are the share of that month's payments with any refund, or any
dispute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import TruncMonth

from orders.models import Order, OrderStatus
from payments.models import Payment, SellerDebt
from payouts.models import AvailableBalance
from payouts.selectors import negative_balances

NEGATIVE_SHOWN = 10  # sellers below zero listed on the revenue page; the others are a link away


# A checkout that ended unpaid, or whose buyer's card was declined (the session stays open for another
# card, but the attempt failed); one still open with no failed attempt is `OPEN`, neither paid nor failed.
FAILED = Q(paid_at__isnull=True) & (
    Q(status__in=[OrderStatus.EXPIRED, OrderStatus.PAYMENT_FAILED]) | ~Q(payment_error="")
)
OPEN = Q(paid_at__isnull=True, status=OrderStatus.PENDING_PAYMENT, payment_error="")


@dataclass(frozen=True)
class HealthMonth:
    month: datetime
    checkouts: int
    paid: int
    failed: int
    open: int
    payments: int
    refunded: int
    disputed: int

    @property
    def decided(self) -> int:
        """Checkouts with an outcome, paid or failed: what the success rate is of (`percent_of`)."""
        return self.paid + self.failed


@dataclass(frozen=True)
class NegativeBalance:
    seller_id: int
    shop_name: str
    currency: str
    balance: int  # minor units, below zero: the available balance at Stripe


@dataclass(frozen=True)
class OutstandingDebt:
    seller_id: int
    shop_name: str
    currency: str
    outstanding: int  # minor units still owed, above zero
    debts: int  # how many lost disputes it comes from


@dataclass(frozen=True)
class PaymentHealth:
    months: list[HealthMonth]
    declines: list[tuple[str, int]]  # (the bank's reason, how many orders), most frequent first
    negative_balances: list[NegativeBalance]  # the first `NEGATIVE_SHOWN`, per currency, most negative first
    negative_more: int  # how many more sellers' available balances are below zero
    debts: list[OutstandingDebt]  # per currency, largest first


def payment_health(*, start: datetime, end: datetime) -> PaymentHealth:
    orders = (
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values("month")
        .annotate(
            checkouts=Count("id"),
            paid=Count("id", filter=Q(paid_at__isnull=False)),
            failed=Count("id", filter=FAILED),
            open=Count("id", filter=OPEN),
        )
    )
    payments = (
        Payment.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values("month")
        .annotate(
            payments=Count("id"),
            refunded=Count("id", filter=Q(amount_refunded__gt=0)),
            disputed=Count("id", filter=Q(amount_disputed__gt=0)),
        )
    )
    by_month: dict[datetime, dict[str, int]] = {}
    for row in orders:
        by_month.setdefault(row["month"], {}).update(
            checkouts=row["checkouts"], paid=row["paid"], failed=row["failed"], open=row["open"]
        )
    for row in payments:
        by_month.setdefault(row["month"], {}).update(
            payments=row["payments"], refunded=row["refunded"], disputed=row["disputed"]
        )
    months = [
        HealthMonth(
            month=month,
            checkouts=v.get("checkouts", 0),
            paid=v.get("paid", 0),
            failed=v.get("failed", 0),
            open=v.get("open", 0),
            payments=v.get("payments", 0),
            refunded=v.get("refunded", 0),
            disputed=v.get("disputed", 0),
        )
        for month, v in sorted(by_month.items())
    ]
    declines = list(
        Order.objects.filter(created_at__gte=start, created_at__lt=end, paid_at__isnull=True)
        .exclude(payment_error="")
        .values_list("payment_error")
        .annotate(n=Count("id"))
        .order_by("-n", "payment_error")[:20]
    )
    first = list(negative_balances().annotate(listed=Window(Count("id")))[:NEGATIVE_SHOWN])
    negative, negative_more = negative_balances_listed(first), (first[0].listed - len(first) if first else 0)
    debts = (
        SellerDebt.objects.filter(settled_at__isnull=True, collected__lt=F("amount"))
        .values("seller_id", "seller__shop_name", "currency")
        .annotate(owed=Sum(F("amount") - F("collected")), debts=Count("id"))
        .order_by("currency", "-owed", "seller__shop_name")
    )
    return PaymentHealth(
        months=months,
        declines=[(str(reason), int(n)) for reason, n in declines],
        negative_balances=negative,
        negative_more=negative_more,
        debts=[
            OutstandingDebt(
                seller_id=int(row["seller_id"]),
                shop_name=str(row["seller__shop_name"]),
                currency=str(row["currency"]),
                outstanding=int(row["owed"]),
                debts=int(row["debts"]),
            )
            for row in debts
        ],
    )


def negative_balances_listed(rows: Iterable[AvailableBalance]) -> list[NegativeBalance]:
    """Rows of `payouts.selectors.negative_balances` as the console lists them."""
    return [
        NegativeBalance(
            seller_id=int(row.seller_id),  # type: ignore[attr-defined]
            shop_name=str(row.shop_name),  # type: ignore[attr-defined]
            currency=row.currency,
            balance=row.amount,
        )
        for row in rows
    ]
