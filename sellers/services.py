"""Writes about sellers: creating the shop and its Express account, links, mirroring Stripe's state,
pausing. The mirrored Stripe columns are written by `seller_refresh_from_stripe` (a fresh read of the
account, newest read wins) and cleared by `seller_mark_disconnected`; every write recomputes the
denormalised `status` (see sellers/models.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.errors import Conflict, InvalidInput
from marketplace.gateway import accounts as stripe_accounts
from marketplace.gateway.types import Account, AccountLink
from marketplace.outbox.services import outbox_add
from marketplace.text import (
    DIRECTION_CONTROLS_REFUSED,
    has_direction_controls,
    lookalike_from_another_alphabet,
    on_one_line,
    shows_something,
)
from sellers.models import (
    SHOP_NAME_LOOKALIKE,
    SHOP_NAME_TAKEN,
    STRIPE_MIRROR_FIELDS,
    Seller,
    SellerModerationEntry,
    SellerStatus,
    ShopNameLook,
    shop_name_key,
    shop_name_looks,
)
from sellers.selectors import seller_can_sell
from sellers.status import derive_status

logger = logging.getLogger(__name__)

# The countries we onboard and the payout currencies Stripe accepts for each (first = default).
SUPPORTED_COUNTRIES: dict[str, tuple[str, list[str]]] = {
    "US": ("United States", ["usd"]),
    "JP": ("Japan", ["jpy"]),
    "GB": ("United Kingdom", ["gbp", "eur", "usd"]),
    "FR": ("France", ["eur", "usd", "gbp"]),
    "DE": ("Germany", ["eur", "usd", "gbp"]),
    "IE": ("Ireland", ["eur", "usd", "gbp"]),
    "CA": ("Canada", ["cad", "usd"]),
    "AU": ("Australia", ["aud"]),
}

ACTION_STATUSES = frozenset({SellerStatus.ACTION_REQUIRED, SellerStatus.RESTRICTED})
# Stripe's own holds on an onboarded shop (not the marketplace's pause, nor a closed or disconnected account).
STRIPE_HOLD_STATUSES = ACTION_STATUSES | {SellerStatus.PENDING_VERIFICATION}

# Characters that draw nothing: spaces, format characters (zero-width space and joiners, direction
# marks, the byte-order mark) and control characters; and marks, which draw only on a character
# before them (a combining grapheme joiner or a variation selector draws nothing at all).
SHOP_NAME_INVISIBLE = "Give your shop a name people can see: at least one letter, digit or sign."
SHOP_NAME_ONE_LINE = "Keep the shop name on one line, without tabs or other control characters."


def shop_name_mixed_alphabets(shop_name: str) -> str | None:
    """Why the name is refused when one of its words mixes letters of two alphabets drawn alike
    (`marketplace.text.lookalike_from_another_alphabet`: "Paypal" with a Cyrillic "a"), naming
    the letter; None when it does not. A word wholly in one alphabet is for the shops' looks
    (`sellers.models.shop_name_looks`)."""
    found = lookalike_from_another_alphabet(shop_name)
    if found is None:
        return None
    letter, alphabet, looks_like = found
    return (
        f"This name mixes {looks_like} letters with {alphabet} ones that look the same (\u201c{letter}\u201d),"
        " so buyers could take it for another name. Write each word in one alphabet."
    )


def _refresh_status(seller: Seller) -> SellerStatus:
    seller.status = derive_status(seller)
    return seller.status


def _close_checkouts_if_stopped(seller: Seller, *, could_sell: bool) -> None:
    """A seller who could sell and now cannot (paused, disconnected, charges disabled by Stripe):
    an outbox follow-up expires their open Checkout Sessions at Stripe, so a session made before
    cannot be paid afterwards (the orders app does it; a payment that still lands is refunded)."""
    if could_sell and not seller_can_sell(seller):
        outbox_add("orders.close_checkouts_of_seller", seller.pk)


# --- Start selling -----------------------------------------------------------------------------------


def shop_name_visible(shop_name: str) -> bool:
    """Does the name show anything? A blank one showed buyers, the console and Stripe's business
    name a blank shop (`marketplace.text.shows_something`)."""
    return shows_something(shop_name)


def shop_name_refusal(shop_name: str) -> tuple[str, str] | None:
    """Why a shop may not take this name, whoever names it (the seller's form and API, the admin's
    rename): its code and sentence, or None. The comparisons with other shops' names are not here:
    the unique keys make those (`shop_name_taken`, `shop_name_lookalike`)."""
    if not shop_name_visible(shop_name):
        return "shop_name_invisible", SHOP_NAME_INVISIBLE
    if not on_one_line(shop_name):  # it goes into email subjects: see `marketplace.text.on_one_line`
        return "shop_name_one_line", SHOP_NAME_ONE_LINE
    if has_direction_controls(shop_name):
        return "shop_name_direction_controls", DIRECTION_CONTROLS_REFUSED
    if mixed := shop_name_mixed_alphabets(shop_name):
        return "shop_name_mixed_scripts", mixed
    return None


def country_name(country: str) -> str:
    """The name the Start selling form showed for a supported country ("Japan"), else the code itself."""
    return SUPPORTED_COUNTRIES[country][0] if country in SUPPORTED_COUNTRIES else country


def currencies_of(country: str) -> list[str]:
    """The payout currencies of a supported country, its own first ([] for another country)."""
    return SUPPORTED_COUNTRIES[country][1] if country in SUPPORTED_COUNTRIES else []


def shop_name_taken(*, shop_name: str, user: Any) -> bool:
    """Does another user's shop read as this name (`sellers.models.shop_name_key`)?"""
    return Seller.objects.filter(shop_name_key=shop_name_key(shop_name)).exclude(user=user).exists()


