"""The seller's status, derived in one pure function from what Stripe and the platform said.

Order matters and reads as a sentence: a seller who disconnected is disconnected whatever Stripe
last said; a seller we paused is paused; an account Stripe rejected is rejected; an account whose
owner has not finished the hosted form is still onboarding, and so is one whose owner submitted it
but left things for later and that Stripe has never yet let take payments (a new account's
requirements are all `past_due` with `disabled_reason = requirements.past_due` from the start: Stripe
needs them "to enable the account", which is not "overdue" in any sense a new seller would read);
an account Stripe disabled for a reason other than "we are verifying" is restricted; an account with
things due (but still enabled) needs action, usually by a deadline; an account with nothing due but
not yet charging is waiting for Stripe's verification; everything on is active.

`status_message` turns the same fields into what the seller reads (the Sell pages, the console's
copy of it, the API and the action-required email): a headline, a sentence and the next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, timezone

from sellers.models import SellerStatus
from sellers.requirements import disabled_reason_sentence

PENDING_REASONS = frozenset({"requirements.pending_verification", "under_review"})
PAST_DUE = "requirements.past_due"


@dataclass(frozen=True)
class StripeState:
    """The columns the status depends on (a Seller satisfies this shape too)."""

    stripe_account_id: str | None
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool
    requirements: dict[str, Any]
    current_deadline: datetime | None
    disabled_reason: str
    paused_at: datetime | None
    disconnected_at: datetime | None
    charges_first_enabled_at: datetime | None = None
    pause_reason: str = ""
    shop_name: str = ""


def _due(s: Any) -> bool:
    reqs = s.requirements or {}
    return bool(reqs.get("currently_due") or reqs.get("past_due"))


def ever_enabled(s: Any) -> bool:
    """Stripe let the account take payments, now or once: its `requirements.past_due` is then a lapse,
    not a new account's setup."""
    return bool(s.charges_enabled or s.charges_first_enabled_at is not None)


def derive_status(s: Any) -> SellerStatus:
    """`s` is a Seller (or a StripeState); see the module docstring for the order of the rules."""
    reason = s.disabled_reason or ""
    if s.disconnected_at is not None:
        return SellerStatus.DISCONNECTED
    if s.paused_at is not None or reason == "platform_paused":
        return SellerStatus.PAUSED
    if reason.startswith("rejected."):
        return SellerStatus.REJECTED
    if not s.stripe_account_id or not s.details_submitted:
        return SellerStatus.ONBOARDING
    if not ever_enabled(s) and reason in ("", PAST_DUE) and _due(s):
        return SellerStatus.ONBOARDING
    if reason and reason not in PENDING_REASONS:
        return SellerStatus.RESTRICTED
    if _due(s):
        return SellerStatus.ACTION_REQUIRED
    if s.charges_enabled and s.payouts_enabled:
        return SellerStatus.ACTIVE
    return SellerStatus.PENDING_VERIFICATION


class Situation(StrEnum):
    """What the status card tells the seller: `SellerStatus` split where the words must differ.

    `SellerStatus` is stored and is what the console filters and counts on; the situation splits
    onboarding three ways (no Stripe account yet, hosted form not submitted, details left for later)
    and action required two ways (with or without a deadline), each with its own sentence."""

    NEW = "new"
    ONBOARDING = "onboarding"
    LATER = "later"
    ACTION_DEADLINE = "action_deadline"
    ACTION_NO_DEADLINE = "action_no_deadline"
    RESTRICTED = "restricted"
    PENDING_VERIFICATION = "pending_verification"
    ACTIVE = "active"
    PAUSED = "paused"
    REJECTED = "rejected"
    DISCONNECTED = "disconnected"


def derive_situation(s: Any) -> Situation:
    status = derive_status(s)
    if status == SellerStatus.ONBOARDING:
        if not s.stripe_account_id:
            return Situation.NEW
        return Situation.LATER if s.details_submitted else Situation.ONBOARDING
    if status == SellerStatus.ACTION_REQUIRED:
        return Situation.ACTION_DEADLINE if s.current_deadline else Situation.ACTION_NO_DEADLINE
    return Situation(status.value)


