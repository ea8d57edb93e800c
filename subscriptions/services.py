"""Subscriptions sold by sellers: listing a product by subscription, subscribing through Stripe's
Checkout (`mode=subscription`), mirroring what Stripe says, and the customer portal.

- *The fee*: Stripe takes a subscription's fee as a percent of each invoice
  (`application_fee_percent`), so the fee policy's percentage for the listing (seller, category,
  currency; most specific rule) is what is sent. A rule's fixed amount has no place in a percent
  and is not charged on subscriptions. A change of the policy reaches live subscriptions from their
  next invoice (`subscriptions_follow_fee_policy`, an outbox follow-up of the change).
- *Stripe owns the state*: every handler re-reads the subscription or invoice through the gateway
  and writes what it says (`subscription_sync`, `invoice_sync`); late or repeated events change
  nothing more.
- *Money like any charge*: a paid invoice's charge is recorded with
  `payments.services.payment_record_charge` (the charge, Stripe's fee, the transfer to the seller,
  our fee), the same path as `charge.succeeded`, whichever comes first; so the ledger matches
  Stripe's balances for the platform and the seller.
- *Refunds like any payment's*: the seller (from the payment's page) or an admin (from the console)
  refunds a paid invoice, in full or in part, with `payments.services.refund_create` /
  `refund_submit`, the rows, idempotency keys and ledger postings of order refunds; a refund with no
  order names its submission per payment (`Refund.token`). The buyer is emailed and sees it on
  "Your subscriptions".
- *The shop can end one*: at its period end (`cancel_at_period_end`, no refund), one by one from
  Subscribers or all of a listing's when it is sold once again, and undo its own end, never a
  buyer's (`subscription_shop_end`); the buyer is emailed each time.
- *People are told*: a failed renewal emails the buyer the invoice's hosted page; one that needs
  3-D Secure too; when Stripe's retries end and it cancels, the seller and the buyer are told.
  Emails are outbox rows keyed by what they say, so a repeated event sends each once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import attrgetter
from typing import Any

from django.db import IntegrityError, transaction
from django.template.defaultfilters import date as date_filter
from django.utils import timezone

from catalog.cache import storefront_changed
from catalog.models import Listing
from fees.policy import rules_for
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound, PaymentProviderError
from marketplace.gateway import subscriptions as gateway_subscriptions
from marketplace.gateway.types import Charge, Invoice, PaymentIntent
from marketplace.gateway.types import Subscription as StripeSubscription
from marketplace.outbox.services import outbox_add
from orders.models import StripeCustomer
from orders.selectors import charge_disputed, charged_back_for_seller
from orders.services.checkout import buyer_customer_ensure, raise_if_shop_refused
from payments.models import Payment, Refund, RefundOrigin, RefundStatus
from payments.services import payment_record_charge, payment_refundable, refund_create, refund_submit
from sellers.models import Seller, SellerModerationEntry
from sellers.selectors import seller_can_sell, seller_cannot_sell_message
from subscriptions.models import (
    LIVE_STATUSES,
    Interval,
    Subscription,
    SubscriptionInvoice,
    SubscriptionPlan,
    SubscriptionStatus,
)
from subscriptions.selectors import earlier_live_twins, renewing_subscriptions

logger = logging.getLogger(__name__)

CHECKOUT_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class PlanSet:
    plan: SubscriptionPlan | None
    kept: int  # live subscriptions made another way, which Stripe goes on charging as they are
    ending: int = 0  # live subscriptions the shop ends at their period end with this change
    # Can buyers see the listing? A draft, an unpublished listing or a shop that cannot sell is not on
    # sale: the seller is told so, not that "buyers subscribe".
    published: bool = True
    shop_can_sell: bool = True


def plan_set(*, seller: Seller, listing_id: int, interval: str, end_subscriptions: bool = False) -> PlanSet:
    """Sell a listing of this seller by subscription (`month`/`year`), or once again (`""`). The
    listing page shows which (Subscribe or Add to cart): the storefront's cache is renewed. Only new
    subscriptions follow: those already made go on as they are until their buyers cancel them, and
    `kept` counts those now sold differently, so the seller is told. Sold once again with
    `end_subscriptions`, its live subscriptions end at their period end instead (`ending` of them:
    each through its own outbox follow-up, so the change is saved when Stripe is unreachable)."""
    listing = Listing.objects.filter(pk=listing_id, seller=seller).first()
    if listing is None:
        raise NotFound("No such listing.")
    if interval not in ("", *Interval.values):
        raise InvalidInput("Choose once, monthly or yearly.", code="invalid_interval")
    ending = 0
    with transaction.atomic():
        if interval == "":
            SubscriptionPlan.objects.filter(listing=listing).delete()
            plan = None
            if end_subscriptions:
                ending = subscriptions_shop_end_of_listing(listing=listing)
        else:
            plan, _ = SubscriptionPlan.objects.update_or_create(listing=listing, defaults={"interval": interval})
        storefront_changed()
    kept = renewing_subscriptions().filter(listing=listing).exclude(interval=interval).count()
    return PlanSet(
        plan=plan, kept=kept, ending=ending, published=listing.is_published, shop_can_sell=seller_can_sell(seller)
    )


def fee_percent_for(*, listing: Listing) -> Decimal:
    """The platform's percent of each invoice: the fee policy's basis points for this listing."""
    return _percent(_fee_basis_points(listing))


def _fee_basis_points(listing: Listing) -> int:
    rule = rules_for(seller_id=listing.seller_id, currency=listing.currency, category_ids={listing.category_id})
    return rule[listing.category_id].basis_points


def _percent(basis_points: int) -> Decimal:
    return Decimal(basis_points) / 100


@dataclass(frozen=True)
class SubscribeStart:
    url: str
    session_id: str


def subscription_checkout_start(
    *, buyer: Any, listing_id: int, attempt: str, success_url: str, cancel_url: str
) -> SubscribeStart:
    """Stripe's Checkout page that starts the buyer's subscription to a listing."""
    listing = Listing.objects.visible().select_related("seller", "subscription_plan").filter(pk=listing_id).first()
    if listing is None:
        raise NotFound("This subscription is not available right now.")
    plan = getattr(listing, "subscription_plan", None)
    if plan is None:  # a page shown before the seller sold it once again: the listing is there to buy
        raise Conflict(
            f"{listing.title} is no longer sold by subscription: add it to your cart to buy it once.",
            code="not_sold_by_subscription",
        )
    if listing.seller.user_id == buyer.pk:
        raise Conflict("You cannot subscribe to your own product.", code="own_listing")
    if not seller_can_sell(listing.seller):
        raise Conflict(seller_cannot_sell_message(listing.seller), code="seller_cannot_sell")
    live = Subscription.objects.filter(buyer=buyer, listing=listing, status__in=LIVE_STATUSES).exists()
    if live:
        raise Conflict("You already subscribe to this. Manage it under Your subscriptions.", code="already_subscribed")
    customer = buyer_customer_ensure(user=buyer)
    # To the minute, so that a slow double click sends the same parameters and the gateway's key
    # (which holds them) gets the same page; 2 minutes more, never under Stripe's 30-minute minimum.
    expires = (timezone.now() + CHECKOUT_LIFETIME + timedelta(minutes=2)).replace(second=0, microsecond=0)
    try:
        session = gateway_subscriptions.subscription_checkout_create(
            user_id=buyer.pk,
            listing_id=listing.pk,
            attempt=attempt,
            customer=customer,
            seller_account=str(listing.seller.stripe_account_id),
            product_name=listing.title,
            unit_amount=listing.price,
            currency=listing.currency,
            interval=plan.interval,
            application_fee_percent=str(fee_percent_for(listing=listing)),
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=int(expires.timestamp()),
        )
    except DomainError as exc:
        raise_if_shop_refused(exc, listing.seller)
        raise
    with transaction.atomic():
        outbox_add(
            "subscriptions.checkouts_close_older",
            customer,
            listing.pk,
            session.id,
            session.created,
            key=f"subscription-checkouts-close-older:{session.id}",
        )
    return SubscribeStart(url=session.url or "", session_id=session.id)


def subscription_checkouts_close_older(*, customer: str, listing_id: int, keep_id: str, keep_created: int) -> int:
    """A newer Subscribe page (`keep_id`) was opened for this buyer and listing: expire at Stripe the
    older ones still open, so that only one can be paid (two tabs would otherwise make two
    subscriptions, each charged every period). "Older" is by (created, id), the same order for every
    page, so two follow-ups running in any order leave exactly the newest open. A page paid or
    expired meanwhile is skipped (Stripe refuses it). Returns how many were expired."""
    closed = 0
    for session in gateway_subscriptions.open_checkouts_of_customer(customer):
        if session.mode != "subscription" or session.metadata.get("listing_id") != str(listing_id):
            continue
        if (session.created, session.id) >= (keep_created, keep_id):
            continue
        try:
            gateway_subscriptions.checkout_expire(session.id)
            closed += 1
        except InvalidInput:
            pass
    return closed


def subscription_checkout_finish(*, buyer: Any, session_id: str) -> Subscription | None:
    """Back from Checkout: re-read the session (never trust the query string), check it is the
    buyer's, and record its subscription now rather than wait for the webhook."""
    customer = StripeCustomer.objects.filter(user=buyer).values_list("stripe_customer_id", flat=True).first()
    try:
        session = gateway_subscriptions.checkout_session_retrieve(session_id)
    except InvalidInput:
        raise NotFound("No such subscription checkout.") from None
    if session.mode != "subscription" or customer is None or session.customer != customer:
        raise NotFound("No such subscription checkout.")
    if not session.subscription:
        return None
    sub = subscription_sync(stripe_subscription_id=session.subscription)
    if session.invoice:
        invoice_sync(stripe_invoice_id=session.invoice)
    return sub


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def subscription_sync(*, stripe_subscription_id: str) -> Subscription | None:
    """Re-read a subscription and mirror it; None when it is not one of ours (no listing of ours in
    its metadata, or a customer we do not know). One active for the first time (its first payment
    made) is told to its buyer and its seller, once; one ended by Stripe after its retries failed
    tells the seller, once."""
    remote = gateway_subscriptions.subscription_retrieve(stripe_subscription_id)
    return _apply(remote)


