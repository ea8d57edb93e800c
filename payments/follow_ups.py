"""Follow-ups of payments, delivered through the outbox: sending a written refund to Stripe, with the
same idempotency key however many times it takes to reach Stripe."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from payments import services


@follow_up(services.REFUND_SUBMIT)
def refund_submit(refund_id: int) -> None:
    services.refund_submit(refund_id=refund_id)
