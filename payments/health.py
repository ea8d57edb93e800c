"""Payment health for the console: checkout success, declines by reason, refund and dispute rates
per month, and the sellers who owe the platform: those whose *available* balance at Stripe is below
zero in a currency (or, while Redis is down, that they cannot be listed), and those with debts
from lost disputes not collected yet (`SellerDebt`: a debt is owed money that has not moved at
Stripe, so it has no ledger posting until it is collected). A few aggregate queries and one cache
round trip, whatever the number of orders and sellers.

The negative balances are the available ones, as the balance the seller's Money page last read from
Stripe holds them (`payouts.selectors.last_read_balances`), not the ledger's: the ledger holds
available and pending together, and a lost dispute or refund taken from the available balance
while the sale's funds are still pending leaves that total positive (the console said "No seller owes
anything" beside a Money page showing -¥7,380). Stripe takes reversals from the available balance,
pays nothing out while it is negative, and the platform answers for it (connect-behaviour.md,
"Negative balances"). The same read, not a rule of our own, so the two pages cannot disagree; and
not a Stripe call per seller per page view: it is read again after each change we make or hear of,
and for every seller by the beat job `payouts.reread_balances` (one never read is not listed until then).

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

from orders.models import Order, OrderStatus
from payments.models import Payment, SellerDebt
from payouts.selectors import last_read_balances
from sellers.models import Seller

# Said instead of the list (and of "No seller owes anything") while Redis, which keeps the reads, is down.
UNLISTED_BALANCES = (
    "Sellers' available balances cannot be listed right now: the last reads of them are kept in Redis, which"
    " cannot be reached. They are listed again once it answers."
)

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
    # Per currency, most negative first; None while the last reads cannot be had (Redis down).
    negative_balances: list[NegativeBalance] | None
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
    sellers = list(Seller.objects.exclude(stripe_account_id=None).values_list("id", "shop_name", "stripe_account_id"))
    read = last_read_balances(accounts=[str(account) for _, _, account in sellers])
    negative = (
        None
        if read is None
        else [
            NegativeBalance(seller_id=seller_id, shop_name=shop, currency=part.currency, balance=part.amount)
            for seller_id, shop, account in sellers
            if str(account) in read
            for part in read[str(account)].available
            if part.amount < 0
        ]
    )
    debts = (
        SellerDebt.objects.filter(settled_at__isnull=True, collected__lt=F("amount"))
        .values("seller_id", "seller__shop_name", "currency")
        .annotate(owed=Sum(F("amount") - F("collected")), debts=Count("id"))
        .order_by("currency", "-owed", "seller__shop_name")
    )
    return PaymentHealth(
        months=months,
        declines=[(str(reason), int(n)) for reason, n in declines],
        negative_balances=None
        if negative is None
        else sorted(negative, key=lambda b: (b.currency, b.balance, b.shop_name)),
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
