"""Reads of orders. A buyer sees only their orders and a seller only those of their shop; any
other order is NotFound (we do not confirm it exists)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.cache import shared_get
from marketplace.errors import NotFound
from marketplace.outbox.models import OutboxMessage
from orders.models import (
    BUY_NOW_FINGERPRINT_PREFIX,
    Order,
    OrderLine,
    OrderLineRefund,
    OrderStatus,
    RefundRequest,
    RefundRequestStatus,
)
from payments.models import OPEN_REFUND_STATUSES, Payment, Refund, RefundStatus
from payouts.selectors import refunds_with_shares
from sellers.models import Seller

TRANSFER_TO_SELLER = "orders.transfer_to_seller"  # the outbox follow-up that sends a group order's share


def orders_for_buyer(*, buyer: Any) -> QuerySet[Order]:
    """The buyer's orders, newest first, with the shop and the units bought (`unit_count`, the sum of
    the lines' quantities: "2 mugs and a bowl" is 3 items, not 2 lines), in one query. Ordered here:
    Django leaves `Meta.ordering` out of a query grouped for an aggregate, so the list came oldest
    first (and, cut to a page, without the newest orders)."""
    return (
        Order.objects.filter(buyer_id=buyer.pk)
        .select_related("seller", "payment")
        .annotate(unit_count=Coalesce(Sum("lines__quantity"), Value(0)))
        .order_by("-created_at", "-id")
    )


def order_for_buyer(*, buyer: Any, order_id: int) -> Order:
    order = (
        Order.objects.filter(buyer_id=buyer.pk, pk=order_id)
        .select_related("seller", "payment")
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def units_held_for_cart(*, buyer_id: int, listing: str = "listing_id", currency: str = "listing__currency") -> Coalesce:
    """The units of a listing that the buyer's own cart checkouts hold now, as a correlated subquery
    on `listing` (an outer reference to its id) and `currency`, 0 when none: for the cart
    (`catalog.selectors.cart_view`), which counts them back into the stock it offers.

    Why: a pending order took its units off `Listing.stock` when its checkout started, and the cart
    stays as it was until the payment goes through; without this, the buyer coming back to the cart
    reads their own reservation as someone else's purchase ("Only 1 left") and cannot pay.
    Which orders: the ones the next checkout of this cart reuses or replaces (and so releases),
    i.e. the buyer's pending orders in the listing's currency that still hold stock, of one shop
    or of a group (one cart per user, so the buyer's are the cart's). Not a saved-card "Buy now"
    order: its unit is a purchase of its own, which the cart does not release. An order whose session
    expired but which the webhook or the sweeper has not closed yet still holds its units, and a
    checkout replaces it, releasing them: it counts until then, after which the stock has them back.
    """
    held = (
        OrderLine.objects.filter(
            listing_id=OuterRef(listing),
            order__buyer_id=buyer_id,
            order__currency=OuterRef(currency),
            order__status=OrderStatus.PENDING_PAYMENT,
            order__stock_reserved=True,
        )
        .exclude(order__cart_fingerprint__startswith=BUY_NOW_FINGERPRINT_PREFIX)
        .values("listing_id")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def orders_paid_together(*, order: Order) -> list[Order]:
    """The other shops' orders of the same payment (a checkout group); none for a single-shop order
    (no query then)."""
    if order.checkout_group_id is None:
        return []
    return list(
        Order.objects.filter(checkout_group_id=order.checkout_group_id).exclude(pk=order.pk).select_related("seller")
    )


# The seller's order list filters (`?status=`): what to ship first, then the statuses the list shows,
# named as its badges name them (`OrderStatus` labels, "Partially refunded", "Disputed"). Refunded takes
# the partly refunded too, and Disputed any order whose payment has had a dispute (also an inquiry).
SELLER_ORDER_FILTERS: dict[str, tuple[str, Q]] = {
    "to_ship": ("To ship", Q(status=OrderStatus.PAID)),
    "shipped": (OrderStatus.FULFILLED.label, Q(status=OrderStatus.FULFILLED)),
    "completed": (OrderStatus.COMPLETED.label, Q(status=OrderStatus.COMPLETED)),
    "refunded": ("Refunded / partly refunded", Q(status=OrderStatus.REFUNDED) | Q(amount_refunded__gt=0)),
    "disputed": ("Disputed", Q(payment__dispute_status__gt="")),
}


def orders_for_seller(*, seller: Seller, show: str = "") -> QuerySet[Order]:
    """Orders of the shop that were paid (or later refunded): what the seller has to act on; `show`,
    a key of SELLER_ORDER_FILTERS, keeps only those it names (another value: all of them)."""
    _, only = SELLER_ORDER_FILTERS.get(show, ("", Q()))
    return (
        Order.objects.filter(only, seller=seller)
        .exclude(paid_at__isnull=True)
        .select_related("buyer", "payment")
        .annotate(line_count=Count("lines"))
        .order_by("-paid_at", "-id")
    )


def seller_order_counts(*, seller: Seller) -> dict[str, int]:
    """How many of the shop's listed orders each filter of SELLER_ORDER_FILTERS shows, and "all": one
    grouped query, whatever the number of orders."""
    counts: dict[str, int] = (
        Order.objects.filter(seller=seller)
        .exclude(paid_at__isnull=True)
        .aggregate(all=Count("pk"), **{key: Count("pk", filter=q) for key, (_, q) in SELLER_ORDER_FILTERS.items()})
    )
    return counts


def order_seen_by(*, user: Any, order_id: int) -> QuerySet[Order]:
    """The order `order_id` if `user` bought it or it is a paid order of `user`'s shop (both see its
    refunds), as a query for the caller to annotate: the API's order is found and read in one."""
    return Order.objects.filter(Q(buyer_id=user.pk) | Q(seller__user_id=user.pk, paid_at__isnull=False), pk=order_id)


