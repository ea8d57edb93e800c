"""Postgres itself refuses what the ledger forbids, even from raw SQL that bypasses `ledger_post`.

The balance check is deferred to COMMIT (a transaction is unbalanced between its first and last leg),
so these tests commit for real: `transaction=True`, and the IntegrityError comes out of the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from marketplace.ledger.chart import BUYER_PAYMENTS, PLATFORM_BALANCE
from marketplace.ledger.models import Account, LedgerLeg, LedgerTransaction
from marketplace.ledger.services import Leg, ledger_post
from tests.ledger.helpers import WHEN, post_together, sale

# Transactional tests flush what they committed; flushing the ledger's tables alone is seconds faster.
LEDGER_ONLY = ["marketplace.ledger"]


def _accounts() -> tuple[int, int]:
    """Two accounts, made the way the service makes them."""
    ledger_post(
        source_id="ch_setup",
        kind="charge",
        description="",
        legs=[Leg(PLATFORM_BALANCE, 1, "usd"), Leg(BUYER_PAYMENTS, -1, "usd")],
        occurred_at=WHEN,
    )
    return (
        Account.objects.get(code=PLATFORM_BALANCE.code, stripe_account="").pk,
        Account.objects.get(code=BUYER_PAYMENTS.code).pk,
    )


def _raw_transaction(legs: list[tuple[int, int, str]], *, source_id: str = "ch_raw", when: datetime = WHEN) -> int:
    """Insert a transaction and its legs with plain SQL, as a careless script would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_ledgertransaction (source_id, kind, description, occurred_at, created_at)"
            " VALUES (%s, 'raw', '', %s, now()) RETURNING id",
            [source_id, WHEN],
        )
        txn_id: int = cursor.fetchone()[0]
        for account_id, amount, currency in legs:
            cursor.execute(
                "INSERT INTO ledger_ledgerleg (transaction_id, account_id, amount, currency, occurred_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                [txn_id, account_id, amount, currency, when],
            )
    return txn_id


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
def test_balanced_legs_written_with_raw_sql_commit() -> None:
    asset, revenue = _accounts()
    with transaction.atomic():
        txn_id = _raw_transaction(
            [(asset, 10_000, "usd"), (revenue, -10_000, "usd"), (asset, 500, "jpy"), (revenue, -500, "jpy")]
        )
    assert LedgerLeg.objects.filter(transaction_id=txn_id).count() == 4


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([(0, 10_000, "usd"), (1, -9_999, "usd")], "its usd legs sum to 1, not 0"),
        ([(0, 100, "jpy")], "its jpy legs sum to 100, not 0"),
        # Balanced in total, not per currency: 100 cents are not 100 yen.
        ([(0, 100, "usd"), (1, -100, "jpy")], "does not balance"),
        ([], "has no legs"),
    ],
    ids=["off-by-one-cent", "single-leg", "across-currencies", "no-legs"],
)
def test_unbalanced_legs_written_with_raw_sql_are_refused_at_commit(
    legs: list[tuple[int, int, str]], message: str
) -> None:
    accounts = _accounts()
    before = LedgerTransaction.objects.count()
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        _raw_transaction([(accounts[i], amount, currency) for i, amount, currency in legs])
    assert LedgerTransaction.objects.count() == before  # the whole transaction was rolled back


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
def test_a_committed_transaction_cannot_gain_legs_even_balanced_ones() -> None:
    asset, revenue = _accounts()
    txn = LedgerTransaction.objects.get(source_id="ch_setup")
    with (
        pytest.raises(IntegrityError, match="already committed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        for account_id, amount in ((asset, 5), (revenue, -5)):
            cursor.execute(
                "INSERT INTO ledger_ledgerleg (transaction_id, account_id, amount, currency, occurred_at)"
                " VALUES (%s, %s, %s, 'usd', %s)",
                [txn.pk, account_id, amount, WHEN],
            )
    assert LedgerLeg.objects.filter(transaction=txn).count() == 2


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
def test_a_leg_on_an_account_that_does_not_exist_is_refused() -> None:
    asset, _ = _accounts()
    missing = Account.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    with pytest.raises(IntegrityError, match=f"ledger account {missing} does not exist"), transaction.atomic():
        _raw_transaction([(asset, 100, "usd"), (missing, -100, "usd")])
    assert not LedgerTransaction.objects.filter(source_id="ch_raw").exists()


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
def test_a_leg_of_a_transaction_that_does_not_exist_is_refused() -> None:
    asset, _ = _accounts()
    with pytest.raises(IntegrityError, match="ledger transaction 999999 does not exist"), transaction.atomic():
        _sql(
            "INSERT INTO ledger_ledgerleg (transaction_id, account_id, amount, currency, occurred_at)"
            f" VALUES (999999, {asset}, 100, 'usd', now())"
        )


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
def test_a_leg_cannot_claim_another_time_than_its_transaction() -> None:
    asset, revenue = _accounts()
    with pytest.raises(IntegrityError, match="occurred at"), transaction.atomic():
        _raw_transaction([(asset, 100, "usd"), (revenue, -100, "usd")], when=WHEN + timedelta(days=40))


@pytest.mark.django_db(transaction=True, available_apps=LEDGER_ONLY)
@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([(0, 0, "usd"), (1, 0, "usd")], "has an amount of 0"),
        ([(0, 1, "USD"), (1, -1, "USD")], "has currency 'USD', not a lowercase ISO 4217 code"),
        ([(0, 1, "1ab"), (1, -1, "1ab")], "has currency '1ab'"),
        ([(0, 1, "us"), (1, -1, "us")], "has currency 'us'"),
    ],
    ids=["zero-amount", "uppercase-currency", "not-letters", "two-letters"],
)
def test_leg_columns_are_checked(legs: list[tuple[int, int, str]], message: str) -> None:
    accounts = _accounts()
    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        _raw_transaction([(accounts[i], amount, currency) for i, amount, currency in legs])


