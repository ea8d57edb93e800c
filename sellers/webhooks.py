"""Connect events that keep the seller row true.

The events are a trigger, not the truth: each handler re-reads the account through the gateway and
mirrors what Stripe says now (`seller_refresh_from_stripe`), so an old `account.updated` delivered
late (or replayed by an admin) can only re-confirm the present, never move the seller backwards;
the row additionally keeps only the newest snapshot (`stripe_state_updated_at`) when two reads race.
`capability.updated` carries a Capability, not an Account, and is handled the same way for that
reason. Deauthorization is final and needs no read (Stripe refuses it anyway). Connect events name
the account (`event.account`); the platform's own account events name it in their typed object.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from marketplace.gateway.types import Account, Capability
from marketplace.webhooks.registry import webhook_handler
from sellers.models import Seller
from sellers.services import seller_mark_disconnected, seller_refresh_from_stripe

if TYPE_CHECKING:
    from marketplace.webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)


def _seller_for(event: WebhookEvent, account_id: str | None) -> Seller | None:
    if not account_id:
        return None
    seller = Seller.objects.filter(stripe_account_id=account_id).first()
    if seller is None:
        logger.info("%s for unknown account %s: ignored", event.type, account_id)
    return seller


@webhook_handler("account.updated")
def account_updated(event: WebhookEvent) -> None:
    seller = _seller_for(event, event.account or event.stripe_object(Account).id)
    if seller is not None:
        seller_refresh_from_stripe(seller=seller)


@webhook_handler("capability.updated")
def capability_updated(event: WebhookEvent) -> None:
    seller = _seller_for(event, event.account or event.stripe_object(Capability).account)
    if seller is not None:
        seller_refresh_from_stripe(seller=seller)


@webhook_handler("account.application.deauthorized")
def account_deauthorized(event: WebhookEvent) -> None:
    """`data.object` is the platform's Connect application, not the account: only `event.account`
    says whose access ended."""
    seller = _seller_for(event, event.account)
    if seller is not None:
        seller_mark_disconnected(seller=seller)
