"""The seller's status, derived in one pure function from what Stripe and the platform said.

Order matters and reads as a sentence: a seller who disconnected is disconnected whatever Stripe
last said; a seller we paused is paused; an account Stripe rejected is rejected; an account whose
owner has not finished the hosted form is still onboarding; an account Stripe disabled for a
reason other than "we are verifying" is restricted; an account with things due (but still
enabled) needs action, usually by a deadline; an account with nothing due but not yet charging
is waiting for Stripe's verification; everything on is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sellers.models import SellerStatus

PENDING_REASONS = frozenset({"requirements.pending_verification", "under_review"})


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


def derive_status(s: Any) -> SellerStatus:
    """`s` is a Seller (or a StripeState); see the module docstring for the order of the rules."""
    reqs = s.requirements or {}
    due = bool(reqs.get("currently_due") or reqs.get("past_due"))
    reason = s.disabled_reason or ""
    if s.disconnected_at is not None:
        return SellerStatus.DISCONNECTED
    if s.paused_at is not None or reason == "platform_paused":
        return SellerStatus.PAUSED
    if reason.startswith("rejected."):
        return SellerStatus.REJECTED
    if not s.stripe_account_id or not s.details_submitted:
        return SellerStatus.ONBOARDING
    if reason and reason not in PENDING_REASONS:
        return SellerStatus.RESTRICTED
    if due:
        return SellerStatus.ACTION_REQUIRED
    if s.charges_enabled and s.payouts_enabled:
        return SellerStatus.ACTIVE
    return SellerStatus.PENDING_VERIFICATION


# What the status card says, in the seller's words.
STATUS_EXPLANATIONS: dict[str, str] = {
    SellerStatus.ONBOARDING: "Finish setting up payments with Stripe to start selling.",
    SellerStatus.PENDING_VERIFICATION: "Stripe is checking your details. You can't take payments until it is done; "
    "this usually takes a few minutes, sometimes a few days.",
    SellerStatus.ACTIVE: "You can take payments and receive payouts.",
    SellerStatus.ACTION_REQUIRED: "Stripe needs more information from you to keep your account enabled.",
    SellerStatus.RESTRICTED: "Stripe has disabled payments or payouts on your account until the issue below is solved.",
    SellerStatus.REJECTED: "Stripe has closed your account for payments. Contact support if you think this is a "
    "mistake.",
    SellerStatus.PAUSED: "The marketplace has paused your shop. Your listings are hidden until it is unpaused.",
    SellerStatus.DISCONNECTED: "Your Stripe account is no longer connected to the marketplace.",
}

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