def shop_name_lookalike(*, shop_name: str, user: Any) -> bool:
    """Does another user's shop look like this name, as written, in capitals or in small letters
    (`sellers.models.shop_name_looks`)?"""
    looks = ShopNameLook.objects.filter(look__in=shop_name_looks(shop_name))
    return looks.exclude(seller__user=user).exists()


def seller_create(*, user: Any, shop_name: str, country: str, default_currency: str = "") -> Seller:
    """Create the user's seller profile and its Express account; safe to call twice (double submit).

    A blank `default_currency` is the country's own, its first payout currency (USD in the US, JPY
    in Japan): the Start selling form's "The country's own currency" and the API's left-out one.

    A name another shop already has, read as people read it, is refused (`shop_name_taken`), and so
    is one that looks like another shop's, seen as people see it (`shop_name_lookalike`: "KOT" in
    Cyrillic capitals for "Kot", or for "kit"), or one mixing lookalike letters of two alphabets in a word
    (`shop_name_mixed_alphabets`); the unique indexes on `shop_name_key` and on the shops' looks
    (`sellers.models.ShopNameLook`) settle two shops named alike at once. The profile is unique
    per user, so a second submit finds the first row; the Stripe account is
    created under a row lock with an idempotency key from the seller id, so both submits end with
    the one account.
    """
    shop_name = shop_name.strip()
    country = country.upper()
    default_currency = default_currency.lower()
    if not shop_name:
        raise InvalidInput("Give your shop a name.", code="shop_name_missing")
    if refused := shop_name_refusal(shop_name):
        raise InvalidInput(refused[1], code=refused[0])
    if country not in SUPPORTED_COUNTRIES:
        raise InvalidInput("We can't onboard sellers from this country yet.", code="country_unsupported")
    default_currency = default_currency or SUPPORTED_COUNTRIES[country][1][0]
    if default_currency not in SUPPORTED_COUNTRIES[country][1]:
        raise InvalidInput(
            f"Payouts in {default_currency.upper()} are not available in {SUPPORTED_COUNTRIES[country][0]}.",
            code="currency_unsupported",
        )
    if shop_name_taken(shop_name=shop_name, user=user):
        raise InvalidInput(SHOP_NAME_TAKEN, code="shop_name_taken")
    if shop_name_lookalike(shop_name=shop_name, user=user):
        raise InvalidInput(SHOP_NAME_LOOKALIKE, code="shop_name_lookalike")
    try:
        seller, _ = Seller.objects.get_or_create(
            user=user, defaults={"shop_name": shop_name, "country": country, "default_currency": default_currency}
        )
    except IntegrityError:  # the other submit inserted between our get and create, or another shop the name
        found = Seller.objects.filter(user=user).first()
        if found is None:  # another shop took the name, or a look of it, since the checks above: say which
            if shop_name_lookalike(shop_name=shop_name, user=user) and not shop_name_taken(
                shop_name=shop_name, user=user
            ):
                raise InvalidInput(SHOP_NAME_LOOKALIKE, code="shop_name_lookalike") from None
            raise InvalidInput(SHOP_NAME_TAKEN, code="shop_name_taken") from None
        seller = found
    return seller_stripe_account_ensure(seller=seller)