@dataclass(frozen=True)
class NextStep:
    """The one thing that moves the seller on. `onboarding` and `dashboard` are POST forms (each
    makes a fresh single-use Stripe link); the others are plain links (`href`)."""

    kind: str  # onboarding | dashboard | new_listing | support
    label: str
    href: str = ""


@dataclass(frozen=True)
class StatusMessage:
    """What the status card says, worked out once from the seller's fields."""

    situation: Situation
    headline: str
    sentence: str
    reason: str  # the admin's pause reason, shown as theirs; empty otherwise
    next_step: NextStep
    listings: str  # whether buyers see the listings, and why not


def _when(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "j F Y, H:i e")


def _day(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "j F Y")


# Under the banner of a payout that failed on a bank account Stripe has disabled since, "can ... receive
# payouts" says the opposite of it: Stripe sends none until the seller updates the account.
NO_PAYOUT_TO_ERRORED_BANK = "Stripe sends no payout until your bank account works again."


def _for_now(s: Any, bank_errored: bool) -> str:
    if s.payouts_enabled and bank_errored:
        return f"Your shop can take payments for now; {NO_PAYOUT_TO_ERRORED_BANK}"
    if s.payouts_enabled:
        return "Your shop can take payments and receive payouts for now."
    return "Your shop can take payments for now, but Stripe is holding your payouts."


def _paused_what(s: Any) -> str:
    if not s.charges_enabled and not s.payouts_enabled:
        return "Payments and payouts are paused"
    if not s.payouts_enabled:
        return "Payouts are paused"
    if not s.charges_enabled:
        return "Payments are paused"
    return "Stripe has restricted your account"


def _onboarding(label: str) -> NextStep:
    return NextStep("onboarding", label)


def _support(s: Any, topic: str) -> NextStep:
    subject = quote(f"{s.shop_name}: {topic}" if getattr(s, "shop_name", "") else topic)
    return NextStep("support", "Contact support", f"mailto:{settings.SUPPORT_EMAIL}?subject={subject}")


def _new_listing(label: str) -> NextStep:
    return NextStep("new_listing", label, reverse("sell_listing_new"))


LISTINGS_HIDDEN_BECAUSE = {
    Situation.PAUSED: "Your listings are hidden from buyers because the marketplace paused your shop.",
    Situation.REJECTED: "Your listings are hidden from buyers because your account was closed.",
    Situation.DISCONNECTED: "Your listings are hidden from buyers because your Stripe account is disconnected.",
}


def listings_sentence(s: Any, situation: Situation | None = None) -> str:
    """Whether buyers see the seller's listings and, if not, the real reason (the Sell pages say it)."""
    situation = situation or derive_situation(s)
    if situation in LISTINGS_HIDDEN_BECAUSE:
        return LISTINGS_HIDDEN_BECAUSE[situation]
    if s.stripe_account_id and s.charges_enabled:
        return "Your published listings are visible to buyers."
    return "Your listings are hidden from buyers until your shop can take payments."