def _apply(remote: StripeSubscription) -> Subscription | None:
    buyer_id = (
        StripeCustomer.objects.filter(stripe_customer_id=remote.customer).values_list("user_id", flat=True).first()
    )
    try:
        listing_id = int(remote.metadata.get("listing_id", ""))
    except ValueError:
        return None
    listing = Listing.objects.select_related("seller").filter(pk=listing_id).first()
    if buyer_id is None or listing is None or not remote.items.data:
        return None
    destination = remote.transfer_data.destination if remote.transfer_data else None
    if destination != listing.seller.stripe_account_id:
        return None
    item = remote.items.data[0]
    interval = item.price.recurring.interval if item.price.recurring else Interval.MONTH
    ended_for_nonpayment = remote.status == SubscriptionStatus.CANCELED and (
        remote.cancellation_details is not None and remote.cancellation_details.reason == "payment_failed"
    )
    values = {
        "status": remote.status,
        "amount": (item.price.unit_amount or 0) * item.quantity,
        "currency": remote.currency,
        "interval": interval,
        "application_fee_basis_points": round((remote.application_fee_percent or 0) * 100),
        "current_period_end": _ts(item.current_period_end),
        "cancel_at_period_end": remote.cancel_at_period_end,
        "canceled_at": _ts(remote.canceled_at),
        "collection_paused": remote.pause_collection is not None,
        "ended_at": _ts(remote.ended_at),
        "ended_for_nonpayment": ended_for_nonpayment,
    }
    with transaction.atomic():
        # One buyer's subscriptions are mirrored one at a time, so two paid at once each see the other
        # (`earlier_live_twins`).
        list(StripeCustomer.objects.select_for_update().filter(user_id=buyer_id).values_list("pk", flat=True))
        sub = Subscription.objects.select_for_update().filter(stripe_subscription_id=remote.id).first()
        was_active = sub is not None and sub.status in LIVE_STATUSES
        if sub is None:
            try:
                with transaction.atomic():
                    sub = Subscription.objects.create(
                        stripe_subscription_id=remote.id,
                        buyer_id=buyer_id,
                        seller_id=listing.seller_id,
                        listing=listing,
                        title=listing.title,
                        **values,
                    )
            except IntegrityError:  # the webhook and the success page at once: the other one wrote it
                sub = Subscription.objects.select_for_update().get(stripe_subscription_id=remote.id)
                was_active = sub.status in LIVE_STATUSES
        for field, value in values.items():
            setattr(sub, field, value)
        sub.save()
        if not was_active and sub.status == SubscriptionStatus.ACTIVE:  # its first payment made
            outbox_add("subscriptions.email.started_for_buyer", sub.pk, key=f"subscription-started-buyer:{sub.pk}")
            outbox_add("subscriptions.email.started_for_seller", sub.pk, key=f"subscription-started-seller:{sub.pk}")
        if ended_for_nonpayment:
            outbox_add("subscriptions.email.ended_for_seller", sub.pk, key=f"subscription-ended-seller:{sub.pk}")
            outbox_add("subscriptions.email.ended_for_buyer", sub.pk, key=f"subscription-ended-buyer:{sub.pk}")
        if sub.status == SubscriptionStatus.CANCELED:
            outbox_add("subscriptions.void_open_invoices", sub.pk, key=f"subscription-void-open-invoices:{sub.pk}")
        if sub.status in LIVE_STATUSES and not sub.collection_paused and shop_collection_stops(listing.seller):
            _follow_current_pause(sub, listing.seller)
        if sub.status in LIVE_STATUSES:
            _follow_current_fee(sub, listing)
        if sub.status in LIVE_STATUSES and earlier_live_twins(subscription=sub).exists():
            outbox_add("subscriptions.duplicate_cancel", sub.pk, key=f"subscription-duplicate-cancel:{sub.pk}")
        return sub