def seller_stripe_account_ensure(*, seller: Seller) -> Seller:
    """Make sure the seller has its Express account (creates it at most once).

    The row lock is held across the Stripe call on purpose: it serialises a double click, so the
    second request waits and then sees the account id instead of racing the first.
    """
    with transaction.atomic():
        locked = Seller.objects.select_for_update().select_related("user").get(pk=seller.pk)
        if locked.stripe_account_id:
            return locked
        account = stripe_accounts.account_create_express(
            seller_id=locked.pk,
            country=locked.country,
            default_currency=locked.default_currency,
            email=locked.user.email,
            business_name=locked.shop_name,
        )
        locked.stripe_account_id = account.id
        locked.save(update_fields=["stripe_account_id"])
        _apply_account(locked, account, timezone.now())
        return locked


# --- Links ---------------------------------------------------------------------------------------------


def seller_onboarding_link_create(*, seller: Seller, refresh_url: str, return_url: str) -> AccountLink:
    """A fresh hosted-onboarding link (`account_onboarding`), for a first onboarding or to collect
    what Stripe asks for later.

    Never `account_update`: Stripe only makes those for accounts whose platform collects the
    requirements (Custom); an Express account has the Stripe-hosted dashboard, which is where its
    owner updates details (`seller_dashboard_link_create`). An onboarding link on an onboarded
    Express account collects exactly what is currently due."""
    if seller.disconnected_at is not None:
        raise Conflict("Your Stripe account is disconnected from the marketplace.", code="seller_disconnected")
    seller = seller_stripe_account_ensure(seller=seller)
    assert seller.stripe_account_id is not None
    return stripe_accounts.account_link_create(
        account_id=seller.stripe_account_id,
        link_type="account_onboarding",
        refresh_url=refresh_url,
        return_url=return_url,
    )


def seller_dashboard_link_create(*, seller: Seller) -> str:
    """A login link to the Express dashboard; Stripe only makes them once onboarding was completed."""
    if seller.disconnected_at is not None:
        raise Conflict("Your Stripe account is disconnected from the marketplace.", code="seller_disconnected")
    if seller.stripe_account_id and not seller.details_submitted:
        seller = seller_refresh_from_stripe(seller=seller)  # the webhook may not have arrived yet
    if not seller.stripe_account_id or not seller.details_submitted:
        raise Conflict("Finish onboarding with Stripe first.", code="onboarding_incomplete")
    return stripe_accounts.login_link_create(account_id=seller.stripe_account_id)


# --- Mirroring Stripe's state ------------------------------------------------------------------------


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _requirements(account: Account) -> dict[str, Any]:
    """The requirements as the seller row stores them (`sellers.models.empty_requirements`)."""
    reqs = account.requirements
    return {
        "currently_due": list(reqs.currently_due),
        "eventually_due": list(reqs.eventually_due),
        "past_due": list(reqs.past_due),
        "pending_verification": list(reqs.pending_verification),
        "errors": [{"code": e.code, "reason": e.reason, "requirement": e.requirement} for e in reqs.errors],
    }


