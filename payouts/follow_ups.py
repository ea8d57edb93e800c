"""Follow-ups of payouts, delivered through the outbox: the seller's email (an id in, one email out)
and a reconciliation an admin asked for."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from payouts import emails
from payouts.models import Payout
from payouts.reconciliation import ReconciliationRunning, reconcile
from sellers.models import Seller


@follow_up("payouts.email.payout_failed")
def payout_failed_email(payout_id: int) -> None:
    payout = Payout.objects.get(pk=payout_id)
    seller = Seller.objects.select_related("user").filter(stripe_account_id=payout.account).first()
    if seller is not None:  # a payout of an account no seller has any more: nobody to tell
        emails.send_payout_failed(payout, seller)


@follow_up("payouts.reconcile_now")
def reconcile_now() -> None:
    """The console's "Check again now": a full run, as the nightly one, so that differences an admin
    has fixed (a replayed event, a correcting posting) leave the list now rather than tomorrow.
    Stripe unreachable: the outbox tries again later. Another run going: its result is as fresh."""
    try:
        reconcile()
    except ReconciliationRunning:
        return