def subscription_duplicate_cancel(*, subscription_id: int) -> bool:
    """A second live subscription of the same buyer to the same listing (two Checkout pages both paid:
    one opened before older pages were closed, or Stripe unreachable when closing them). The buyer
    meant one: the later one is canceled at Stripe and every payment it took refunded in full, the
    seller's share and our fee taken back, so the ledger and Stripe end as if it never happened; the
    buyer is told. Which one is later is by our row order, the same for every event, so exactly one
    survives. Nothing is done if the earlier one has ended meanwhile. Returns whether it canceled."""
    sub = Subscription.objects.select_related("listing").get(pk=subscription_id)
    if not earlier_live_twins(subscription=sub).exists():
        return False
    if sub.status != SubscriptionStatus.CANCELED:  # a retry after the refunds failed finds it canceled
        _apply(gateway_subscriptions.subscription_cancel(sub.stripe_subscription_id))
    for invoice_id in gateway_subscriptions.invoice_ids_of_subscription(sub.stripe_subscription_id):
        row = invoice_sync(stripe_invoice_id=invoice_id)
        if row is None or row.payment is None:
            continue
        left = payment_refundable(payment=row.payment)
        if left > 0:
            refund_create(
                payment=row.payment,
                amount=left,
                origin=RefundOrigin.LATE_PAYMENT,
                reason=f"A second subscription to {sub.title}: the buyer already subscribes.",
                reverse_transfer=True,
                refund_application_fee=True,
                token=f"subscription-duplicate:{sub.pk}:{invoice_id}",
            )
    with transaction.atomic():
        outbox_add("subscriptions.email.duplicate_for_buyer", sub.pk, key=f"subscription-duplicate-buyer:{sub.pk}")
    return True


