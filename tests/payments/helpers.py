"""What the money tests share: Stripe's balances read through the gateway, the ledger's beside them,
the sandbox's real events fed to the webhook pipeline (store, then process) in a chosen order, a lost
dispute, an order's row on the seller's money page and the revenue report's lines over all months."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.gateway.balances import balance_retrieve
from marketplace.gateway.events import list_events
from marketplace.ledger.chart import stripe_balance
from marketplace.ledger.reports import revenue_by_month
from marketplace.ledger.selectors import ledger_balance
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from payments.models import Dispute, DisputeStatus, SellerDebt
from sellers.models import Seller


def stripe_balances(account: str = "") -> dict[str, int]:
    """Stripe's balance (available + pending) per currency, as the gateway reads it; zeros left out."""
    balance = balance_retrieve(account=account or None)
    totals: dict[str, int] = {}
    for part in (*balance.available, *balance.pending):
        totals[part.currency] = totals.get(part.currency, 0) + part.amount
    return {currency: amount for currency, amount in totals.items() if amount}


def ledger_balances(account: str = "") -> dict[str, int]:
    return {c: a for c, a in ledger_balance(account=stripe_balance(account)).items() if a}


def assert_ledger_equals_stripe() -> None:
    """The invariant: for the platform and every connected account, in every currency, the ledger's
    Stripe balance equals Stripe's, to the cent (and the yen)."""
    accounts = ["", *Seller.objects.exclude(stripe_account_id=None).values_list("stripe_account_id", flat=True)]
    for account in accounts:
        assert ledger_balances(account) == stripe_balances(account), account or "platform"


def new_events(seen: set[str]) -> list[dict[str, Any]]:
    """The platform's events the sandbox emitted since the last call (oldest first), marked seen."""
    events = [e for e in list_events(created_gte=0) if e["id"] not in seen]
    seen.update(e["id"] for e in events)
    return list(reversed(events))


def process(events: Iterable[dict[str, Any]], *, copy: bool = False) -> list[str]:
    """Store and process each event as the worker would; `copy` stores it under a new id, as a
    replay from Stripe's side (a resend, or the catch-up job finding it again) would."""
    statuses = []
    for event in events:
        payload = {**event, "id": f"evt_{uuid.uuid4().hex[:24]}"} if copy else event
        webhook_event_store(payload=payload, source="platform")
        statuses.append(str(webhook_event_process(event_id=payload["id"]).status))
    return statuses


def lose_dispute(sandbox: Any, *, charge_id: str, amount: int, on_commit: Any) -> None:
    """The buyer's bank disputes `amount` of the charge as fraud and the platform loses: the sandbox's
    events of both fed to the pipeline, with the work they leave for the commit (the recovery) run.
    `on_commit`: pytest-django's `django_capture_on_commit_callbacks`."""
    seen = {e["id"] for e in new_events(set())}
    opened = _control(sandbox, f"charges/{charge_id}/dispute", reason="fraudulent", amount=amount)
    _control(sandbox, f"disputes/{opened['id']}/resolve", outcome="lost")
    with on_commit(execute=True):
        assert "failed" not in process(new_events(seen))


def _control(sandbox: Any, path: str, **data: Any) -> dict[str, Any]:
    r = requests.post(f"{sandbox.url}/_sandbox/{path}", json=data, timeout=10)
    r.raise_for_status()
    return dict(r.json())


def money_page_row(user: Any, order_id: int) -> str:
    """The order's row of the earnings table on its seller's money page (HTML), over HTTP."""
    client = Client()
    client.force_login(user)
    page = client.get(reverse("sell_money")).content.decode()
    rows = re.findall(r'<tr data-testid="earnings-row">.*?</tr>', page, re.S)
    return next(row for row in rows if f">Order {order_id}</a>" in row)


def row_net(row: str) -> str:
    """The Net cell of a money page row, as the seller reads it ("$63.00")."""
    found = re.search(r'data-testid="order-net">([^<]*)<', row)
    assert found is not None, row
    return found.group(1)


def revenue_lines(currency: str) -> dict[str, int]:
    """The revenue report's lines in `currency`, summed over every month."""
    months = revenue_by_month(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(9000, 1, 1, tzinfo=UTC))
    totals: dict[str, int] = {}
    for month in months:
        if month.currency == currency:
            for name, value in month.as_row().items():
                if isinstance(value, int):
                    totals[name] = totals.get(name, 0) + value
    return totals


def lost_dispute_debt(seller: Any, currency: str, amount: int, collected: int = 0, settled: bool = False) -> Any:
    """A lost dispute of `amount` the seller's balance could not cover: the SellerDebt it left, `collected`
    of it taken so far, or settled."""
    n = Dispute.objects.count()
    dispute = Dispute.objects.create(
        stripe_id=f"dp_{seller.pk}_{n}",
        stripe_charge_id=f"ch_{seller.pk}_{n}",
        seller=seller,
        amount=amount,
        currency=currency,
        reason="fraudulent",
        status=DisputeStatus.LOST,
        stripe_created_at=timezone.now(),
    )
    return SellerDebt.objects.create(
        seller=seller,
        dispute=dispute,
        currency=currency,
        amount=amount,
        collected=collected,
        settled_at=timezone.now() if settled else None,
    )
