"""Follow-ups of payments, delivered through the outbox: sending a written refund to Stripe, with the
same idempotency key however many times it takes to reach Stripe; the dispute emails; and the
recovery of a lost dispute from its sellers. Thin: ids in, one call or one email out."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from payments import emails, recovery, services
from payments.models import Dispute


@follow_up(services.REFUND_SUBMIT)
def refund_submit(refund_id: int) -> None:
    services.refund_submit(refund_id=refund_id)


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


@follow_up("payments.dispute_recover")
def dispute_recover(dispute_id: int) -> None:
    recovery.dispute_recover(dispute_id=dispute_id)