SHOP_END, SHOP_KEEP = "end", "keep"


@dataclass(frozen=True)
class ShopChange:
    subscription: Subscription
    changed: bool  # False: it already was as asked (a double click, or a stale page)
    sent: bool  # False: Stripe's answer has not come; the outbox sends it again


def subscription_shop_end(*, seller: Seller, subscription_id: int, end: bool) -> ShopChange:
    """The shop ends a subscriber's subscription at its period end (`end`), or undoes that. The
    buyer keeps the period paid for: nothing is refunded or prorated and nothing more is charged;
    Stripe cancels it when the period ends. Only the shop's own end can be undone by the shop: a
    buyer who canceled in Stripe's portal decided it, and the shop cannot renew it for them.

    Stripe is read first (a buyer's cancellation a moment ago may not have reached us), so nothing
    is sent when it already is as asked. The change is then recorded as pending with its outbox
    follow-up before it is sent, so that Stripe unreachable or an answer lost is sent again with
    the same key and its answer recorded. A paused shop can still end its subscriptions. Another
    shop's subscription is not found."""
    sub = Subscription.objects.filter(pk=subscription_id, seller=seller).first()
    if sub is None:
        raise NotFound("No such subscription.")
    wanted = SHOP_END if end else SHOP_KEEP
    if not sub.shop_pending:
        try:
            _apply(gateway_subscriptions.subscription_retrieve(sub.stripe_subscription_id))
        except PaymentProviderError as exc:
            raise PaymentProviderError(f"{exc.message} Nothing was changed.", code=exc.code) from exc
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if sub.shop_pending and sub.shop_pending != wanted:
            raise Conflict(
                "Your last change to this subscription is still on its way to Stripe; try again in a moment.",
                code="shop_change_pending",
            )
        if not sub.shop_pending:
            if not _shop_change_needed(sub, end):
                return ShopChange(subscription=sub, changed=False, sent=True)
            _shop_change_queue(sub, wanted, read=True)
        change = sub.shop_changes
    try:
        sub = subscription_shop_change_send(subscription_id=sub.pk, change=change)
    except DomainError as exc:
        logger.warning("subscription %s: the shop's change not sent yet (the outbox will retry): %s", sub.pk, exc)
        return ShopChange(subscription=Subscription.objects.get(pk=sub.pk), changed=True, sent=False)
    return ShopChange(subscription=sub, changed=True, sent=True)