def order_for_seller(*, seller: Seller, order_id: int) -> Order:
    order = (
        Order.objects.filter(seller=seller, pk=order_id)
        .exclude(paid_at__isnull=True)
        .select_related("buyer", "payment")
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def order_by_session(*, session_id: str) -> Order | None:
    return Order.objects.filter(checkout_session_id=session_id).first()


def group_transfers_failed() -> list[Order]:
    """Paid group orders whose seller never got its share: the outbox gave up on the transfer (Stripe
    refused it every time) and none was made since. For the console's home, in two queries; the
    list empties itself once a transfer is made (an admin fixed the cause and the order was retried)."""
    dead = OutboxMessage.objects.filter(name=TRANSFER_TO_SELLER, status=OutboxMessage.Status.DEAD)
    order_ids = {int(args[0]) for args in dead.values_list("args", flat=True) if args}
    return list(
        Order.objects.filter(pk__in=order_ids, stripe_transfer_id="", checkout_group__isnull=False)
        .select_related("seller")
        .order_by("pk")
    )


def transfer_failure_reason(order_id: int) -> str:
    """Stripe's last answer to the order's transfer, as the outbox recorded it (the traceback's last line)."""
    error = (
        OutboxMessage.objects.filter(name=TRANSFER_TO_SELLER, key=f"order-transfer:{order_id}")
        .values_list("last_error", flat=True)
        .first()
    )
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return lines[-1].split(": ", 1)[-1] if lines else ""


def _with_refunded_since(requests: QuerySet[RefundRequest]) -> QuerySet[RefundRequest]:
    """Each request with `refunded_since`: minor units of its order refunded (or being refunded) since
    the buyer asked, by the seller's own refund or an admin's. Approving may then give the same units
    back twice (a refund of an amount names no item), so the approval forms of open requests say it
    (an open request has no refund of its own: one Stripe refused is failed, and reopens it); one subquery.
    Refunds since that cover what was asked settle the request instead (`orders.services.refunds._requests_follow`),
    so an open request shows less than it asked, or refunds still being sent."""
    since = (
        Refund.objects.filter(
            order_id=OuterRef("order_id"), created_at__gt=OuterRef("created_at"), status__in=OPEN_REFUND_STATUSES
        )
        .order_by()
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return requests.annotate(refunded_since=Coalesce(Subquery(since), Value(0)))


def refund_requests_for_seller(*, seller: Seller) -> QuerySet[RefundRequest]:
    """The shop's refund requests, open ones first (oldest first: they have waited longest), then
    the answered ones, newest first; with each order's payment (whether the bank disputed it) and what
    was refunded of it since the buyer asked (`_with_refunded_since`)."""
    return (
        _with_refunded_since(RefundRequest.objects.filter(order__seller=seller))
        .select_related("order__buyer", "order__payment", "refund")
        .prefetch_related("lines__line")
        .annotate(
            open_first=Case(
                When(status=RefundRequestStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("open_first", "-created_at", "-id")
    )


def refund_request_for_seller(*, seller: Seller, request_id: int) -> RefundRequest:
    request = refund_requests_for_seller(seller=seller).filter(pk=request_id).first()
    if request is None:
        raise NotFound("No such refund request.", code="refund_request_not_found")
    return request


OPEN_REQUESTS_CACHE_SECONDS = 300


def open_refund_requests_cache_key(seller_id: int) -> str:
    return f"refund-requests-open:{seller_id}"


def open_refund_request_count(*, seller_id: int) -> int:
    """The Sell area nav's count of requests waiting for the seller. Every page's header shows it, so
    it is cached (the header costs the session and the user only); the services that open or answer
    a request drop the entry when they commit (`orders.services.refunds`); while Redis is down that
    drop reaches no other process, so it is counted on each page then (`shared_get`)."""
    key = open_refund_requests_cache_key(seller_id)
    count = shared_get(key)
    if count is None:
        count = RefundRequest.objects.filter(order__seller_id=seller_id, status=RefundRequestStatus.OPEN).count()
        cache.set(key, count, OPEN_REQUESTS_CACHE_SECONDS)
    return int(count)


def refund_requests_overdue(*, now: datetime | None = None) -> QuerySet[RefundRequest]:
    """Open requests no seller answered within `REFUND_ADMIN_AFTER_DAYS`: the admins' to decide,
    with what was refunded of each order since the buyer asked (`_with_refunded_since`)."""
    before = (now or timezone.now()) - timedelta(days=settings.REFUND_ADMIN_AFTER_DAYS)
    return (
        _with_refunded_since(RefundRequest.objects.filter(status=RefundRequestStatus.OPEN, created_at__lt=before))
        .select_related("order__seller", "order__buyer")
        .prefetch_related("lines__line")
        .order_by("created_at", "id")
    )


def refund_request_by_id(*, request_id: int) -> RefundRequest:
    request = RefundRequest.objects.select_related("order__seller", "order__buyer").filter(pk=request_id).first()
    if request is None:
        raise NotFound("No such refund request.", code="refund_request_not_found")
    return request


def order_by_id(*, order_id: int) -> Order | None:
    """Any order (the admins' console)."""
    return Order.objects.select_related("seller", "buyer").filter(pk=order_id).first()


@dataclass(frozen=True)
class RefundPanel:
    """What an order page shows of refunds: the refunds, the requests, and what can still be asked
    (each line with the units left to refund)."""

    refunds: list[Refund]
    requests: list[RefundRequest]
    lines_left: list[tuple[OrderLine, int]]
    can_request: bool
    window_ends: datetime | None
    charged_back: str = ""  # why no refund can be asked any more: the buyer's bank disputed the payment
    charged_back_for_seller: str = ""  # the same, for the seller and the admins: none can be made either

    @property
    def units_left(self) -> bool:
        """Is any unit left to ask back? Not once every unit was refunded for less than its price:
        money is left, to ask for as a whole."""
        return any(left > 0 for _, left in self.lines_left)


CHARGED_BACK = (
    "Your bank has disputed this payment, so it decides whether you get the money back; "
    "a refund can no longer be asked here."
)
# Once the bank decided, it no longer "decides": the page says what it decided (Stripe's `won` is the
# seller's win, `lost` the buyer's).
CHARGED_BACK_DECIDED = {
    "won": "Your bank's dispute of this payment is closed: the bank decided for the seller, and a refund can "
    "no longer be asked here.",
    "lost": "Your bank's dispute of this payment is closed: the bank gave you the disputed amount back, so a "
    "refund can no longer be asked here.",
}
CHARGED_BACK_FOR_SELLER = (
    "The buyer's bank has disputed this payment, so the bank decides whether the buyer gets the money back; "
    "Stripe no longer takes a refund of it, so none can be made here."
)
# The same once decided, for the seller and the admins (the seller's page sat beside "Dispute lost" saying
# the bank "decides").
CHARGED_BACK_DECIDED_FOR_SELLER = {
    "won": "The buyer's bank's dispute of this payment is closed: the bank decided for you, and Stripe takes "
    "no refund of it, so none can be made here.",
    "lost": "The buyer's bank's dispute of this payment is closed: the bank gave the buyer the disputed amount "
    "back, so no refund can be made here.",
}


def charged_back_for_seller(payment: Payment | None) -> str:
    """Why the seller and the admins can refund nothing of a payment the bank disputed, open or decided."""
    status = payment.dispute_status if payment is not None else ""
    return CHARGED_BACK_DECIDED_FOR_SELLER.get(status, CHARGED_BACK_FOR_SELLER)


def payment_charged_back(order: Order) -> bool:
    """Has the buyer's bank disputed this order's payment (not an inquiry, which a refund may still
    answer)? Stripe then refuses every refund of the charge (`charge_disputed`): the bank decides
    whether the buyer gets the money back, open, won or lost."""
    return charge_disputed(order.payment)


def charge_disputed(payment: Payment | None) -> bool:
    """`payment_charged_back` of a payment as read (a refund asks it of the row it locked)."""
    status = payment.dispute_status if payment is not None else ""
    return bool(status) and not status.startswith("warning_")


def refund_window_ends(order: Order) -> datetime | None:
    """When the buyer can no longer ask for a refund (None for an order never paid)."""
    return order.paid_at + timedelta(days=settings.REFUND_WINDOW_DAYS) if order.paid_at else None


def order_refund_panel(*, order: Order, for_buyer: bool = False) -> RefundPanel:
    """The order page's refunds (each with what it took from the seller, `refunds_with_shares`), requests
    and what can still be asked. `for_buyer`: without the refunds that failed before they left, which
    Stripe refused or we never sent (no Stripe id): no money moved and none is on its way back, so the
    buyer is not told of a refund that never was; one that failed after Stripe made it stays, with why."""
    shown = order.refunds.all()
    if for_buyer:
        shown = shown.exclude(status=RefundStatus.FAILED, stripe_refund_id__isnull=True)
    refunds = list(refunds_with_shares(shown))
    requests = list(order.refund_requests.select_related("refund").prefetch_related("lines__line"))
    taken: dict[int, int] = {}
    for row in (
        OrderLineRefund.objects.filter(line__order=order, refund__status__in=OPEN_REFUND_STATUSES)
        .values("line_id")
        .annotate(total=Sum("quantity"))
    ):
        taken[row["line_id"]] = int(row["total"])
    lines_left = [(line, line.quantity - taken.get(line.pk, 0)) for line in order.lines.all()]
    ends = refund_window_ends(order)
    charged_back = payment_charged_back(order)
    can_request = (
        order.is_paid
        and not charged_back
        and ends is not None
        and timezone.now() <= ends
        and order.amount_refundable > 0
        and not any(r.status == RefundRequestStatus.OPEN for r in requests)
    )
    return RefundPanel(
        refunds,
        requests,
        lines_left,
        can_request,
        ends,
        CHARGED_BACK_DECIDED.get(order.payment.dispute_status, CHARGED_BACK) if order.payment and charged_back else "",
        charged_back_for_seller(order.payment) if charged_back else "",
    )
