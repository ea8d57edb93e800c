"""Remove and Make default of a card that is no longer among the buyer's saved cards: Remove clicked
twice (the second post arrives once the first removed it), or a cards page drawn in another tab
before the card was removed. The buyer used to get the site's 404 page; they land back on their
cards page with one sentence, and nothing changes at Stripe or in our database. Another buyer's card
gets the same answer, word for word, so it tells nothing. Cards carry no currency: one run is enough.
Through the test client and the sandbox over HTTP."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders.services import saved_cards
from orders.services.checkout import buyer_customer_ensure
from tests.factories import UserFactory
from tests.orders.conftest import signed_in
from tests.orders.test_saved_cards import saved_card
from tests.sandbox.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)

GONE = "That card is no longer saved on your account."
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)
SESSIONS = ("django_session", "marketplace_session")  # a visit writes its session (the message): not data


class _StripeCalls(logging.Handler):
    """The methods of the requests the `stripe` SDK sends (it logs each one), read, not patched."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.methods: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"Request to Stripe api' method=(\w+)", record.getMessage())
        if found:
            self.methods.append(found.group(1))


@contextmanager
def nothing_changes(sandbox: Any, buyer: Any) -> Iterator[_StripeCalls]:
    """The app asks Stripe nothing but reads (whether the card is still the buyer's), Stripe records
    no event (every change there makes one: a detach, a new default), the buyer's cards and default
    stay as they were, and no row is written here."""
    stripe = client_for(sandbox)
    customer = buyer_customer_ensure(user=buyer)

    def state() -> tuple[int, list[str], Any]:
        events = len(stripe.v1.events.list(params={"limit": 100}).data)
        cards = [pm.id for pm in stripe.v1.customers.payment_methods.list(customer).data]
        return events, cards, stripe.v1.customers.retrieve(customer).invoice_settings.default_payment_method

    before = state()
    calls, sdk = _StripeCalls(), logging.getLogger("stripe")
    level, sdk.level = sdk.level, logging.INFO
    sdk.addHandler(calls)
    try:
        with CaptureQueriesContext(connection) as queries:
            yield calls
    finally:
        sdk.removeHandler(calls)
        sdk.setLevel(level)
    assert set(calls.methods) <= {"get"}
    written = [q["sql"] for q in queries if WRITES.match(q["sql"]) and not any(t in q["sql"] for t in SESSIONS)]
    assert written == []
    assert state() == before


def _default_form(client: Client, card: str) -> dict[str, str]:
    """The cards page's "Make ... the default" form of `card`, as drawn now."""
    form = client.get("/account/cards/").content.decode().split(f'action="/account/cards/{card}/default/"', 1)
    assert len(form) == 2, "the page offers Make default for the card"
    return {"attempt": form[1].split('name="attempt" value="', 1)[1][:32]}


def _back_on_the_cards_page(answer: Any) -> str:
    assert answer.redirect_chain == [("/account/cards/", 302)]
    assert answer.status_code == 200
    page: str = answer.content.decode()
    assert GONE in page
    return page


def test_remove_posted_twice_lands_on_the_cards_page_with_the_sentence(sandbox: Any) -> None:
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    client = signed_in(buyer)
    first = client.post(f"/account/cards/{mastercard}/remove/", follow=True)
    assert "Removed Mastercard ending 4444." in first.content.decode()

    with nothing_changes(sandbox, buyer) as calls:
        page = _back_on_the_cards_page(client.post(f"/account/cards/{mastercard}/remove/", follow=True))
    assert "get" in calls.methods  # Stripe was asked whether the card is still the buyer's: the watch works
    assert page.count('data-testid="card-row"') == 1
    assert "Visa ending 4242" in page and "Mastercard ending 4444" not in page
    assert [(c.id, c.is_default) for c in saved_cards.saved_cards_for(user=buyer)] == [(visa, True)]


def test_make_default_from_a_page_drawn_before_the_card_was_removed_says_so(sandbox: Any) -> None:
    buyer = UserFactory()
    visa = saved_card(sandbox, buyer, "pm_card_visa")
    mastercard = saved_card(sandbox, buyer, "pm_card_mastercard")
    saved_cards.saved_card_make_default(user=buyer, payment_method=visa, attempt="visit-1")
    client = signed_in(buyer)
    stale = _default_form(client, mastercard)  # the page in a tab left open
    saved_cards.saved_card_remove(user=buyer, payment_method=mastercard)  # removed in another tab

    with nothing_changes(sandbox, buyer):
        page = _back_on_the_cards_page(client.post(f"/account/cards/{mastercard}/default/", stale, follow=True))
    assert "is now your default card" not in page
    assert [(c.id, c.is_default) for c in saved_cards.saved_cards_for(user=buyer)] == [(visa, True)]


def test_another_buyers_card_gets_the_same_sentence_and_is_left_alone(sandbox: Any) -> None:
    owner, other = UserFactory(), UserFactory()
    visa = saved_card(sandbox, owner, "pm_card_visa")
    mastercard = saved_card(sandbox, owner, "pm_card_mastercard")
    saved_cards.saved_card_make_default(user=owner, payment_method=visa, attempt="visit-1")
    saved_card(sandbox, other, "pm_card_visa")  # a buyer with a Stripe Customer and cards of their own
    client = signed_in(other)
    token = re.search(r'name="attempt" value="(\w{32})"', client.get("/account/cards/").content.decode())
    assert token is not None
    form = {"attempt": token.group(1)}  # the page's token, as any of its forms sends it

    with nothing_changes(sandbox, owner):
        _back_on_the_cards_page(client.post(f"/account/cards/{mastercard}/remove/", follow=True))
        _back_on_the_cards_page(client.post(f"/account/cards/{mastercard}/default/", form, follow=True))
