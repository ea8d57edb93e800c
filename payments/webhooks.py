"""Stripe events of refunds and disputes. Registered with the webhook pipeline's registry.

Every refund event re-reads the refund from Stripe (with its transfer reversal) and goes through
`refund_record_stripe`, the path our own refunds take too, so that the events can come in any order
and any number of times: the status only moves forward and every posting is unique on its Stripe id.
`charge.refunded` names the charge, not the refund: every refund of the charge is recorded, which
is how a refund made in the Stripe Dashboard reaches us. `charge.refund.updated` carries a Refund,
not a Charge (dj-stripe#1039).

The dispute events (platform endpoint: destination charges are the platform's) are triggers only:
`dispute_sync` re-reads the dispute, so any order and any number of deliveries end in Stripe's
latest state, with the money posted once.
"""

from __future__ import annotations

from marketplace.gateway import checkout as gateway_checkout
from marketplace.gateway.types import Charge, Dispute, Refund
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.registry import webhook_handler
from payments import services
from payments.disputes import dispute_sync
from payments.models import Payment, SellerDebt
from payments.recovery import seller_debts_collect
from payouts.selectors import balance_reread
from sellers.models import Seller


@webhook_handler("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
def refund_changed(event: WebhookEvent) -> None:
    refund = event.stripe_object(Refund)
    if not refund.charge:
        return
    _payment_recorded(refund.charge)
    services.refund_record_stripe(stripe_refund=gateway_checkout.refund_retrieve(refund.id))


@webhook_handler("charge.refunded")
def charge_refunded(event: WebhookEvent) -> None:
    charge = event.stripe_object(Charge)
    _payment_recorded(charge.id)
    services.refunds_record_for_charge(charge_id=charge.id)


def _payment_recorded(charge_id: str) -> None:
    """A refund event may come before the charge's: record the payment first (same path, same
    postings as `charge.succeeded`)."""
    if not Payment.objects.filter(stripe_charge_id=charge_id).exists():
        services.payment_record_charge(charge=gateway_checkout.charge_retrieve(charge_id))


@webhook_handler(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)
def dispute_changed(event: WebhookEvent) -> None:
    dispute_sync(dispute_id=event.stripe_object(Dispute).id)


@webhook_handler("balance.available")
def balance_available(event: WebhookEvent) -> None:
    """Funds became available on a seller's account (Connect endpoint): collect its dispute debts,
    and read the balance again (`balance_reread`), as pending funds covering a negative available
    balance change what the console lists as owed. The balance is read, not taken from the event,
    because Stripe does not deliver events in order."""
    if not event.account:
        return
    balance_reread(account=event.account)
    seller = Seller.objects.filter(stripe_account_id=event.account).first()
    if seller is not None and SellerDebt.objects.filter(seller=seller, settled_at__isnull=True).exists():
        seller_debts_collect(seller=seller)