def _shop_change_queue(sub: Subscription, wanted: str, *, read: bool) -> None:
    """Record the shop's change as pending with the follow-up that sends it (the caller's transaction,
    the row locked): the follow-up names the change, so it sends it at most once. `read`: the
    caller read Stripe just before (the page's button); otherwise the follow-up reads it first
    (`_shop_change_still_needed`)."""
    sub.shop_pending, sub.shop_pending_read = wanted, read
    sub.save(update_fields=["shop_pending", "shop_pending_read", "updated_at"])
    key = f"subscription-shop-change:{sub.pk}:{sub.shop_changes}"
    outbox_add("subscriptions.shop_change_send", sub.pk, sub.shop_changes, key=key)


def _shop_change_needed(sub: Subscription, end: bool) -> bool:
    """Whether the shop's end (or undo) changes anything, refusing what the shop may not do."""
    if sub.status not in LIVE_STATUSES:
        raise Conflict("This subscription has ended already.", code="subscription_ended")
    if end:
        if sub.status == SubscriptionStatus.PAST_DUE:  # its current period is not paid for
            raise Conflict(
                "Its payment is overdue and Stripe is still trying the card: it can be ended at its period end "
                "once paid, and Stripe ends it if its retries fail.",
                code="past_due",
            )
        if sub.ended_by == "buyer":
            raise Conflict(
                f"The buyer canceled it already: it ends on {date_filter(sub.current_period_end, 'j M Y')}.",
                code="canceled_by_buyer",
            )
        return not sub.cancel_at_period_end
    if sub.ended_by == "buyer":
        raise Conflict(
            "The buyer canceled this subscription themselves, on Stripe's billing page: only they can keep it.",
            code="canceled_by_buyer",
        )
    return sub.cancel_at_period_end


def subscription_shop_change_send(*, subscription_id: int, change: int) -> Subscription:
    """Send the shop's pending change number `change` (see `subscription_shop_end`) to Stripe and
    record its answer: who ended it (Stripe's `canceled_at` in the answer, which a buyer's own
    cancellation does not share), and the buyer's email, once per change. The key names the change,
    so a retry is one update at Stripe and an end, its undo and a second end are three. Done already:
    nothing. One Stripe refuses (it ended meanwhile) is mirrored and the change dropped."""
    sub = Subscription.objects.get(pk=subscription_id)
    if not sub.shop_pending or sub.shop_changes != change:
        return sub
    if not sub.shop_pending_read and not _shop_change_still_needed(subscription_id=sub.pk, change=change):
        return Subscription.objects.get(pk=subscription_id)
    end = sub.shop_pending == SHOP_END
    try:
        remote: StripeSubscription | None = gateway_subscriptions.subscription_cancel_at_period_end_set(
            subscription_id=sub.stripe_subscription_id, end=end, change=f"{sub.pk}-{change}"
        )
    except InvalidInput:
        remote = None
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if not sub.shop_pending or sub.shop_changes != change:  # a double click's twin recorded it
            return sub
        sub.shop_pending = ""
        sub.shop_changes = change + 1  # a refused change is used up too: the next has its own key
        if remote is None:
            sub.save(update_fields=["shop_pending", "shop_changes", "updated_at"])
            return subscription_sync(stripe_subscription_id=sub.stripe_subscription_id) or sub
        sub.shop_canceled_at = _ts(remote.canceled_at) if end else None
        sub.save(update_fields=["shop_pending", "shop_changes", "shop_canceled_at", "updated_at"])
        name, said = ("shop_ended", "ended") if end else ("shop_kept", "kept")
        outbox_add(f"subscriptions.email.{name}", sub.pk, key=f"subscription-shop-{said}-buyer:{sub.pk}:{change}")
        return _apply(remote) or sub


def _shop_change_still_needed(*, subscription_id: int, change: int) -> bool:
    """Before the first send of a change made without reading Stripe (a listing sold once again ends
    its subscriptions in the plan's transaction), Stripe is read: a buyer who canceled in the portal a
    moment before, whose webhook has not come, keeps the cancellation theirs (sent, the shop's
    request would have Stripe stamp its own time as `canceled_at`, naming it the shop's). A change no
    longer needed, or not the shop's to make, is dropped, its number used up; one still needed is
    marked read, so that a retry after a send goes with the same key unread (Stripe's replayed answer
    names the shop's end). Stripe unreachable raises: the outbox tries again."""
    remote = gateway_subscriptions.subscription_retrieve(
        Subscription.objects.get(pk=subscription_id).stripe_subscription_id
    )
    _apply(remote)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription_id)
        if not sub.shop_pending or sub.shop_changes != change:
            return False
        try:
            needed = _shop_change_needed(sub, sub.shop_pending == SHOP_END)
        except Conflict:
            needed = False
        if needed:
            sub.shop_pending_read = True
            sub.save(update_fields=["shop_pending_read", "updated_at"])
        else:
            sub.shop_pending, sub.shop_changes = "", change + 1
            sub.save(update_fields=["shop_pending", "shop_changes", "updated_at"])
        return needed