def status_message(s: Any, *, bank_errored: bool = False) -> StatusMessage:
    """The status card's headline, sentence and next step, for every situation (`s` as for derive_status).
    `bank_errored`: a payout failed and the bank account is still disabled (`payout_failure_banner`), so a
    shop that can receive payouts by its capabilities gets none: the sentence says so, not the opposite."""
    situation = derive_situation(s)
    for_now = _for_now(s, bank_errored)
    reason = s.disabled_reason or ""
    pause_reason = ""
    if situation == Situation.NEW:
        headline = "Set up payments to start selling"
        sentence = (
            "Your shop is created, but it can't take payments yet. The marketplace pays sellers through Stripe: "
            "set up your Stripe account to take payments and receive payouts. It takes about five minutes."
        )
        step = _onboarding("Set up payments with Stripe")
    elif situation == Situation.ONBOARDING:
        headline = "Finish setting up payments"
        sentence = (
            "You started setting up payments with Stripe but haven't submitted the form yet. Continue where you "
            "left off: your shop can take payments once Stripe has your details."
        )
        step = _onboarding("Continue onboarding")
    elif situation == Situation.LATER:
        headline = "Stripe needs a few more details"
        sentence = (
            "You've submitted the form, and Stripe needs the details below before your shop can take payments "
            "and receive payouts. Nothing is late: your shop can start selling as soon as you provide them."
        )
        step = _onboarding("Provide the missing details")
    elif situation == Situation.ACTION_DEADLINE:
        assert s.current_deadline is not None
        headline = f"Stripe needs more information by {_day(s.current_deadline)}"
        if s.charges_enabled:
            sentence = (
                f"{for_now} Provide the information below by {_when(s.current_deadline)}, or Stripe will "
                "pause payments and payouts on your account."
            )
        else:
            sentence = (
                "Your shop can't take payments until you provide the information below. Stripe's deadline for it "
                f"is {_when(s.current_deadline)}."
            )
        step = _onboarding("Provide the information")
    elif situation == Situation.ACTION_NO_DEADLINE:
        headline = "Stripe needs more information"
        if s.charges_enabled:
            sentence = (
                f"{for_now} Stripe hasn't set a deadline, but provide the information below soon so that "
                "payments aren't interrupted when it does."
            )
        else:
            sentence = "Your shop can't take payments until you provide the information below."
        step = _onboarding("Provide the information")
    elif situation == Situation.RESTRICTED:
        headline = _paused_what(s)
        sentence = str(disabled_reason_sentence(reason))
        if reason == PAST_DUE:
            step = _onboarding("Provide the information")
        elif reason == "action_required.requested_capabilities":
            step = _support(s, "payment features not requested")
        else:
            step = NextStep("dashboard", "Open Stripe Express dashboard")
    elif situation == Situation.PENDING_VERIFICATION:
        if reason == "under_review":
            headline = "Stripe is reviewing your account"
            sentence = str(disabled_reason_sentence(reason))
        else:
            headline = "Stripe is checking your details"
            sentence = (
                "You've sent everything Stripe asked for. Stripe is verifying it: this usually takes a few minutes, "
                "sometimes a few days."
            )
        sentence += (
            " Payouts start once it is done." if s.charges_enabled else " Your shop can take payments once it is done."
        )
        step = _new_listing("Add your listings meanwhile")
    elif situation == Situation.ACTIVE:
        headline = "Your shop is ready to sell"
        sentence = (
            f"Your shop can take payments; {NO_PAYOUT_TO_ERRORED_BANK}"
            if bank_errored
            else "Your shop can take payments and receive payouts."
        )
        step = _new_listing("Add a listing")
    elif situation == Situation.PAUSED:
        headline = "The marketplace has paused your shop"
        sentence = (
            "While your shop is paused, buyers can't see your listings or order from you. This is the "
            "marketplace's decision, not Stripe's: contact support to find out more or to ask for your shop "
            "to be unpaused."
        )
        pause_reason = (s.pause_reason or "").strip()
        step = _support(s, "my shop is paused")
    elif situation == Situation.REJECTED:
        by_platform = reason.startswith("rejected.platform_")
        headline = "The marketplace has closed your account" if by_platform else "Stripe has closed your account"
        sentence = (
            f"{disabled_reason_sentence(reason)} Your shop can't take payments or receive payouts. "
            "If you think this is a mistake, contact support."
        )
        step = _support(s, "my account was closed")
    else:
        headline = "Your Stripe account is disconnected"
        sentence = (
            "The marketplace no longer has access to your Stripe account, so your shop can't take payments or "
            "receive payouts. Contact support to connect a Stripe account again."
        )
        step = _support(s, "my Stripe account is disconnected")
    return StatusMessage(situation, headline, sentence, pause_reason, step, listings_sentence(s, situation))


STATUS_BADGE: dict[str, str] = {
    SellerStatus.ONBOARDING: "warn",
    SellerStatus.PENDING_VERIFICATION: "warn",
    SellerStatus.ACTIVE: "ok",
    SellerStatus.ACTION_REQUIRED: "warn",
    SellerStatus.RESTRICTED: "err",
    SellerStatus.REJECTED: "err",
    SellerStatus.PAUSED: "err",
    SellerStatus.DISCONNECTED: "err",
}
