"""Orders: what one buyer bought from one seller, paid by one Checkout Session: a destination charge
for a cart with one shop, or one session shared by the orders of a `CheckoutGroup` (a cart with
several shops: separate charges and transfers).

An order snapshots everything money depends on at checkout (titles, unit prices, quantities, the
application fee and its split over lines), so a later price or fee-rule change never alters what
was agreed. Amounts are integer minor units of `currency`.

Lifecycle::

    pending_payment ──> paid ──> fulfilled ──> completed
          │  │  └──> payment_failed (async payment failed)
          │  └────> expired (session expired: stock released)
          └───────> canceled (buyer canceled, replaced by a changed cart, or the shop stopped selling)
    paid late for stock that was released and is gone, or to a shop that stopped selling ──> refunded

The money itself lives elsewhere: what the buyer paid is a `payments.Payment` (`order.payment`),
what reached the seller a `payouts.Transfer` and `payouts.ApplicationFee`; the order keeps its
Checkout Session, which is the order's own way to be paid.

While Stripe cannot confirm a payment the buyer came back from, a pending order carries
`payment_confirming_since` and says "we are confirming your payment".

Transitions happen only in `orders.services`, each under a row lock with a status check, so the
webhook and the success page can both try one and only the first succeeds.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    FULFILLED = "fulfilled", "Shipped"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    CANCELED = "canceled", "Canceled"
    REFUNDED = "refunded", "Refunded"


PAID_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.COMPLETED)
# A saved-card "Buy now" order's `cart_fingerprint` starts with this (then the form's attempt token):
# it is not the cart's, so the cart never counts its unit as its own (`orders.selectors`).
BUY_NOW_FINGERPRINT_PREFIX = "buy-now:"


class StripeCustomer(models.Model):
    """The buyer's Stripe Customer: created once, reused for every checkout (saved details, receipts)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stripe_customer")
    stripe_customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # In the idempotency keys of the changes to the buyer's cards at Stripe (the default card, the
    # card each subscription charges), bumped after each: a change back to an earlier state is a new
    # key, not a replay of the earlier answer (`orders.services.saved_cards`).
    card_changes = models.PositiveIntegerField(default=0, help_text="Changes made to the buyer's cards at Stripe.")

    def __str__(self) -> str:
        return self.stripe_customer_id


class CheckoutGroup(models.Model):
    """One payment for the orders of several shops in one currency (a cart with several sellers).

    The buyer pays once, on one Checkout Session: a charge on the platform with
    `transfer_group` = `transfer_group` below (separate charges and transfers), then one transfer
    per seller order with `source_transaction` = the charge. Each order keeps its own lines, fee
    and lifecycle; the group only holds what they share: the session and its expiry. A cart with a
    single shop does not use a group: it stays a destination charge.
    """

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkout_groups")
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217.")
    amount_total = models.BigIntegerField(help_text="Minor units: what the buyer pays for all the orders.")
    cart_fingerprint = models.CharField(
        max_length=64, help_text="What was in the cart (sellers, listings, qty, prices)."
    )
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True, default="")
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount_total__gt=0), name="checkout_group_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="checkout_group_currency_lowercase_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.transfer_group

    @property
    def transfer_group(self) -> str:
        """The charge's and the transfers' `transfer_group` at Stripe."""
        return f"checkout_group_{self.pk}"