def subscriptions_shop_end_of_listing(*, listing: Listing) -> int:
    """The shop sells `listing` once again and ends its live subscriptions at their period end: each
    not already ending is marked pending with its own outbox follow-up (in the caller's transaction),
    so Stripe unreachable delays them and loses none. Returns how many."""
    ending = 0
    live = Subscription.objects.select_for_update().filter(
        listing=listing, status__in=LIVE_STATUSES, cancel_at_period_end=False
    )
    for sub in live.order_by("pk"):
        if sub.shop_pending == SHOP_END:
            ending += 1
            continue
        if sub.shop_pending:
            continue
        _shop_change_queue(sub, SHOP_END, read=False)
        ending += 1
    return ending


def shop_collection_stops(seller: Seller) -> bool:
    """Do the shop's subscriptions charge nothing now? While it cannot take payments: paused here, or
    disabled by Stripe (charges not enabled, `transfers` inactive: Stripe refuses any destination
    charge to it, so a renewal would fail as if the buyer's card had, be retried, and end the
    subscription for nonpayment), or disconnected (`seller_can_sell`)."""
    return not seller_can_sell(seller)


def _follow_current_pause(sub: Subscription, seller: Seller) -> None:
    """A subscription that became live while its shop cannot take payments (a Checkout page opened
    before a pause, or before Stripe disabled the shop, and paid after): the change's follow-up ran
    before it existed, so run it again for the current change, once per subscription, so its
    renewals are voided like the shop's others. The change is the latest pause here, else the read
    of the account that found Stripe's state (`stripe:<time>`, as `sellers.services` names it)."""
    change: str | None = None
    if seller.paused_at is not None:
        entry = (
            SellerModerationEntry.objects.filter(seller_id=seller.pk, action=SellerModerationEntry.Action.PAUSE)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
            .first()
        )
        change = str(entry) if entry is not None else None
    if change is None:
        updated = seller.stripe_state_updated_at
        change = f"stripe:{updated.isoformat() if updated else 'never'}"
    key = f"subscription-follow-pause:{sub.pk}:{change}"
    outbox_add("subscriptions.follow_seller_pause", sub.seller_id, change, key=key)


def subscriptions_follow_seller_pause(*, seller_id: int, change: str) -> int:
    """The platform paused or unpaused the seller's shop, or Stripe disabled or enabled it (`change`
    names which: a moderation entry, or `stripe:<time>` of the account's read): its live
    subscriptions stop or start charging at renewal to match. A shop that cannot take payments cannot
    provide what a renewal would charge for, and Stripe would refuse the charge to it anyway, so
    Stripe voids each renewal's invoice meanwhile (`pause_collection`); the subscriptions stay active
    and resume when the shop can sell again. The shop's state is read now, so a late follow-up of an
    earlier change sets what holds today. Returns how many subscriptions changed."""
    paused = shop_collection_stops(Seller.objects.get(pk=seller_id))
    changing = Subscription.objects.filter(seller_id=seller_id, status__in=LIVE_STATUSES).exclude(
        collection_paused=paused
    )
    changed = 0
    for sub in changing.order_by("pk"):
        remote = gateway_subscriptions.subscription_collection_pause(
            subscription_id=sub.stripe_subscription_id, paused=paused, change=change
        )
        _apply(remote)
        changed += 1
    return changed


def _follow_current_fee(sub: Subscription, listing: Listing) -> None:
    """A live subscription whose percent is not the fee policy's today: one paid on a Checkout page
    opened before the policy changed (the change's follow-up ran before it existed). It takes the
    policy's percent like the others, once per subscription and percent."""
    basis_points = _fee_basis_points(listing)
    if basis_points != sub.application_fee_basis_points:
        outbox_add(
            "subscriptions.follow_fee_policy",
            sub.currency,
            f"subscription-{sub.pk}-{basis_points}",
            sub.pk,
            key=f"subscription-follow-fee:{sub.pk}:{basis_points}",
        )


