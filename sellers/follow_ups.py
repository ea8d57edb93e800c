"""Follow-ups of seller changes, delivered through the outbox: the seller's emails. Thin: an id
in, one email out."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from sellers import emails
from sellers.models import Seller, SellerModerationEntry, SellerStatus
from sellers.selectors import seller_can_sell


def _seller(seller_id: int) -> Seller:
    return Seller.objects.select_related("user").get(pk=seller_id)


@follow_up("sellers.email.onboarding_complete")
def onboarding_complete_email(seller_id: int) -> None:
    seller = _seller(seller_id)
    # It says the shop takes payments (and its published listings are visible): not to a seller paused, or
    # restricted by Stripe, since the change that queued it (once, keyed: it is not queued again).
    if seller_can_sell(seller):
        emails.send_onboarding_complete(seller)


@follow_up("sellers.email.payments_back")
def payments_back_email(seller_id: int) -> None:
    seller = _seller(seller_id)
    # Restricted again, or paused by the marketplace, before it went: "again" would be untrue, and that
    # change's own email says where the shop stands.
    if seller.status == SellerStatus.ACTIVE:
        emails.send_payments_back(seller)


@follow_up("sellers.email.action_required")
def action_required_email(seller_id: int) -> None:
    seller = _seller(seller_id)
    if seller.due_count:  # solved meanwhile: nothing to ask for
        emails.send_action_required(seller)


@follow_up("sellers.email.deadline_reminder")
def deadline_reminder_email(seller_id: int) -> None:
    seller = _seller(seller_id)
    # Provided meanwhile (the deadline goes with it): no list to remind of.
    if seller.due_count and seller.current_deadline is not None:
        emails.send_deadline_reminder(seller)


@follow_up("sellers.email.paused")
def paused_email(seller_id: int, entry_id: int) -> None:
    seller = _seller(seller_id)
    # Unpaused before it went: the pause is over, and the unpause's email says where the shop stands.
    if seller.paused_at is not None:
        emails.send_paused(seller, reason=SellerModerationEntry.objects.get(pk=entry_id).reason)


@follow_up("sellers.email.unpaused")
def unpaused_email(seller_id: int) -> None:
    seller = _seller(seller_id)
    if seller.paused_at is None:  # paused again before it went: that pause's email says so
        emails.send_unpaused(seller)