class Order(models.Model):
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT)
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217.")
    amount_total = models.BigIntegerField(help_text="Minor units: what the buyer pays.")
    application_fee_amount = models.BigIntegerField(help_text="Minor units: the platform's fee, snapshotted.")
    cart_fingerprint = models.CharField(max_length=64, help_text="What was in the cart group (listings, qty, prices).")
    stock_reserved = models.BooleanField(default=False, help_text="Units are taken off the listings' stock.")
    amount_refunded = models.BigIntegerField(
        default=0, help_text="Minor units refunded or being refunded (its refunds not failed)."
    )

    # --- Stripe ----------------------------------------------------------------------------------
    checkout_session_id = models.CharField(  # noqa: DJ001 (null: no session yet; shared by a group's orders)
        max_length=255,
        null=True,
        blank=True,
        db_index=True,
        help_text="Unique to the order, or shared by the orders of one checkout group.",
    )
    checkout_url = models.URLField(max_length=2000, blank=True, default="")
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    checkout_group = models.ForeignKey(
        CheckoutGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="Paid together with other shops' orders (separate charges and transfers).",
    )
    stripe_transfer_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="A group order's transfer of its seller's share (a destination charge's is Stripe's own).",
    )
    payment_intent_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="A Buy now's PaymentIntent, kept once Stripe answered its create (read back by id, not listed).",
    )
    payment_method_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="A Buy now's saved card (pm_...), the first submit's: a second with another card pays nothing.",
    )
    payment = models.ForeignKey(
        "payments.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="What the buyer paid (one payment may pay several orders).",
    )
    payment_error = models.CharField(
        max_length=300, blank=True, default="", help_text="Why the last payment attempt failed, in the bank's words."
    )
    status_message = models.CharField(max_length=300, blank=True, default="", help_text="Shown to the buyer.")
    payment_confirming_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The buyer came back from paying and Stripe could not confirm it yet: the page says so.",
    )

    # --- Fulfilment ------------------------------------------------------------------------------
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    carrier = models.CharField(max_length=60, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Expired, canceled, failed or refunded.")

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["buyer", "-created_at"], name="order_buyer_created"),
            models.Index(fields=["seller", "status", "-created_at"], name="order_seller_status"),
            models.Index(fields=["status", "checkout_expires_at"], name="order_status_expires"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount_total__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(application_fee_amount__gte=0) & Q(application_fee_amount__lte=F("amount_total")),
                name="order_fee_within_amount",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="order_currency_lowercase_iso"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"

    @property
    def seller_net(self) -> int:
        """The seller's share of the sale: the amount minus the platform's fee (Stripe's own fee is the
        platform's), what a group order's transfer sends. What it keeps after refunds and lost disputes
        is `payouts.selectors.order_net`."""
        return self.amount_total - self.application_fee_amount

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def is_partially_refunded(self) -> bool:
        return 0 < self.amount_refunded < self.amount_total

    @property
    def amount_refundable(self) -> int:
        return self.amount_total - self.amount_refunded

    @property
    def can_pay(self) -> bool:
        return self.status == OrderStatus.PENDING_PAYMENT and bool(self.checkout_url)

    @property
    def is_buy_now(self) -> bool:
        """Paid by a saved card's PaymentIntent ("Buy now"), not by the cart's Checkout Session."""
        return self.cart_fingerprint.startswith(BUY_NOW_FINGERPRINT_PREFIX)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    listing = models.ForeignKey("catalog.Listing", on_delete=models.PROTECT, related_name="order_lines")
    title = models.CharField(max_length=140)
    unit_amount = models.BigIntegerField(help_text="Minor units of the order's currency.")
    quantity = models.PositiveIntegerField()
    fee_amount = models.BigIntegerField(help_text="This line's share of the order's fee (largest remainder).")

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_amount__gt=0), name="order_line_unit_amount_positive"),
            models.CheckConstraint(condition=Q(fee_amount__gte=0), name="order_line_fee_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


class RefundReason(models.TextChoices):
    NOT_RECEIVED = "not_received", "Not received"
    DAMAGED = "damaged", "Arrived damaged"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    CHANGED_MIND = "changed_mind", "Changed my mind"
    OTHER = "other", "Other"


class RefundRequestStatus(models.TextChoices):
    """`settled`: answered by refunds made another way since the buyer asked (the seller's own, an
    admin's, one in the Stripe Dashboard) that cover what was asked. Not `approved`: nobody approved
    it, and the refund it points at (when one refund covers it) is not its own, so a refund failing
    later opens exactly these again (`orders.services.refunds._requests_follow`), never an approval."""

    OPEN = "open", "Waiting for the seller"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    SETTLED = "settled", "Refunded"


class RefundRequest(models.Model):
    """A buyer asks for (part of) an order back; the seller approves (maybe for less) or declines, and
    an admin steps in when the seller has not answered within `REFUND_ADMIN_AFTER_DAYS`. The money
    itself is a `payments.Refund` (`refund`), made when the request is approved; or refunds made
    another way since it was asked settle it (`settled`, `refund` then the one refund that covers it, if one does)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_requests")
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    whole_order = models.BooleanField(default=True)
    amount = models.BigIntegerField(help_text="Minor units asked for: the lines chosen, or what is left of the order.")
    status = models.CharField(max_length=20, choices=RefundRequestStatus.choices, default=RefundRequestStatus.OPEN)
    decision_note = models.CharField(max_length=500, blank=True, default="", help_text="The seller's note or reason.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    refund = models.ForeignKey(
        "payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_request_amount_positive"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="open"), name="refund_request_one_open_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund request {self.pk} of order {self.order_id}"

    @property
    def amount_if_blank(self) -> int:
        """What approving it with the amount left blank refunds: what was asked, or what is left of the
        order when a refund made since (the seller's own, an admin's) left less (`refund_request_approve`'s
        `up_to_left`). The approval forms say it beside their amount box."""
        return min(self.amount, self.order.amount_refundable)


class RefundRequestLine(models.Model):
    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="refund_request_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.line_id}"


class OrderLineRefund(models.Model):
    """Units of a line given back with a refund: a line is never refunded beyond its quantity, and
    `restock` puts them back on the listing once the refund is made (`restocked`: looked at once).

    `put_back` is how many units it added to the listing's stock: fewer than `quantity` when a failed
    refund of the line had put units back already. Those stay on stock when their refund fails (they
    came back to the shop), and a later restocking refund of the line uses them first
    (`orders.services.refunds._restock`), so no unit is counted twice."""

    refund = models.ForeignKey("payments.Refund", on_delete=models.PROTECT, related_name="order_lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refunds")
    quantity = models.PositiveIntegerField()
    restock = models.BooleanField(default=False)
    restocked = models.BooleanField(default=False)
    put_back = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_refund_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.line_id} refunded"