def subscriptions_follow_fee_policy(*, currency: str, change: str, subscription_id: int | None = None) -> int:
    """The fee policy changed for `currency` (`change` names the change: a rule saved or deleted): each
    live subscription whose percent is not what the policy says today for its listing takes it at
    Stripe, from its next invoice; invoices already paid keep their fee, as past orders do. The policy
    is read now, so a late follow-up of an earlier change sets what holds today. `subscription_id`:
    that one only. Returns how many changed."""
    live = Subscription.objects.filter(currency=currency, status__in=LIVE_STATUSES).select_related("listing")
    if subscription_id is not None:
        live = live.filter(pk=subscription_id)
    changed = 0
    for seller_id, group in groupby(live.order_by("seller_id", "pk"), key=attrgetter("seller_id")):
        subs = list(group)
        rules = rules_for(seller_id=seller_id, currency=currency, category_ids={s.listing.category_id for s in subs})
        for sub in subs:
            basis_points = rules[sub.listing.category_id].basis_points
            if basis_points == sub.application_fee_basis_points:
                continue
            remote = gateway_subscriptions.subscription_fee_percent_set(
                subscription_id=sub.stripe_subscription_id, percent=str(_percent(basis_points)), change=change
            )
            _apply(remote)
            changed += 1
    return changed


def subscription_open_invoices_void(*, subscription_id: int) -> int:
    """The subscription has ended: void its invoices still open at Stripe. Stripe stops retrying them
    but leaves them payable on their hosted page, the link our payment-failed email gave, so a buyer
    could pay for a period that never comes after being told nothing more is charged. One paid
    meanwhile is kept (Stripe refuses the void) and mirrored as paid. Returns how many were voided."""
    voided = 0
    open_ids = SubscriptionInvoice.objects.filter(subscription_id=subscription_id, status="open")
    for invoice_id in list(open_ids.values_list("stripe_invoice_id", flat=True)):
        try:
            gateway_subscriptions.invoice_void(invoice_id)
            voided += 1
        except InvalidInput:  # paid or voided meanwhile: the re-read below says which
            pass
        invoice_sync(stripe_invoice_id=invoice_id)
    return voided


def _paid_charge(invoice: Invoice) -> Charge | None:
    for payment in invoice.payments.data if invoice.payments else []:
        intent = payment.payment.payment_intent
        if payment.status == "paid" and isinstance(intent, PaymentIntent) and isinstance(intent.latest_charge, Charge):
            return intent.latest_charge
    return None


def invoice_sync(*, stripe_invoice_id: str) -> SubscriptionInvoice | None:
    """Re-read an invoice and mirror it; a paid one's charge is recorded and posted like any charge."""
    return _invoice_apply(gateway_subscriptions.invoice_retrieve(stripe_invoice_id))


def _invoice_apply(invoice: Invoice) -> SubscriptionInvoice | None:
    if invoice.subscription is None:
        return None
    sub = Subscription.objects.filter(stripe_subscription_id=invoice.subscription).first()
    if sub is None:
        sub = subscription_sync(stripe_subscription_id=invoice.subscription)
        if sub is None:
            return None
    charge = _paid_charge(invoice) if invoice.status == "paid" else None
    with transaction.atomic():
        payment = payment_record_charge(charge=charge) if charge is not None else None
        row, _ = SubscriptionInvoice.objects.select_for_update().get_or_create(
            stripe_invoice_id=invoice.id,
            defaults={
                "subscription": sub,
                "status": invoice.status or "draft",
                "amount_due": invoice.amount_due,
                "currency": invoice.currency,
                "created_at": _ts(invoice.created),
            },
        )
        row.status = invoice.status or row.status
        row.amount_due = invoice.amount_due
        row.amount_paid = invoice.amount_paid
        row.hosted_invoice_url = invoice.hosted_invoice_url or ""
        row.payment = payment or row.payment
        row.save()
        return row


def invoice_payment_failed(*, stripe_invoice_id: str) -> SubscriptionInvoice | None:
    """A renewal was declined: the subscription is past due; the buyer gets the invoice's page to
    pay it (one email per attempt). The first payment failing in Checkout is the buyer's to see
    there: no email. Nor while the shop cannot take payments: Stripe refuses any charge to it, so
    the attempt failed whatever the card, and its page would refuse the buyer's payment too."""
    invoice = gateway_subscriptions.invoice_retrieve(stripe_invoice_id)
    row = _invoice_apply(invoice)
    if row is None or row.status != "open":
        return row
    sub = subscription_sync(stripe_subscription_id=row.subscription.stripe_subscription_id)
    if sub is None or sub.status == SubscriptionStatus.INCOMPLETE or shop_collection_stops(sub.seller):
        return row
    key = f"subscription-payment-failed:{row.pk}:{invoice.attempt_count}"
    outbox_add("subscriptions.email.payment_failed", row.pk, key=key)
    return row


