"""Payments: the buyer's side of money, one row per PaymentIntent and its charge.

Why a row of its own: an order says what was bought; a payment says what Stripe took from the
buyer, what was refunded and disputed of it, and under which Stripe ids, so that one payment can
pay several orders (a cart with several shops: `orders.CheckoutGroup`) and refunds and disputes can hang off it.
Orders point at their payment (`Order.payment`). Amounts are integer minor units of `currency`.

Written only by `payments.services`, which also posts the money it records to the ledger, but for
the dispute's amount and status, which `payments.disputes` copies from Stripe's dispute.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from marketplace.storage import private_storage_get


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    REFUNDED = "refunded", "Refunded"


class Payment(models.Model):
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, unique=True)
    stripe_balance_transaction_id = models.CharField(
        max_length=255, blank=True, default="", help_text="The platform's balance transaction of the charge."
    )
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED)
    currency = models.CharField(max_length=3, help_text="Lowercase ISO 4217.")
    amount = models.BigIntegerField(help_text="Minor units: what the buyer paid.")
    amount_refunded = models.BigIntegerField(default=0)
    amount_disputed = models.BigIntegerField(default=0)
    dispute_status = models.CharField(
        max_length=30, blank=True, default="", help_text="Stripe's status of its latest dispute, if any."
    )
    stripe_fee = models.BigIntegerField(default=0, help_text="Stripe's processing fee, from the balance transaction.")
    created_at = models.DateTimeField(help_text="When Stripe created the charge.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payment_refunded_within_amount",
            ),
            models.CheckConstraint(condition=Q(amount_disputed__gte=0), name="payment_disputed_non_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="payment_currency_lowercase_iso"),
        ]

    def __str__(self) -> str:
        return self.stripe_charge_id


class RefundStatus(models.TextChoices):
    CREATED = "created", "Sending"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


# Refunds that count against what is left of a payment: sent or being sent, and not failed.
OPEN_REFUND_STATUSES = (RefundStatus.CREATED, RefundStatus.PENDING, RefundStatus.SUCCEEDED)
# How far a refund has got; Stripe's events arrive in any order, and a refund only moves forward.
REFUND_STATUS_RANK = {
    RefundStatus.CREATED: 0,
    RefundStatus.PENDING: 1,
    RefundStatus.SUCCEEDED: 2,
    RefundStatus.FAILED: 3,
    RefundStatus.CANCELED: 3,
}


class RefundOrigin(models.TextChoices):
    BUYER_REQUEST = "buyer_request", "The buyer's request"
    SELLER = "seller", "The seller"
    ADMIN = "admin", "A platform admin"
    LATE_PAYMENT = "late_payment", "A payment that came too late"
    DASHBOARD = "dashboard", "The Stripe Dashboard"


class Refund(models.Model):
    """Money given back to the buyer on a payment: many per payment, one per Stripe refund.

    The row is written *before* Stripe is called, under a lock on the payment, and its id (with its
    `token`) is the idempotency key of the Stripe call: two refunds at once can never together
    exceed the payment, and a retry makes one Stripe refund. `token` names the submission that made
    it (a form's hidden token, an API `Idempotency-Key`, a refund request's approval), unique per
    order (per payment for a refund with no order: a subscription invoice's, whose payment is
    `SubscriptionInvoice.payment`), so a double click or a repeated request finds this row instead
    of writing a second refund. A refund nobody here started (the Stripe
    Dashboard) is recorded when its event arrives. `failure_message` says in a sentence why Stripe
    refused or failed it; `attention` is set when an admin must look (the platform paid a refund
    that took nothing back from the seller), and stays, with who marked it handled and when.

    A refund of one shop's order in a payment for several shops that failed after the seller's share
    was reversed leaves that reversal in place, as Stripe does; the order's next refund uses it
    (`share_reused`, and `fee_reused` of the platform's fee share booked with it) before reversing
    anything more (`payments.services.group_refund_shares`). `share_reused` is None until that
    refund has decided it, once. A destination charge's refund decides it when it is written
    (`payments.services._destination_share_reused`): what a failed refund's kept reversal covers of
    its share, and then it is sent without `reverse_transfer`; 0 when it reverses as usual."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    origin = models.CharField(max_length=20, choices=RefundOrigin.choices)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.CREATED)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Minor units given back to the buyer.")
    reverse_transfer = models.BooleanField(help_text="The seller's share is taken back (in proportion).")
    refund_application_fee = models.BooleanField(
        help_text="The platform's fee goes back to the seller (in proportion)."
    )
    reason = models.CharField(max_length=300, blank=True, default="", help_text="Why, in words people read.")
    token = models.CharField(
        max_length=100, blank=True, default="", help_text="The submission that made it (form, API key, request)."
    )
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_transfer_reversal_id = models.CharField(max_length=255, blank=True, default="")
    share_reused = models.BigIntegerField(
        null=True, blank=True, help_text="Minor units of the seller's share a failed refund's reversal took back."
    )
    fee_reused = models.BigIntegerField(default=0, help_text="Minor units of the fee share booked with that reversal.")
    failure_code = models.CharField(max_length=60, blank=True, default="")
    failure_message = models.CharField(max_length=500, blank=True, default="")
    attention = models.CharField(max_length=500, blank=True, default="", help_text="Why an admin must look.")
    attention_handled_at = models.DateTimeField(null=True, blank=True)
    attention_handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="refund_currency_lowercase_iso"),
            models.UniqueConstraint(
                fields=["order", "token"], condition=~Q(token=""), name="refund_one_per_order_token"
            ),
            # A refund of a payment with no order (a subscription's invoice): the token is the payment's.
            models.UniqueConstraint(
                fields=["payment", "token"],
                condition=~Q(token="") & Q(order__isnull=True),
                name="refund_one_per_payment_token",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["payment", "status"], name="refund_payment_status")
        ]

    def __str__(self) -> str:
        return self.stripe_refund_id or f"refund {self.pk}"

    @property
    def reason_for_buyer(self) -> str:
        """The reason a seller or an admin typed on a refund form ("the buyer reads it"), for the buyer's
        pages and emails; "" for the others (a buyer's request carries the buyer's own words, and a
        late payment's or the Dashboard's reason is not written to the buyer)."""
        return self.reason if self.origin in (RefundOrigin.SELLER, RefundOrigin.ADMIN) else ""

    @property
    def never_left(self) -> bool:
        """Failed before it left: Stripe refused it, or we never sent it (no Stripe id). No money moved
        and none is on its way back, so the buyer is not told of it (its order, its subscriptions, the
        API); the seller and the admins are, with why."""
        return self.status == RefundStatus.FAILED and not self.stripe_refund_id

    @property
    def failure_for_seller(self) -> str:
        """Why it failed, as the seller's pages say it. A refund Stripe refused for the seller's balance
        has a `failure_message` for the admins (whose balance, what an admin can do); the seller reads
        what happened to them and what they can do. Every other sentence is written for both."""
        if not self.stripe_refund_id and self.failure_code in REFUSALS_FOR_SELLER:
            return REFUSALS_FOR_SELLER[self.failure_code]
        return self.failure_message


