"""What the payout tests share: sellers with paid sales, the sandbox's clock, its Connect events
(a seller's `payout.*`) fed to the webhook pipeline as the Connect endpoint would, and the seller's
statement as its page and its CSV show it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import requests
from django.test import Client

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
SPAN = {"start": str(date.today() - timedelta(days=3)), "end": str(date.today() + timedelta(days=3))}
ROW = re.compile(
    r'<tr data-testid="statement-row" data-kind="(\w+)">.*?data-testid="statement-order">(.*?)</td>', re.DOTALL
)


def statement_csv(client: Client, span: dict[str, str] = SPAN) -> list[dict[str, str]]:
    response = client.get("/sell/money/statement.csv", span)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def statement_page(client: Client, span: dict[str, str] = SPAN) -> list[tuple[str, str]]:
    """The page's lines: (kind, what its Order cell holds)."""
    response = client.get("/sell/money/statement/", span)
    assert response.status_code == 200
    return ROW.findall(response.content.decode())


def link(order: Order) -> str:
    return f'<a href="/sell/orders/{order.pk}/">Order {order.pk}</a>'


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