def invoice_action_required(*, stripe_invoice_id: str) -> SubscriptionInvoice | None:
    """A renewal needs the buyer's bank to confirm it's them (3-D Secure): email the invoice's page."""
    row = invoice_sync(stripe_invoice_id=stripe_invoice_id)
    if row is None or row.status != "open":
        return row
    sub = subscription_sync(stripe_subscription_id=row.subscription.stripe_subscription_id)
    if sub is None or sub.status == SubscriptionStatus.INCOMPLETE:
        return row
    outbox_add("subscriptions.email.action_required", row.pk, key=f"subscription-action-required:{row.pk}")
    return row


def billing_portal_url(*, user: Any, return_url: str, visit: str) -> str:
    """Stripe's customer portal for this buyer (cancel, change card, invoices), returning to us."""
    customer = StripeCustomer.objects.filter(user=user).values_list("stripe_customer_id", flat=True).first()
    if customer is None:
        raise NotFound("You have no subscriptions yet.")
    return gateway_subscriptions.billing_portal_session_create(
        customer=customer, return_url=return_url, visit=visit
    ).url


def subscription_payment_refund(
    *,
    invoice: SubscriptionInvoice,
    actor: Any,
    origin: str,
    amount: int | None,
    reason: str,
    reverse_transfer: bool = True,
    token: str = "",
    whole_share_ok: bool = True,
) -> Refund:
    """Refund `amount` (None: all that is left) of a paid subscription invoice's payment, with the
    machinery of order refunds: the row written under the payment's lock (never more than is left),
    then sent to Stripe keyed by that row, its token and the amount, the seller's share taken back
    and our fee given back as the policy says (`refund_create`), and posted from Stripe's answer.

    `token` names the submission (the form's hidden token): the same token on the same payment
    returns the refund it made first, so a double click makes one refund. A payment the buyer's
    bank disputed is refused before anything is written (Stripe refuses its refunds). Stripe
    unreachable leaves the refund "sending" with nothing posted, and the outbox sends it later; the
    returned refund says which (created, pending, succeeded, or failed with a sentence). The
    subscription itself goes on: the buyer cancels it in Stripe's portal, or the shop ends it at its
    period end (`subscription_shop_end`). `whole_share_ok`: as `orders.services.refunds.order_refund`
    says."""
    if invoice.payment_id is None:
        raise Conflict("Only a paid subscription payment can be refunded.", code="not_paid")
    if amount is not None and (type(amount) is not int or amount <= 0):
        raise InvalidInput("A refund must be a positive amount.", code="invalid_amount")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=invoice.payment_id)
        made = Refund.objects.filter(payment=payment, order__isnull=True, token=token).first() if token else None
        if made is None:
            if charge_disputed(payment):
                raise Conflict(charged_back_for_seller(payment), code="charge_disputed")
            left = payment_refundable(payment=payment)
            if left <= 0:
                raise Conflict("This payment has been refunded in full already.", code="nothing_to_refund")
            made = refund_create(
                payment=payment,
                amount=left if amount is None else amount,
                origin=origin,
                reason=reason,
                reverse_transfer=reverse_transfer,
                created_by=actor if getattr(actor, "pk", None) else None,
                token=token,
                whole_share_ok=whole_share_ok,
            )
    try:
        return refund_submit(refund_id=made.pk)
    except DomainError as exc:
        logger.warning("refund %s not sent yet (the outbox will retry): %s", made.pk, exc.message)
        return Refund.objects.get(pk=made.pk)


def subscription_follow_refund(refund: Refund) -> None:
    """`payments` recorded a change of `refund` (inside its transaction): a refund of a subscription
    payment, ours or made in the Stripe Dashboard, emails the buyer once when it goes through, and
    the buyer and the seller once if it fails after it was sent. A duplicate's refund has its own
    email (`subscription_duplicate_cancel`)."""
    if refund.order_id is not None or not refund.stripe_refund_id or refund.origin == RefundOrigin.LATE_PAYMENT:
        return
    if not SubscriptionInvoice.objects.filter(payment_id=refund.payment_id).exists():
        return
    if refund.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED):
        outbox_add("subscriptions.email.refund_made", refund.pk, key=f"subscription-refund-made:{refund.pk}")
    elif refund.status == RefundStatus.FAILED:
        outbox_add("subscriptions.email.refund_failed", refund.pk, key=f"subscription-refund-failed:{refund.pk}")