MUTATIONS: dict[str, Callable[[], object]] = {
    "sql update leg": lambda: _sql("UPDATE ledger_ledgerleg SET amount = amount * 2"),
    "sql delete leg": lambda: _sql("DELETE FROM ledger_ledgerleg"),
    "sql update transaction": lambda: _sql("UPDATE ledger_ledgertransaction SET occurred_at = now()"),
    "sql delete transaction": lambda: _sql("DELETE FROM ledger_ledgertransaction"),
    "sql rename account code": lambda: _sql("UPDATE ledger_account SET code = 'stripe_fees'"),
    "sql delete account": lambda: _sql("DELETE FROM ledger_account"),
    "orm update leg": lambda: LedgerLeg.objects.update(amount=1),
    "orm update transaction": lambda: LedgerTransaction.objects.update(description="edited"),
    "orm delete legs": lambda: LedgerLeg.objects.all().delete(),
    "orm save leg": lambda: _resave_leg(),
}


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _resave_leg() -> None:
    leg = LedgerLeg.objects.first()
    assert leg is not None
    leg.amount = -leg.amount
    leg.save()


@pytest.mark.django_db
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_entries_are_immutable(mutation: str) -> None:
    post_together(postings=sale(1, seller="acct_1"), occurred_at=WHEN)
    before = sorted(LedgerLeg.objects.values_list("id", "transaction_id", "account_id", "amount", "currency"))
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        MUTATIONS[mutation]()
    after = sorted(LedgerLeg.objects.values_list("id", "transaction_id", "account_id", "amount", "currency"))
    assert after == before and LedgerTransaction.objects.count() == 3


@pytest.mark.django_db
def test_an_account_can_be_renamed_but_not_repurposed() -> None:
    _accounts()
    Account.objects.filter(code=BUYER_PAYMENTS.code).update(name="Payments received from buyers")
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        Account.objects.filter(code=BUYER_PAYMENTS.code).update(kind="expense")
