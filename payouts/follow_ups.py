"""Follow-ups of payout changes, delivered through the outbox: the seller's email. Thin: an id in,
one email out."""

from __future__ import annotations

from marketplace.outbox.services import follow_up
from payouts import emails
from payouts.models import Payout
from sellers.models import Seller


@follow_up("payouts.email.payout_failed")
def payout_failed_email(payout_id: int) -> None:
    payout = Payout.objects.get(pk=payout_id)
    seller = Seller.objects.select_related("user").filter(stripe_account_id=payout.account).first()
    if seller is not None:  # a payout of an account no seller has any more: nobody to tell
        emails.send_payout_failed(payout, seller)
