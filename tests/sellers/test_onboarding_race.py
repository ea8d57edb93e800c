"""The return from Stripe's onboarding and the `account.updated` webhook race (issue 11, item 9).

Both read the account through the gateway and mirror it under the seller's row lock, keeping the
newest read. Seen on a busy machine: the webhook read after the return page but committed first,
the return's older read was (rightly) ignored, and the page said "Onboarding isn't finished yet"
under the status "Active". Each order is played here deterministically: the test holds the row
lock, lets the first party block on it (seen in `pg_stat_activity`, no sleeps), runs the second,
then releases. Real parts: Postgres, the sandbox over HTTP, the webhook pipeline's own services.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from marketplace.gateway.events import list_events
from marketplace.webhooks.models import WebhookEvent
from marketplace.webhooks.services import webhook_event_process, webhook_event_store
from sellers.models import Seller, SellerStatus
from sellers.services import seller_create
from tests.factories import UserFactory
from tests.sellers.conftest import set_requirements, signed_in_client, submit_onboarding

pytestmark = pytest.mark.django_db(transaction=True)

ALL_SET = "You&#x27;re all set: your shop can take payments."
STILL_NEEDS = "Stripe still needs a few things from you: see below."
NOT_FINISHED = "Onboarding isn&#x27;t finished yet"


def _back_from_stripe(sandbox: Any) -> tuple[Seller, Client]:
    """A seller who just submitted Stripe's hosted form; our row still says onboarding."""
    user = UserFactory()
    seller = seller_create(user=user, shop_name="Racing Pots", country="US", default_currency="usd")
    submit_onboarding(sandbox, seller)
    seller.refresh_from_db()
    assert seller.status == SellerStatus.ONBOARDING
    return seller, signed_in_client(user)


def _account_updated_webhook(seller: Seller) -> None:
    """What the intake and the worker do with the newest `account.updated` Stripe has for the account."""
    events = list_events(created_gte=0, account=seller.stripe_account_id)
    newest = max((e for e in events if e["type"] == "account.updated"), key=lambda e: (e["created"], e["id"]))
    webhook_event_store(payload=newest, source=WebhookEvent.Source.CONNECT)
    webhook_event_process(event_id=newest["id"])  # eager tasks may have done it already: then a no-op
    assert WebhookEvent.objects.get(pk=newest["id"]).status == WebhookEvent.Status.PROCESSED


def _return_page(client: Client, seller: Seller) -> Callable[[], None]:
    def go() -> None:
        response = client.get(f"/sell/onboarding/{seller.pk}/return/")
        assert response.status_code == 302 and response["Location"] == "/sell/"

    return go


def _stripe_asks_for_more(sandbox: Any, seller: Seller) -> None:
    set_requirements(
        sandbox,
        str(seller.stripe_account_id),
        currently_due=["individual.id_number"],
        past_due=[],
        current_deadline=int(time.time()) + 7 * 86400,
    )


def _others_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees its first snapshot
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def _first_blocks_then_second(seller: Seller, first: Callable[[], None], second: Callable[[], None]) -> None:
    """`first` reads the account, then waits for the seller's row lock (held here) while `second`
    reads, applies and commits; then `first` goes on with its older read."""
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            first()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run_first)
    with transaction.atomic():
        Seller.objects.select_for_update().get(pk=seller.pk)
        thread.start()
        deadline = time.monotonic() + 30
        while not _others_waiting_on_a_lock():
            assert thread.is_alive(), f"the first party did not wait for the row lock: {errors}"
            assert time.monotonic() < deadline, "the first party never reached the row lock"
            time.sleep(0.01)
        second()  # this thread holds the lock: it applies at once
    thread.join(timeout=30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


ORDERS = ["webhook before return", "return before webhook", "return waits for webhook", "webhook waits for return"]


@pytest.mark.parametrize("stripe_changes_between", [False, True], ids=["same state", "stripe asks for more"])
@pytest.mark.parametrize("order", ORDERS)
def test_the_sentence_after_the_return_always_matches_the_status(
    sandbox: Any, order: str, stripe_changes_between: bool
) -> None:
    seller, client = _back_from_stripe(sandbox)
    return_page = _return_page(client, seller)

    def webhook() -> None:
        _account_updated_webhook(seller)

    def between() -> None:
        if stripe_changes_between:
            _stripe_asks_for_more(sandbox, seller)

    if order == "webhook before return":
        webhook(), between(), return_page()
    elif order == "return before webhook":
        return_page(), between(), webhook()
    elif order == "return waits for webhook":
        _first_blocks_then_second(seller, return_page, lambda: (between(), webhook()))
    else:
        _first_blocks_then_second(seller, webhook, lambda: (between(), return_page()))

    # Stripe's newest state wins whichever read committed first, and the sentence says the same.
    expected, sentence = (
        (SellerStatus.ACTION_REQUIRED, STILL_NEEDS) if stripe_changes_between else (SellerStatus.ACTIVE, ALL_SET)
    )
    seller.refresh_from_db()
    assert seller.status == expected
    page = client.get("/sell/").content.decode()
    assert f'data-testid="seller-status">{expected.label}<' in page
    assert sentence in page
    assert NOT_FINISHED not in page and (ALL_SET in page) != (STILL_NEEDS in page)
    assert sentence not in client.get("/sell/").content.decode()  # said once, after the return


def test_a_read_that_lost_the_race_hands_back_the_newer_state(sandbox: Any) -> None:
    """The Express dashboard button refreshes the account too; its older read must not say
    "Finish onboarding with Stripe first." once the webhook has shown onboarding finished."""
    seller, client = _back_from_stripe(sandbox)
    outcome: dict[str, str] = {}

    def dashboard() -> None:
        outcome["location"] = client.post("/sell/dashboard/")["Location"]

    _first_blocks_then_second(seller, dashboard, lambda: _account_updated_webhook(seller))

    assert outcome["location"].startswith(f"{sandbox.url}/hosted/express/")
