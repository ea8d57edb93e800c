"""Follow-ups of dispute changes, delivered through the outbox: the emails. Thin: ids in, one email out."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from payments import emails
from payments.models import Dispute


def _dispute(dispute_id: int) -> Dispute:
    return Dispute.objects.select_related("seller__user", "order__buyer").get(pk=dispute_id)


@follow_up("payments.email.dispute_opened")
def dispute_opened_email(dispute_id: int) -> None:
    emails.send_dispute_opened(_dispute(dispute_id))


@follow_up("payments.email.dispute_reminder")
def dispute_reminder_email(dispute_id: int, days: int) -> None:
    dispute = _dispute(dispute_id)
    if dispute.is_answerable:  # answered or closed since: nothing to remind of
        emails.send_dispute_reminder(dispute, days)


@follow_up("payments.email.dispute_closed")
def dispute_closed_email(dispute_id: int) -> None:
    emails.send_dispute_closed(_dispute(dispute_id))
