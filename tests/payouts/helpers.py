"""What the payout tests share: sellers with paid sales, the sandbox's clock, and its Connect
events (a seller's `payout.*`) fed to the webhook pipeline as the Connect endpoint would."""

from __future__ import annotations

from typing import Any

import requests

from marketplace.gateway.events import list_events
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from orders import services as order_services
from orders.models import Order
from payouts.models import Payout
from sellers.models import Seller
from tests.factories import UserFactory
from tests.orders.conftest import URLS, cart_with, listing_of, pay
from tests.payments.helpers import new_events, process

DAY = 86400


def paid_order(sandbox: Any, seller: Seller, price: int, card: str = "4242424242424242") -> Order:
    """A buyer pays one listing of `seller` on the hosted page; its events are processed."""
    buyer = UserFactory()
    listing = listing_of(seller, price=price)
    order = order_services.checkout_start(
        buyer=buyer, cart=cart_with(buyer, (listing, 1)), seller_id=seller.pk, currency=seller.default_currency, **URLS
    ).order
    seen = {e["id"] for e in new_events(set())}
    pay(sandbox, str(order.checkout_session_id), card=card)
    assert "failed" not in process(new_events(seen))
    order.refresh_from_db()
    return order


def advance(sandbox: Any, seconds: int) -> None:
    requests.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=30).raise_for_status()


def control(sandbox: Any, path: str, **data: Any) -> dict[str, Any]:
    r = requests.post(f"{sandbox.url}/_sandbox/{path}", json=data, timeout=30)
    r.raise_for_status()
    return dict(r.json())


def process_connect(account: str, seen: set[str]) -> list[str]:
    """Store and process the seller's Connect events not seen yet, oldest first."""
    events = [e for e in list_events(created_gte=0, account=account) if e["id"] not in seen]
    seen.update(e["id"] for e in events)
    statuses = []
    for event in reversed(events):
        webhook_event_store(payload=event, source="connect")
        statuses.append(str(webhook_event_process(event_id=event["id"]).status))
    return statuses


def paid_out(sandbox: Any, account: str) -> Payout:
    """Two days on the sandbox's clock, the seller's Connect events processed after each: the sales'
    funds become available and Stripe pays them out (its daily schedule). The one payout it made."""
    seen: set[str] = set()
    for _ in range(2):
        advance(sandbox, DAY)
        process_connect(account, seen)
    return Payout.objects.get(account=account)
