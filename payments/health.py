"""Payment health for the console: checkout success, declines by reason, refund and dispute rates
per month, and the sellers who owe the platform: those whose Stripe balance is below zero (from
the ledger) and those with debts from lost disputes not collected yet (`SellerDebt`: a debt is owed
money that has not moved at Stripe, so it has no ledger posting until it is collected). A few
aggregate queries, whatever the number of orders and sellers.

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

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from marketplace.ledger.chart import AccountCode, AccountKind
from marketplace.ledger.selectors import ledger_balances_of_kind
from orders.models import Order, OrderStatus
from payments.models import Payment, SellerDebt
from sellers.models import Seller

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
    seller_id: int | None
    shop_name: str
    currency: str
    balance: int  # minor units, below zero


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
    negative_balances: list[NegativeBalance]
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
    negative = [
        b
        for b in ledger_balances_of_kind(kind=AccountKind.ASSET)
        if b.account.code == AccountCode.STRIPE_BALANCE and b.account.stripe_account and b.balance < 0
    ]
    shops = dict(
        Seller.objects.filter(stripe_account_id__in=[b.account.stripe_account for b in negative]).values_list(
            "stripe_account_id", "id"
        )
    )
    names = dict(Seller.objects.filter(id__in=shops.values()).values_list("id", "shop_name"))
    debts = (
        SellerDebt.objects.filter(settled_at__isnull=True, collected__lt=F("amount"))
        .values("seller_id", "seller__shop_name", "currency")
        .annotate(owed=Sum(F("amount") - F("collected")), debts=Count("id"))
        .order_by("currency", "-owed", "seller__shop_name")
    )
    return PaymentHealth(
        months=months,
        declines=[(str(reason), int(n)) for reason, n in declines],
        negative_balances=[
            NegativeBalance(
                seller_id=shops.get(b.account.stripe_account),
                shop_name=names.get(shops.get(b.account.stripe_account, 0), b.account.stripe_account),
                currency=b.currency,
                balance=b.balance,
            )
            for b in negative
        ],
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