# A refusal as the seller reads it (`Refund.failure_for_seller`); the admins read `payments.services.REFUSALS`.
REFUSALS_FOR_SELLER = {
    "balance_insufficient": (
        "Stripe refused this refund: your Stripe balance is too low to give back your share of it, so nothing "
        "was refunded. Refund again once your available balance can cover it (money from a sale becomes available "
        "a few days after it), or ask the marketplace to refund it from its own balance."
    ),
}


# Stripe's dispute reasons (Dispute object, `reason`).
REASONS = (
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)


def reason_label(reason: str) -> str:
    """A dispute reason's name for a list or a filter ("bank_cannot_process" -> "Bank cannot process"):
    the queue showed Stripe's codes, where the dispute's page says a sentence (`disputes.reason_text`)."""
    return reason.replace("_", " ").capitalize()


class DisputeStatus(models.TextChoices):
    """Stripe's dispute statuses (`warning_*` are inquiries: no money moves until they escalate)."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs response"
    WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
    WARNING_CLOSED = "warning_closed", "Inquiry closed"
    NEEDS_RESPONSE = "needs_response", "Needs response"
    UNDER_REVIEW = "under_review", "Under review"
    APPEAL_NEEDS_RESPONSE = "appeal_needs_response", "Appeal: needs response"
    APPEAL_UNDER_REVIEW = "appeal_under_review", "Appeal: under review"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    PREVENTED = "prevented", "Prevented"


OPEN_DISPUTE_STATUSES = (
    DisputeStatus.WARNING_NEEDS_RESPONSE,
    DisputeStatus.WARNING_UNDER_REVIEW,
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.UNDER_REVIEW,
    DisputeStatus.APPEAL_NEEDS_RESPONSE,
    DisputeStatus.APPEAL_UNDER_REVIEW,
)
ANSWERABLE_DISPUTE_STATUSES = (
    DisputeStatus.WARNING_NEEDS_RESPONSE,
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.APPEAL_NEEDS_RESPONSE,
)
CLOSED_DISPUTE_STATUSES = (DisputeStatus.WARNING_CLOSED, DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.PREVENTED)


class RecoveryStatus(models.TextChoices):
    NOT_RECOVERED = "none", "Not recovered (platform setting)"
    RECOVERED = "recovered", "Recovered from the seller"
    DEBT = "debt", "Partly recovered: the rest is the seller's debt"


class Dispute(models.Model):
    """A buyer's bank contesting a payment: Stripe's dispute mirrored (re-read on every event, so the
    row holds Stripe's latest state whatever order the events came in), plus our side of it: the
    admin's evidence draft (Stripe's field names), the seller's statement, and the recovery."""

    stripe_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, db_index=True)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    seller = models.ForeignKey(
        "sellers.Seller", null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    amount = models.BigIntegerField(help_text="Minor units: what the bank disputes.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=40)
    status = models.CharField(max_length=30, choices=DisputeStatus.choices)
    due_by = models.DateTimeField(null=True, blank=True, help_text="Stripe's evidence deadline.")
    has_evidence = models.BooleanField(default=False)
    submission_count = models.PositiveIntegerField(default=0)
    past_due = models.BooleanField(default=False, help_text="Stripe: the last submission came after the deadline.")
    stripe_created_at = models.DateTimeField()

    evidence = models.JSONField(default=dict, blank=True, help_text="The admin's evidence text, Stripe's names.")
    evidence_version = models.PositiveIntegerField(default=0, help_text="Saves sent to Stripe (idempotency).")
    seller_statement = models.TextField(blank=True, default="")
    seller_statement_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    dispute_fee = models.BigIntegerField(default=0, help_text="Stripe's dispute fee, from the withdrawal.")
    recovery = models.CharField(
        max_length=20, choices=RecoveryStatus.choices, blank=True, default="", help_text="After a loss."
    )
    recovered_amount = models.BigIntegerField(default=0, help_text="What the seller's balance gave back.")
    recovery_reversal_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["due_by", "id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "due_by"], name="dispute_status_due"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.stripe_id

    @property
    def subscription_payment(self) -> Any:
        """The subscription invoice whose payment is disputed (a payment with no order), or None: the pages
        name such a dispute by it (its listing, subscriber and date), as others by their order. Prefetch
        `payments.selectors.SUBSCRIPTION_PAYMENT` to read it without a query per dispute."""
        if self.order_id is not None or self.payment_id is None:
            return None
        return next(iter(self.payment.subscription_invoices.all()), None)  # type: ignore[union-attr]

    @property
    def reason_label(self) -> str:
        """Stripe's reason as a person reads it in a list ("Product not received"): `reason_label`."""
        return reason_label(self.reason)

    @property
    def is_answerable(self) -> bool:
        """Evidence may still be written and sent: Stripe awaits an answer and none was sent yet."""
        return self.status in ANSWERABLE_DISPUTE_STATUSES and self.submitted_at is None


class DisputeFileSide(models.TextChoices):
    SELLER = "seller", "Seller"
    ADMIN = "admin", "Platform"


# The types a proof file may be (found from its bytes by `payments.disputes`) and the extension each
# is stored, downloaded and sent to Stripe with, whatever the uploader called the file.
DISPUTE_FILE_EXTENSIONS: dict[str, str] = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def dispute_file_path(instance: DisputeFile, filename: str) -> str:
    """Never the uploader's name: a random one, with the extension of the type found in the bytes."""
    extension = DISPUTE_FILE_EXTENSIONS[instance.content_type]
    return f"disputes/{instance.dispute_id}/{uuid.uuid4().hex}.{extension}"


class DisputeFile(models.Model):
    """One proof file (PDF, PNG, JPEG), uploaded to Stripe once when the evidence is sent
    (`stripe_file_id`), under the evidence field it fills.

    Kept in the private storage (`marketplace.storage`), never the public media one: proof carries
    buyers' names and addresses, and only the dispute's seller and the platform admins may read it,
    through the views that check who asks. `filename` is what the uploader called it, shown to
    people only; the stored name and the name it is downloaded under carry the type we found.
    """

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="files")
    side = models.CharField(max_length=10, choices=DisputeFileSide.choices)
    evidence_field = models.CharField(max_length=40, help_text="Stripe's evidence file field, e.g. receipt.")
    file = models.FileField(upload_to=dispute_file_path, storage=private_storage_get, max_length=255)
    filename = models.CharField(max_length=200, help_text="The uploader's name for it, for display only.")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stripe_file_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def download_name(self) -> str:
        """The name a download (and Stripe) gets: the uploader's stem and the extension of the type
        we found, so a PDF called x.html is saved as x.pdf, never as a page a browser would run."""
        stem = self.filename.rsplit(".", 1)[0] if "." in self.filename else self.filename
        return f"{stem or 'proof'}.{DISPUTE_FILE_EXTENSIONS.get(self.content_type, 'bin')}"


class SellerDebt(models.Model):
    """What a seller owes the platform after a lost dispute its balance could not cover, collected
    by transfer reversals when funds arrive (`balance.available`, or the beat job), never twice."""

    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="debts")
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="debts")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Minor units owed in all.")
    collected = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="seller_debt_amount_positive"),
            models.CheckConstraint(
                condition=Q(collected__gte=0) & Q(collected__lte=F("amount")), name="seller_debt_collected_within"
            ),
            # One per dispute and seller: a dispute on a payment for several shops may leave several.
            models.UniqueConstraint(fields=["dispute", "seller"], name="seller_debt_one_per_dispute_and_seller"),
        ]

    def __str__(self) -> str:
        return f"debt {self.pk} of seller {self.seller_id}"

    @property
    def outstanding(self) -> int:
        return self.amount - self.collected
