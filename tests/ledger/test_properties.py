"""Property: whatever balanced postings arrive, in whatever order and however often, every account's
balance is the sum of its legs and the ledger sums to zero in every currency, in Python and in Postgres."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.ledger.chart import (
    APPLICATION_FEES,
    BUYER_PAYMENTS,
    DISPUTE_LOSSES,
    PLATFORM_BALANCE,
    STRIPE_FEES,
    AccountKind,
    AccountRef,
    bank_payouts,
    seller_application_fees,
    stripe_balance,
)
from marketplace.ledger.models import LedgerTransaction
from marketplace.ledger.selectors import ledger_balance, ledger_balances_of_kind
from marketplace.ledger.services import AlreadyReversed, Leg, ledger_post, ledger_reverse

ACCOUNTS = [
    PLATFORM_BALANCE,
    BUYER_PAYMENTS,
    STRIPE_FEES,
    APPLICATION_FEES,
    DISPUTE_LOSSES,
    stripe_balance("acct_A"),
    stripe_balance("acct_B"),
    seller_application_fees("acct_A"),
    bank_payouts("acct_B"),
]
START = datetime(2026, 1, 1, tzinfo=UTC)
amounts = st.integers(min_value=-(10**12), max_value=10**12).filter(bool)


@st.composite
def balanced_legs(draw: st.DrawFn) -> list[Leg]:
    """Legs in USD, JPY or both, each currency summing to zero, none of them zero."""
    legs: list[Leg] = []
    for currency in draw(st.sampled_from([["usd"], ["jpy"], ["usd", "jpy"]])):
        part = [Leg(draw(st.sampled_from(ACCOUNTS)), draw(amounts), currency) for _ in range(draw(st.integers(1, 4)))]
        rest = -sum(leg.amount for leg in part)
        if rest:
            part.append(Leg(draw(st.sampled_from(ACCOUNTS)), rest, currency))
        elif len(part) == 1:  # pragma: no cover - a single non-zero leg always leaves a rest
            continue
        legs += part
    return draw(st.permutations(legs))


# A step: post new legs, redeliver an earlier posting (its legs shuffled), or reverse an earlier one.
steps = st.one_of(
    st.tuples(st.just("post"), balanced_legs()),
    st.tuples(st.just("redeliver"), st.integers(0, 50)),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(steps, min_size=1, max_size=12), seconds=st.lists(st.integers(0, 86_400 * 90), min_size=12))
def test_every_balance_is_the_sum_of_its_legs_and_the_ledger_sums_to_zero(
    sequence: list[tuple[str, object]], seconds: list[int]
) -> None:
    with transaction.atomic():
        expected: defaultdict[tuple[AccountRef, str], int] = defaultdict(int)
        posted: list[tuple[LedgerTransaction, list[Leg]]] = []
        reversals: set[int] = set()
        for n, (action, arg) in enumerate(sequence):
            when = START + timedelta(seconds=seconds[n])
            if action == "post":
                legs = arg
                assert isinstance(legs, list)
                txn = ledger_post(source_id=f"src_{n}", kind="test", description="", legs=legs, occurred_at=when)
                posted.append((txn, legs))
                _add(expected, legs)
            elif posted and action == "redeliver":
                txn, legs = posted[int(str(arg)) % len(posted)]
                again = ledger_post(
                    source_id=txn.source_id, kind=txn.kind, description="", legs=legs[::-1], occurred_at=txn.occurred_at
                )
                assert again.pk == txn.pk
            elif posted and action == "reverse":
                txn, legs = posted[int(str(arg)) % len(posted)]
                reversal = ledger_reverse(original=txn, kind="test.reversal", description="", occurred_at=when)
                if reversal.pk in reversals:  # a redelivered reversal: nothing new
                    with pytest.raises(AlreadyReversed):
                        ledger_reverse(original=txn, kind=f"test.other.{n}", description="", occurred_at=when)
                else:
                    reversals.add(reversal.pk)
                    _add(expected, [Leg(leg.account, -leg.amount, leg.currency) for leg in legs])
            _ledger_sums_to_zero()  # after every step
        _check(expected)
        # Postgres's own check, now rather than at a commit that never comes (the test rolls back).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        transaction.set_rollback(True)


def _add(expected: defaultdict[tuple[AccountRef, str], int], legs: list[Leg]) -> None:
    for leg in legs:
        expected[(leg.account, leg.currency)] += leg.amount


def _check(expected: defaultdict[tuple[AccountRef, str], int]) -> None:
    for account in ACCOUNTS:
        sums = {currency: total for (ref, currency), total in expected.items() if ref == account}
        assert ledger_balance(account=account) == {c: account.kind.normal_sign * t for c, t in sums.items()}
    by_kind = [b for kind in AccountKind for b in ledger_balances_of_kind(kind=kind)]
    totals: defaultdict[str, int] = defaultdict(int)
    for balance in by_kind:
        totals[balance.currency] += balance.account.kind.normal_sign * balance.balance
    assert all(total == 0 for total in totals.values()), totals
    _ledger_sums_to_zero()


def _ledger_sums_to_zero() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT currency, sum(amount) FROM ledger_ledgerleg GROUP BY currency HAVING sum(amount) <> 0")
        assert cursor.fetchall() == []