def _apply_account(seller: Seller, account: Account, snapshot_at: datetime) -> None:
    """Called with the row locked, so `before_*` is the state the previous read left: the emails are decided
    from that transition. An event redelivered, replayed or late re-reads the account and finds the state it
    already mirrored, so it queues nothing (and a stale read never gets here: `_sync`).

    "Payments back": Stripe held back an onboarded shop (payments or payouts disabled: restricted, things
    past due, or verifying what the seller sent for it) and now lets it sell; the first onboarding has its
    own email ("ready to sell", keyed once per seller). A shop the marketplace has paused stays paused, so
    it is told nothing now; the unpause's email says it is open again."""
    before_status = seller.status
    could_sell = seller_can_sell(seller)
    held_by_stripe = before_status in STRIPE_HOLD_STATUSES and not (seller.charges_enabled and seller.payouts_enabled)
    before_deadline = seller.current_deadline
    seller.details_submitted = account.details_submitted
    seller.charges_enabled = account.charges_enabled
    seller.payouts_enabled = account.payouts_enabled
    seller.capabilities = dict(account.capabilities)
    seller.requirements = _requirements(account)
    seller.current_deadline = _ts(account.requirements.current_deadline)
    seller.disabled_reason = account.requirements.disabled_reason or ""
    if seller.charges_enabled and seller.charges_first_enabled_at is None:
        seller.charges_first_enabled_at = snapshot_at
    seller.stripe_state_updated_at = snapshot_at
    status = _refresh_status(seller)
    fields = [*STRIPE_MIRROR_FIELDS, "status"]
    if status == SellerStatus.ACTIVE and seller.onboarding_completed_at is None:
        seller.onboarding_completed_at = timezone.now()
        fields.append("onboarding_completed_at")
        outbox_add("sellers.email.onboarding_complete", seller.pk, key=f"seller-onboarding-complete:{seller.pk}")
    elif status == SellerStatus.ACTIVE and held_by_stripe:
        key = f"seller-payments-back:{seller.pk}:{snapshot_at.isoformat()}"  # one per transition: the read that saw it
        outbox_add("sellers.email.payments_back", seller.pk, key=key)
    elif (
        status in ACTION_STATUSES
        and seller.details_submitted
        and seller.due_count
        and (before_status != status or before_deadline != seller.current_deadline)
    ):
        outbox_add("sellers.email.action_required", seller.pk)
    seller.save(update_fields=fields)
    _close_checkouts_if_stopped(seller, could_sell=could_sell)
    if could_sell != seller_can_sell(seller) and seller.paused_at is None:
        # Stripe disabled or enabled the shop: its subscriptions stop or start charging to match, as for
        # a pause here (`subscriptions.services.subscriptions_follow_seller_pause`); the change is this read.
        change = f"stripe:{snapshot_at.isoformat()}"
        key = f"seller-collection:{seller.pk}:{change}"
        outbox_add("subscriptions.follow_seller_pause", seller.pk, change, key=key)
    if before_status != status:
        logger.info("seller %s status %s -> %s", seller.pk, before_status, status)


def _sync(seller: Seller, account: Account, snapshot_at: datetime) -> bool:
    """Mirror one read of the Express account onto the seller row; False if it was stale. Either
    way `seller` leaves with the row's state, so a caller that decides from it (the dashboard
    link, the console) never reads the copy it loaded before a newer read landed.

    Out-of-order safety, chosen: the webhook handlers use events only as a trigger and re-read the
    account through the gateway, so what arrives here is Stripe's state at the time of reading,
    never an old event payload. Two readers (two workers, or the return page and a handler) can
    still race, so each read carries the moment it started and the row, locked, keeps the newest:
    `stripe_state_updated_at` only moves forward.
    """
    if account.id != seller.stripe_account_id:
        raise ValueError("the account does not belong to this seller")
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.stripe_state_updated_at and snapshot_at < locked.stripe_state_updated_at:
            logger.info("seller %s: ignoring a stale account snapshot", seller.pk)
            _copy_state(locked, seller)
            return False
        _apply_account(locked, account, snapshot_at)
    _copy_state(locked, seller)
    return True


def _copy_state(src: Seller, dst: Seller) -> None:
    for field in src._meta.concrete_fields:
        setattr(dst, field.attname, getattr(src, field.attname))


