"""Connect events that keep the seller row true.

The events are a trigger, not the truth: each handler re-reads the account through the gateway and
mirrors what Stripe says now (`seller_refresh_from_stripe`), so an old `account.updated` delivered
late (or replayed by an admin) can only re-confirm the present, never move the seller backwards;
the row additionally keeps only the newest snapshot (`stripe_state_updated_at`) when two reads race.
`capability.updated` carries a Capability, not an Account, and is handled the same way for that
reason. Deauthorization is final and needs no read (Stripe refuses it anyway).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from marketplace.webhooks.registry import webhook_handler
from sellers.models import Seller
from sellers.services import seller_mark_disconnected, seller_refresh_from_stripe

if TYPE_CHECKING:
    from marketplace.webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)


def _seller_for(event: WebhookEvent) -> Seller | None:
    obj = event.data_object or {}
    account_id = event.account or (obj.get("id") if obj.get("object") == "account" else obj.get("account"))
    if not account_id:
        return None
    seller = Seller.objects.filter(stripe_account_id=account_id).first()
    if seller is None:
        logger.info("%s for unknown account %s: ignored", event.type, account_id)
    return seller


@webhook_handler("account.updated", "capability.updated")
def account_changed(event: WebhookEvent) -> None:
    seller = _seller_for(event)
    if seller is not None:
        seller_refresh_from_stripe(seller=seller)


@webhook_handler("account.application.deauthorized")
def account_deauthorized(event: WebhookEvent) -> None:
    seller = _seller_for(event)
    if seller is not None:
        seller_mark_disconnected(seller=seller)
