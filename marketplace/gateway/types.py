"""What the app reads of Stripe's objects, typed, and parsed in this one place.

Every gateway call and every webhook handler gets these instead of dicts: a field the code reads is
declared here once, with its type, so a typo is a mypy error and a shape Stripe changed is one loud
parse error at the door (`UnexpectedStripeObject`), not a `.get()` quietly answering None somewhere
deep in a service.

Why pydantic models and not dataclasses: pydantic is already installed (django-ninja is built on
it), and it does the parsing a dataclass would need written by hand for each of the dozen types:
nested objects, an expandable field that is either an id or the expanded object, lists of
sub-objects, and type checks. The models run in strict mode: an amount must be an `int` (not a
float, a bool or a string), a flag a `bool`. They are frozen, so a Stripe object read once cannot
be changed by the code that passes it around, and they ignore keys they do not declare, because
Stripe adds fields without changing the API version.

Conventions, from Stripe's own types (the `stripe` package's annotations for the pinned API
version):
- Money is `amount: int` in minor units plus a lowercase three-letter `currency`.
- A field Stripe may send as null is `X | None` with a default of None; one it always sends is
  required, so a missing one fails the parse.
- An expandable field the app expands is `Expandable[T]`: the id, or the object when the request
  expanded it. One the app never expands is `IdRef`: an id, to which an object that arrives
  expanded anyway (Stripe's examples do it) is reduced.
- `metadata` is always a dict of strings (Stripe sends null for some objects: read as empty).

Only what the app reads, or the next money work (ledger postings, refunds, disputes, payouts) will
read, is declared: everything else stays in the raw event payload the inbox keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Self, TypeAlias, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from marketplace.errors import PaymentProviderError

logger = logging.getLogger(__name__)


class UnexpectedStripeObject(PaymentProviderError):
    """Stripe sent something we cannot read as the object we asked for: another API version's
    shape, or a different object altogether. Never the caller's fault, so a 502; the details (which
    field, what value) are in the log, not in the sentence a person reads."""

    code = "unexpected_stripe_object"


UNREADABLE = "Our payment provider sent an answer we could not read; please try again later."


def _id_of_expanded(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def _empty_if_null(value: Any) -> Any:
    return {} if value is None else value


def _list_if_null(value: Any) -> Any:
    return [] if value is None else value


Currency = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")]
IdRef = Annotated[str, BeforeValidator(_id_of_expanded)]
Metadata = Annotated[dict[str, str], BeforeValidator(_empty_if_null)]
Strings = Annotated[list[str], BeforeValidator(_list_if_null)]
_T = TypeVar("_T")
Expandable: TypeAlias = str | _T  # an expandable field: the id, or the object when the request expanded it


class StripeModel(BaseModel):
    """A part of a Stripe object: frozen, strict, blind to keys it does not declare."""

    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")


R = TypeVar("R", bound="StripeResource")


class StripeResource(StripeModel):
    """A whole object Stripe answers with; `OBJECT` is its `object` name, which `from_stripe` checks
    and by which `parse_object` finds the class."""

    OBJECT: ClassVar[str]

    @classmethod
    def from_stripe(cls, obj: Any) -> Self:
        """Parse an SDK object or a plain dict (a webhook's `data.object`, a fixture).

        Refuses an object whose `object` is not this class's, and any shape that does not fit,
        with `UnexpectedStripeObject`."""
        data = obj.to_dict(recursive=True) if hasattr(obj, "to_dict") else obj
        if not isinstance(data, Mapping):
            raise _unreadable(cls, f"not an object: {type(data).__name__}")
        if data.get("object") != cls.OBJECT:
            raise _unreadable(cls, f"object is {data.get('object')!r}, not {cls.OBJECT!r}", object_id=data.get("id"))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _unreadable(cls, str(exc), object_id=data.get("id")) from exc


class StripeObject(StripeResource):
    """An object with an id (everything but the balance)."""

    id: str


def _unreadable(cls: type[StripeModel], detail: str, *, object_id: object = None) -> UnexpectedStripeObject:
    logger.error("could not read a Stripe %s %s: %s", cls.__name__, object_id or "", detail)
    return UnexpectedStripeObject(UNREADABLE)


# --- Payments -----------------------------------------------------------------------------------------


class TransferData(StripeModel):
    """Where a destination charge sends its money (`transfer_data` of a PaymentIntent or Charge)."""

    destination: IdRef
    amount: int | None = None


class PaymentError(StripeModel):
    """Why the last attempt failed (`last_payment_error`): `message` is meant for the buyer."""

    type: str
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None


class BalanceFeeDetail(StripeModel):
    """One fee inside a balance transaction: Stripe's processing fee, an application fee, a tax."""

    amount: int
    currency: Currency
    type: str
    description: str | None = None


class BalanceTransaction(StripeObject):
    """One movement of a Stripe balance. `amount` is gross, `fee` what Stripe (and, on a connected
    account, the platform) took, `net = amount - fee`; all in the balance's `currency`, which is
    the settlement currency, not necessarily the charge's."""

    OBJECT = "balance_transaction"

    amount: int
    fee: int
    net: int
    currency: Currency
    type: str
    reporting_category: str
    status: str
    source: IdRef | None = None
    available_on: int
    created: int
    fee_details: list[BalanceFeeDetail]
    description: str | None = None
    # Only when the list was read with `data.source` expanded: the transfer a connected account's
    # `py_` payment came from (Stripe's `source_transfer`), which is how reconciliation finds the
    # ledger's posting of it (our ledger knows the transfer, not the `py_`).
    source_transfer: str | None = None
    # Likewise: the transfer reversal a connected account's `pyr_` refund came from.
    source_transfer_reversal: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _expanded_source(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("source"), Mapping):
            source = data["source"]
            return {
                **data,
                "source_transfer": _id_of_expanded(source.get("source_transfer")),
                "source_transfer_reversal": _id_of_expanded(source.get("source_transfer_reversal")),
            }
        return data


class Charge(StripeObject):
    """A card payment. On a destination charge it lives on the platform: `transfer` moved the
    money to the seller, `application_fee` brought the platform's share back, and
    `balance_transaction` (expand it) carries Stripe's processing fee."""

    OBJECT = "charge"

    amount: int
    amount_refunded: int
    currency: Currency
    status: str
    refunded: bool
    disputed: bool
    payment_intent: IdRef | None = None
    balance_transaction: Expandable[BalanceTransaction] | None = None
    transfer: IdRef | None = None
    application_fee: IdRef | None = None
    application_fee_amount: int | None = None
    transfer_data: TransferData | None = None
    transfer_group: str | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class RedirectToUrl(StripeModel):
    url: str
    return_url: str | None = None


class NextAction(StripeModel):
    """What the buyer must do before the payment can go on: for 3-D Secure, a page to visit."""

    type: str
    redirect_to_url: RedirectToUrl | None = None


class PaymentIntent(StripeObject):
    """The buyer's payment; `latest_charge` (expand it) is the charge that took the money.
    `requires_action` with `next_action.redirect_to_url`: the buyer must authenticate (3-D Secure)."""

    OBJECT = "payment_intent"

    amount: int
    amount_received: int
    currency: Currency
    status: str
    customer: IdRef | None = None
    payment_method: IdRef | None = None
    next_action: NextAction | None = None
    latest_charge: Expandable[Charge] | None = None
    last_payment_error: PaymentError | None = None
    application_fee_amount: int | None = None
    transfer_data: TransferData | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class CheckoutSession(StripeObject):
    """A hosted payment page. `status` is open/complete/expired; `payment_status` paid/unpaid
    (complete and unpaid: a delayed method is still processing)."""

    OBJECT = "checkout.session"

    status: str | None = None
    payment_status: str
    amount_total: int | None = None
    currency: Currency | None = None
    client_reference_id: str | None = None
    customer: IdRef | None = None
    payment_intent: Expandable[PaymentIntent] | None = None
    setup_intent: Expandable[SetupIntent] | None = None
    subscription: IdRef | None = None
    invoice: IdRef | None = None
    mode: str = "payment"
    url: str | None = None
    expires_at: int
    metadata: Metadata = Field(default_factory=dict)
    created: int


class InvoiceSettings(StripeModel):
    default_payment_method: IdRef | None = None


class Customer(StripeObject):
    """The buyer at Stripe (one per user). `invoice_settings.default_payment_method` is the saved
    card used by default (for one-click buying and subscription renewals)."""

    OBJECT = "customer"

    email: str | None = None
    invoice_settings: InvoiceSettings = Field(default_factory=InvoiceSettings)
    metadata: Metadata = Field(default_factory=dict)


class CardDetails(StripeModel):
    """`fingerprint` is the same for the same card number within the account, whatever its expiry:
    Stripe saves a card again as a new PaymentMethod (every Checkout does), and this tells that it
    is one card."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str | None = None


class PaymentMethod(StripeObject):
    """A saved card: what the buyer recognises it by (brand, last four, expiry) and whose it is."""

    OBJECT = "payment_method"

    type: str
    card: CardDetails | None = None
    customer: IdRef | None = None
    created: int


class SetupIntent(StripeObject):
    """Saving a card for later: `succeeded` once the card is attached to the customer."""

    OBJECT = "setup_intent"

    status: str
    customer: IdRef | None = None
    payment_method: IdRef | None = None
    usage: str
    created: int


# --- Connect: the seller's side ---------------------------------------------------------------------


class Transfer(StripeObject):
    """Money moved from the platform's balance to a connected account's (for a destination charge,
    made by Stripe: `source_transaction` is the charge)."""

    OBJECT = "transfer"

    amount: int
    amount_reversed: int
    currency: Currency
    destination: IdRef | None = None
    destination_payment: IdRef | None = None
    source_transaction: IdRef | None = None
    transfer_group: str | None = None
    reversed: bool
    balance_transaction: IdRef | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class TransferReversal(StripeObject):
    """Part of a transfer taken back from the connected account (a refund, a lost dispute)."""

    OBJECT = "transfer_reversal"

    amount: int
    currency: Currency
    transfer: IdRef
    balance_transaction: IdRef | None = None
    source_refund: IdRef | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class Refund(StripeObject):
    """Money given back on a charge. On a destination charge with `reverse_transfer`, its
    `transfer_reversal` (expand it) took the seller's share back. `status`: pending, succeeded,
    failed (`failure_reason`; the money came back to the platform), canceled, requires_action."""

    OBJECT = "refund"

    amount: int
    currency: Currency
    status: str | None = None
    reason: str | None = None
    charge: IdRef | None = None
    payment_intent: IdRef | None = None
    balance_transaction: IdRef | None = None
    transfer_reversal: Expandable[TransferReversal] | None = None
    failure_reason: str | None = None
    failure_balance_transaction: IdRef | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class ApplicationFeeRefund(StripeObject):
    """Part of an application fee given back to the connected account (`fee`), by a refund with
    `refund_application_fee` or directly."""

    OBJECT = "fee_refund"

    amount: int
    currency: Currency
    fee: IdRef
    balance_transaction: IdRef | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class ApplicationFee(StripeObject):
    """The platform's fee on a charge, collected from the connected `account`."""

    OBJECT = "application_fee"

    amount: int
    amount_refunded: int
    currency: Currency
    account: IdRef
    charge: IdRef
    originating_transaction: IdRef | None = None
    balance_transaction: IdRef | None = None
    refunded: bool
    created: int


class DisputeEvidenceDetails(StripeModel):
    due_by: int | None = None
    has_evidence: bool
    past_due: bool
    submission_count: int


class DisputeEvidence(StripeModel):
    """The evidence fields the app edits (text, and file ids of uploads with purpose
    `dispute_evidence`); Stripe's other fields stay in the raw object."""

    product_description: str | None = None
    customer_communication: IdRef | None = None
    customer_email_address: str | None = None
    customer_name: str | None = None
    shipping_carrier: str | None = None
    shipping_tracking_number: str | None = None
    shipping_date: str | None = None
    shipping_address: str | None = None
    shipping_documentation: IdRef | None = None
    refund_policy: IdRef | None = None
    refund_policy_disclosure: str | None = None
    refund_refusal_explanation: str | None = None
    receipt: IdRef | None = None
    uncategorized_text: str | None = None
    uncategorized_file: IdRef | None = None


class Dispute(StripeObject):
    """A buyer's bank contesting a charge. Stripe debits the platform (`balance_transactions`: the
    amount and the dispute fee) and, if won, credits it back."""

    OBJECT = "dispute"

    evidence: DisputeEvidence = Field(default_factory=DisputeEvidence)

    amount: int
    currency: Currency
    status: str
    reason: str
    charge: IdRef
    payment_intent: IdRef | None = None
    balance_transactions: list[BalanceTransaction]
    evidence_details: DisputeEvidenceDetails
    is_charge_refundable: bool
    metadata: Metadata = Field(default_factory=dict)
    created: int


class File(StripeObject):
    """An upload to Stripe's Files API (dispute evidence)."""

    OBJECT = "file"

    purpose: str
    size: int
    filename: str | None = None
    type: str | None = None
    created: int


class Payout(StripeObject):
    """Money leaving a Stripe balance for a bank account (a connected account's, on its schedule)."""

    OBJECT = "payout"

    amount: int
    currency: Currency
    status: str
    arrival_date: int
    automatic: bool
    method: str
    type: str
    failure_code: str | None = None
    failure_message: str | None = None
    balance_transaction: IdRef | None = None
    failure_balance_transaction: IdRef | None = None
    reconciliation_status: str | None = None
    destination: IdRef | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class BankAccount(StripeModel):
    """A connected account's bank account (an external account, inside the account). `status`
    `errored` after a failed payout: Stripe then sends no payout until the details are updated."""

    id: str
    account: IdRef | None = None
    status: str | None = None
    last4: str | None = None
    bank_name: str | None = None
    currency: Currency | None = None


class BalanceAmount(StripeModel):
    amount: int
    currency: Currency


class Balance(StripeResource):
    """A Stripe balance (the platform's, or a connected account's read with `Stripe-Account`):
    per currency, funds available now and funds still pending."""

    OBJECT = "balance"

    available: list[BalanceAmount]
    pending: list[BalanceAmount]

    def total(self, currency: str) -> int:
        """Available plus pending in `currency`, in minor units: what the account holds at Stripe."""
        return sum(part.amount for part in (*self.available, *self.pending) if part.currency == currency)

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(part.currency for part in (*self.available, *self.pending))


# --- Connected accounts ---------------------------------------------------------------------------------


class RequirementError(StripeModel):
    code: str
    reason: str
    requirement: str


class AccountRequirements(StripeModel):
    """What Stripe still needs from a connected account, and by when (`current_deadline`)."""

    currently_due: Strings = Field(default_factory=list)
    eventually_due: Strings = Field(default_factory=list)
    past_due: Strings = Field(default_factory=list)
    pending_verification: Strings = Field(default_factory=list)
    errors: Annotated[list[RequirementError], BeforeValidator(_list_if_null)] = Field(default_factory=list)
    current_deadline: int | None = None
    disabled_reason: str | None = None


class PayoutSchedule(StripeModel):
    """`settings.payouts.schedule`: when Stripe pays a connected account out."""

    interval: str = "daily"
    delay_days: int | None = None
    weekly_anchor: str | None = None
    monthly_anchor: int | None = None


class _PayoutSettings(StripeModel):
    schedule: PayoutSchedule = Field(default_factory=PayoutSchedule)


class _AccountSettings(StripeModel):
    payouts: _PayoutSettings | None = None


class _ExternalAccounts(StripeModel):
    data: list[BankAccount] = Field(default_factory=list)


class Account(StripeObject):
    """A connected (Express) account. Stripe leaves out most fields of an account the platform
    does not control, hence the defaults."""

    OBJECT = "account"

    type: str | None = None
    country: str | None = None
    default_currency: Currency | None = None
    email: str | None = None
    details_submitted: bool = False
    charges_enabled: bool = False
    payouts_enabled: bool = False
    capabilities: Annotated[dict[str, str], BeforeValidator(_empty_if_null)] = Field(default_factory=dict)
    requirements: AccountRequirements = Field(default_factory=AccountRequirements)
    metadata: Metadata = Field(default_factory=dict)
    settings: _AccountSettings | None = None
    external_accounts: _ExternalAccounts | None = None

    @property
    def payout_schedule(self) -> PayoutSchedule | None:
        """The payout schedule, when Stripe shows it (it does to the platform of an Express account)."""
        return self.settings.payouts.schedule if self.settings and self.settings.payouts else None

    @property
    def bank_accounts(self) -> list[BankAccount]:
        return list(self.external_accounts.data) if self.external_accounts else []


class Capability(StripeObject):
    """One capability of a connected account (`capability.updated` carries it)."""

    OBJECT = "capability"

    account: IdRef
    status: str
    requested: bool


class AccountLink(StripeResource):
    """A single-use onboarding URL, valid until `expires_at`."""

    OBJECT = "account_link"

    url: str
    expires_at: int


class LoginLink(StripeResource):
    """A single-use URL into an Express account's dashboard."""

    OBJECT = "login_link"

    url: str


# --- Subscriptions (shapes of the pinned version: basil and later) -----------------------------------


class Recurring(StripeModel):
    interval: str
    interval_count: int


class SubscriptionPrice(StripeModel):
    id: str
    unit_amount: int | None = None
    currency: Currency
    recurring: Recurring | None = None


class SubscriptionItem(StripeModel):
    """One price of a subscription; since 2025-03-31 (basil) the billing period lives here."""

    id: str
    price: SubscriptionPrice
    quantity: int = 1
    current_period_start: int
    current_period_end: int


class SubscriptionItems(StripeModel):
    data: list[SubscriptionItem]


class CancellationDetails(StripeModel):
    reason: str | None = None


class SubscriptionTransferData(StripeModel):
    destination: IdRef


class PauseCollection(StripeModel):
    behavior: str  # void, mark_uncollectible or keep_as_draft
    resumes_at: int | None = None


class Subscription(StripeObject):
    """A buyer's subscription to a seller's product: `status` active/past_due/canceled/incomplete...;
    each paid invoice is a destination charge to `transfer_data.destination` with
    `application_fee_percent` of it for the platform."""

    OBJECT = "subscription"

    customer: IdRef
    status: str
    currency: Currency
    items: SubscriptionItems
    cancel_at_period_end: bool
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_details: CancellationDetails | None = None
    application_fee_percent: float | None = None
    transfer_data: SubscriptionTransferData | None = None
    latest_invoice: IdRef | None = None
    default_payment_method: IdRef | None = None
    pause_collection: PauseCollection | None = None
    metadata: Metadata = Field(default_factory=dict)
    created: int


class InvoiceSubscriptionDetails(StripeModel):
    subscription: IdRef


class InvoiceParent(StripeModel):
    subscription_details: InvoiceSubscriptionDetails | None = None


class InvoicePaymentRef(StripeModel):
    type: str
    payment_intent: Expandable[PaymentIntent] | None = None


class InvoicePayment(StripeObject):
    """One payment of an invoice (since basil an invoice has no `payment_intent`/`charge`)."""

    OBJECT = "invoice_payment"

    invoice: IdRef
    status: str
    amount_paid: int | None = None
    payment: InvoicePaymentRef


class InvoicePayments(StripeModel):
    data: list[InvoicePayment] = Field(default_factory=list)


class Invoice(StripeObject):
    """A bill of a subscription period. `hosted_invoice_url` is Stripe's page where the buyer pays
    it (or completes 3-D Secure); `payments` holds its InvoicePayments."""

    OBJECT = "invoice"

    customer: IdRef
    status: str | None = None
    currency: Currency
    amount_due: int
    amount_paid: int
    total: int
    attempt_count: int
    billing_reason: str | None = None
    hosted_invoice_url: str | None = None
    next_payment_attempt: int | None = None
    parent: InvoiceParent | None = None
    payments: InvoicePayments | None = None
    created: int

    @property
    def subscription(self) -> str | None:
        details = self.parent.subscription_details if self.parent else None
        return details.subscription if details else None


class BillingPortalSession(StripeObject):
    """Stripe's customer portal for one visit: open `url`; it comes back to `return_url`."""

    OBJECT = "billing_portal.session"

    customer: IdRef
    url: str
    return_url: str | None = None


PARSERS: dict[str, type[StripeResource]] = {
    cls.OBJECT: cls
    for cls in (
        Account,
        BillingPortalSession,
        Invoice,
        InvoicePayment,
        Subscription,
        ApplicationFee,
        ApplicationFeeRefund,
        Balance,
        BalanceTransaction,
        Capability,
        Charge,
        CheckoutSession,
        Customer,
        Dispute,
        PaymentIntent,
        PaymentMethod,
        Payout,
        Refund,
        SetupIntent,
        Transfer,
        TransferReversal,
    )
}


def parse_object(data: Mapping[str, Any]) -> StripeResource:
    """The typed object for a webhook's `data.object`, chosen by its `object` name."""
    cls = PARSERS.get(str(data.get("object")))
    if cls is None:
        raise _unreadable(StripeResource, f"no type for object {data.get('object')!r}", object_id=data.get("id"))
    return cls.from_stripe(data)


def parse_as(cls: type[R], data: Mapping[str, Any]) -> R:
    """`parse_object`, insisting on `cls`: a handler says what its event carries."""
    obj = parse_object(data)
    if not isinstance(obj, cls):
        raise _unreadable(cls, f"the event carries a {type(obj).__name__}", object_id=data.get("id"))
    return obj