def seller_refresh_from_stripe(*, seller: Seller) -> Seller:
    """Read the account from Stripe now and mirror it (the return page and every webhook use this,
    so the status is right even before, or without, the webhook)."""
    if not seller.stripe_account_id or seller.disconnected_at is not None:
        return seller
    read_at = timezone.now()  # before the request: the state returned is at least this fresh
    try:
        account = stripe_accounts.account_retrieve(seller.stripe_account_id)
    except stripe_accounts.AccountAccessRevoked:
        return seller_mark_disconnected(seller=seller)
    _sync(seller, account, read_at)
    return seller


def seller_mark_disconnected(*, seller: Seller) -> Seller:
    """`account.application.deauthorized`: the seller removed the platform's access. Final: no later
    account snapshot can bring the seller back (derive_status puts disconnected first)."""
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.disconnected_at is None:
            could_sell = seller_can_sell(locked)
            locked.disconnected_at = timezone.now()
            locked.charges_enabled = False
            locked.payouts_enabled = False
            _refresh_status(locked)
            locked.save(update_fields=["disconnected_at", "charges_enabled", "payouts_enabled", "status"])
            _close_checkouts_if_stopped(locked, could_sell=could_sell)
    _copy_state(locked, seller)
    return seller


# --- Platform moderation --------------------------------------------------------------------------


def seller_pause(*, seller: Seller, actor: Any, reason: str) -> Seller:
    """Hide the seller's listings and refuse checkout of their items, with who, when and why; their
    open Checkout Sessions are expired at Stripe (an outbox follow-up), so none can be paid after,
    and their subscriptions charge nothing until the unpause (another follow-up). The seller is
    emailed the reason (a third), as their shop vanished from buyers' sight at once."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the seller is paused; the seller and other admins will read it.")
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.paused_at is not None:
            raise Conflict("This seller is already paused.", code="already_paused")
        could_sell = seller_can_sell(locked)
        locked.paused_at = timezone.now()
        locked.paused_by = actor
        locked.pause_reason = reason
        _refresh_status(locked)
        locked.save(update_fields=["paused_at", "paused_by", "pause_reason", "status"])
        entry = SellerModerationEntry.objects.create(
            seller=locked, action=SellerModerationEntry.Action.PAUSE, reason=reason, actor=actor
        )
        _close_checkouts_if_stopped(locked, could_sell=could_sell)
        outbox_add("subscriptions.follow_seller_pause", locked.pk, entry.pk)
        outbox_add("sellers.email.paused", locked.pk, entry.pk)
    _copy_state(locked, seller)
    return seller


def seller_unpause(*, seller: Seller, actor: Any, reason: str) -> Seller:
    """Show the seller's listings again (if Stripe lets the shop sell) and let their subscriptions
    charge again; the reason is for the history, and the seller is emailed where their shop stands."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the seller is unpaused.")
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.paused_at is None:
            raise Conflict("This seller is not paused.", code="not_paused")
        locked.paused_at = None
        locked.paused_by = None
        locked.pause_reason = ""
        _refresh_status(locked)
        locked.save(update_fields=["paused_at", "paused_by", "pause_reason", "status"])
        entry = SellerModerationEntry.objects.create(
            seller=locked, action=SellerModerationEntry.Action.UNPAUSE, reason=reason, actor=actor
        )
        outbox_add("subscriptions.follow_seller_pause", locked.pk, entry.pk)
        outbox_add("sellers.email.unpaused", locked.pk)
    _copy_state(locked, seller)
    return seller


# --- Reminders ------------------------------------------------------------------------------------------


def seller_deadline_reminder_queue(*, seller: Seller) -> bool:
    """Claim the reminder for the seller's current deadline and queue its email in the same
    transaction (the outbox), so a claimed reminder is never lost; False if already claimed (one
    per deadline)."""
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.current_deadline is None or locked.reminder_sent_for_deadline == locked.current_deadline:
            return False
        locked.reminder_sent_for_deadline = locked.current_deadline
        locked.save(update_fields=["reminder_sent_for_deadline"])
        outbox_add("sellers.email.deadline_reminder", locked.pk)
    return True
