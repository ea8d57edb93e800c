"""Follow-ups of subscriptions, delivered through the outbox: emails (ids in, one email out; a
subscription's start told to its buyer and its seller),
pausing collection with the seller's shop, the fee policy's percent, the shop's end of a
subscription at its period end (or its undo), voiding the invoice an ended subscription leaves open,
expiring the buyer's older Subscribe pages, and canceling a second subscription to one listing."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from payments.models import Refund
from subscriptions import emails, services
from subscriptions.models import LIVE_STATUSES, Subscription, SubscriptionInvoice
from subscriptions.selectors import earlier_live_twins


def _invoice(invoice_id: int) -> SubscriptionInvoice:
    return SubscriptionInvoice.objects.select_related("subscription__buyer", "subscription__seller").get(pk=invoice_id)


def _subscription(subscription_id: int) -> Subscription:
    return Subscription.objects.select_related("buyer", "seller__user").get(pk=subscription_id)


@follow_up("subscriptions.email.payment_failed")
def payment_failed_email(invoice_id: int) -> None:
    emails.send_payment_failed(_invoice(invoice_id))


@follow_up("subscriptions.email.action_required")
def action_required_email(invoice_id: int) -> None:
    emails.send_action_required(_invoice(invoice_id))


def _started(subscription_id: int) -> Subscription | None:
    """The subscription whose start is told, unless it no longer goes on or is a second one to the same
    listing (canceled and refunded, its buyer told that instead)."""
    sub = _subscription(subscription_id)
    if sub.status not in LIVE_STATUSES or earlier_live_twins(subscription=sub).exists():
        return None
    return sub


@follow_up("subscriptions.email.started_for_buyer")
def started_for_buyer_email(subscription_id: int) -> None:
    if sub := _started(subscription_id):
        emails.send_started_for_buyer(sub)


@follow_up("subscriptions.email.started_for_seller")
def started_for_seller_email(subscription_id: int) -> None:
    if sub := _started(subscription_id):
        emails.send_started_for_seller(sub)


@follow_up("subscriptions.email.ended_for_seller")
def ended_for_seller_email(subscription_id: int) -> None:
    emails.send_ended_for_seller(_subscription(subscription_id))


@follow_up("subscriptions.email.ended_for_buyer")
def ended_for_buyer_email(subscription_id: int) -> None:
    emails.send_ended_for_buyer(_subscription(subscription_id))


@follow_up("subscriptions.follow_seller_pause")
def follow_seller_pause(seller_id: int, change: int | str) -> None:
    """`change`: the moderation entry of a pause or unpause, or `stripe:<time>` for a read of the account
    that saw Stripe disable or enable the shop (`sellers.services._apply_account`)."""
    services.subscriptions_follow_seller_pause(seller_id=seller_id, change=str(change))


@follow_up("subscriptions.follow_fee_policy")
def follow_fee_policy(currency: str, change: str, subscription_id: int | None = None) -> None:
    services.subscriptions_follow_fee_policy(currency=currency, change=change, subscription_id=subscription_id)


@follow_up("subscriptions.void_open_invoices")
def void_open_invoices(subscription_id: int) -> None:
    services.subscription_open_invoices_void(subscription_id=subscription_id)


@follow_up("subscriptions.shop_change_send")
def shop_change_send(subscription_id: int, change: int) -> None:
    services.subscription_shop_change_send(subscription_id=subscription_id, change=change)


@follow_up("subscriptions.email.shop_ended")
def shop_ended_email(subscription_id: int) -> None:
    emails.send_shop_ended(_subscription(subscription_id))


@follow_up("subscriptions.email.shop_kept")
def shop_kept_email(subscription_id: int) -> None:
    emails.send_shop_kept(_subscription(subscription_id))


@follow_up("subscriptions.checkouts_close_older")
def checkouts_close_older(customer: str, listing_id: int, keep_id: str, keep_created: int) -> None:
    services.subscription_checkouts_close_older(
        customer=customer, listing_id=listing_id, keep_id=keep_id, keep_created=keep_created
    )


@follow_up("subscriptions.duplicate_cancel")
def duplicate_cancel(subscription_id: int) -> None:
    services.subscription_duplicate_cancel(subscription_id=subscription_id)


@follow_up("subscriptions.email.duplicate_for_buyer")
def duplicate_for_buyer_email(subscription_id: int) -> None:
    emails.send_duplicate_for_buyer(_subscription(subscription_id))


@follow_up("subscriptions.email.refund_made")
def refund_made_email(refund_id: int) -> None:
    emails.send_refund_made(Refund.objects.select_related("payment").get(pk=refund_id))


@follow_up("subscriptions.email.refund_failed")
def refund_failed_email(refund_id: int) -> None:
    emails.send_refund_failed(Refund.objects.select_related("payment").get(pk=refund_id))
