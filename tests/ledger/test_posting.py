"""`ledger_post` and `ledger_reverse`: checked before writing, once per source, safe under concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections, transaction

from marketplace.errors import InvalidInput
from marketplace.ledger import flows
from marketplace.ledger.chart import (
    BUYER_PAYMENTS,
    PLATFORM_BALANCE,
    STRIPE_FEES,
    AccountCode,
    AccountKind,
    AccountRef,
    accounts_of,
    seller_application_fees,
    stripe_balance,
)
from marketplace.ledger.models import Account, LedgerLeg, LedgerTransaction
from marketplace.ledger.selectors import ledger_balance
from marketplace.ledger.services import (
    AlreadyReversed,
    Leg,
    PostingConflict,
    UnbalancedPosting,
    ledger_lock_stripe_account,
    ledger_post,
    ledger_post_one,
    ledger_reverse,
)
from tests.ledger.helpers import WHEN, post_together, sale

SELLER = "acct_1SellerUSD"
CHARGE_LEGS = [
    Leg(PLATFORM_BALANCE, 10_000, "usd"),
    Leg(BUYER_PAYMENTS, -10_000, "usd"),
    Leg(STRIPE_FEES, 320, "usd"),
    Leg(PLATFORM_BALANCE, -320, "usd"),
]


def _post(source_id: str = "ch_1", legs: list[Leg] = CHARGE_LEGS, kind: str = "charge") -> LedgerTransaction:
    return ledger_post(source_id=source_id, kind=kind, description="A charge", legs=legs, occurred_at=WHEN)


@pytest.mark.django_db
def test_a_balanced_posting_is_stored_with_its_accounts_created_on_first_use() -> None:
    txn = _post()
    assert (txn.source_id, txn.kind, txn.occurred_at, txn.description) == ("ch_1", "charge", WHEN, "A charge")
    stored = LedgerTransaction.objects.get()
    assert stored.pk == txn.pk
    legs = sorted(stored.legs.values_list("account__name", "amount", "currency", "occurred_at"))
    assert legs == [
        ("Payments from buyers", -10_000, "usd", WHEN),
        ("Stripe balance — platform", -320, "usd", WHEN),
        ("Stripe balance — platform", 10_000, "usd", WHEN),
        ("Stripe processing fees", 320, "usd", WHEN),
    ]
    # The first posting to the platform's accounts creates its whole chart (see the deadlock test below).
    assert sorted(Account.objects.values_list("name", "kind")) == sorted((r.name, str(r.kind)) for r in accounts_of(""))
    assert ("Stripe processing fees", "expense") in Account.objects.values_list("name", "kind")
    assert ledger_balance(account=PLATFORM_BALANCE) == {"usd": 9_680}


@pytest.mark.django_db
def test_per_seller_accounts_are_keyed_by_the_stripe_account() -> None:
    for seller, currency in ((SELLER, "usd"), ("acct_2SellerJPY", "jpy")):
        post_together(
            postings=[
                flows.application_fee(application_fee_id=f"fee_{seller}", seller=seller, amount=700, currency=currency)
            ],
            occurred_at=WHEN,
        )
    assert sorted(Account.objects.filter(stripe_account__startswith="acct_").values_list("name", flat=True)) == [
        "Application fees paid — seller acct_1SellerUSD",
        "Application fees paid — seller acct_2SellerJPY",
        "Bank payouts — seller acct_1SellerUSD",
        "Bank payouts — seller acct_2SellerJPY",
        "Lost disputes taken back — seller acct_1SellerUSD",
        "Lost disputes taken back — seller acct_2SellerJPY",
        "Stripe balance — seller acct_1SellerUSD",
        "Stripe balance — seller acct_2SellerJPY",
    ]
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": -700}
    assert ledger_balance(account=stripe_balance("acct_2SellerJPY")) == {"jpy": -700}
    assert ledger_balance(account=seller_application_fees(SELLER)) == {"usd": 700}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("legs", "error", "message"),
    [
        (
            [Leg(PLATFORM_BALANCE, 10_000, "usd"), Leg(BUYER_PAYMENTS, -9_999, "usd")],
            UnbalancedPosting,
            r"\$0\.01 \(usd\)",
        ),
        ([Leg(PLATFORM_BALANCE, 1_000, "jpy"), Leg(BUYER_PAYMENTS, -1_000, "usd")], UnbalancedPosting, "¥1,000"),
        ([Leg(PLATFORM_BALANCE, 1_000, "jpy")], UnbalancedPosting, "at least two legs"),
        ([], UnbalancedPosting, "at least two legs"),
        ([Leg(PLATFORM_BALANCE, 0, "usd"), Leg(BUYER_PAYMENTS, 0, "usd")], InvalidInput, "non-zero integer"),
        ([Leg(PLATFORM_BALANCE, 1.5, "usd"), Leg(BUYER_PAYMENTS, -1.5, "usd")], InvalidInput, "non-zero integer"),  # type: ignore[arg-type]
        ([Leg(PLATFORM_BALANCE, True, "usd"), Leg(BUYER_PAYMENTS, -1, "usd")], InvalidInput, "non-zero integer"),
        ([Leg(PLATFORM_BALANCE, 2**63, "usd"), Leg(BUYER_PAYMENTS, -(2**63), "usd")], InvalidInput, "non-zero"),
        ([Leg(PLATFORM_BALANCE, 1, "dollars"), Leg(BUYER_PAYMENTS, -1, "dollars")], InvalidInput, "not a currency"),
        ([Leg("stripe_balance", 1, "usd"), Leg(BUYER_PAYMENTS, -1, "usd")], InvalidInput, "AccountRef"),  # type: ignore[arg-type]
    ],
    ids=[
        "one-cent-off",
        "yen-against-dollars",
        "one-leg",
        "no-legs",
        "zero",
        "float",
        "bool",
        "overflow",
        "currency",
        "bare-code",
    ],
)
def test_postings_that_could_never_be_right_are_refused_before_writing(
    legs: list[Leg], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _post(legs=legs)
    assert not LedgerTransaction.objects.exists() and not Account.objects.exists()


@pytest.mark.django_db
def test_source_and_time_are_required() -> None:
    with pytest.raises(InvalidInput, match="source"):
        ledger_post(source_id="", kind="charge", description="", legs=CHARGE_LEGS, occurred_at=WHEN)
    with pytest.raises(InvalidInput, match="kind"):
        ledger_post(source_id="ch_1", kind="", description="", legs=CHARGE_LEGS, occurred_at=WHEN)
    with pytest.raises(InvalidInput, match="time zone"):
        ledger_post(source_id="ch_1", kind="charge", description="", legs=CHARGE_LEGS, occurred_at=datetime(2026, 1, 1))


def test_the_chart_refuses_refs_it_does_not_have() -> None:
    with pytest.raises(ValueError, match="platform's account"):
        AccountRef(AccountCode.STRIPE_FEES, SELLER)
    with pytest.raises(ValueError, match="once per seller"):
        AccountRef(AccountCode.SELLER_APPLICATION_FEES)
    with pytest.raises(ValueError, match="not a Stripe account id"):
        stripe_balance("cus_123")
    assert stripe_balance(SELLER).name == "Stripe balance — seller acct_1SellerUSD"
    assert BUYER_PAYMENTS.kind is AccountKind.REVENUE and BUYER_PAYMENTS.kind.normal_sign == -1


@pytest.mark.django_db
def test_a_redelivered_source_posts_once_whatever_the_order_of_its_legs() -> None:
    first = _post()
    again = _post(legs=list(reversed(CHARGE_LEGS)))
    assert again.pk == first.pk
    assert LedgerTransaction.objects.count() == 1 and LedgerLeg.objects.count() == 4
    assert ledger_balance(account=PLATFORM_BALANCE) == {"usd": 9_680}


@pytest.mark.django_db
def test_other_legs_for_a_source_already_posted_are_refused() -> None:
    _post()
    other_fee = [Leg(PLATFORM_BALANCE, 10_000, "usd"), Leg(BUYER_PAYMENTS, -10_000, "usd")]
    with pytest.raises(PostingConflict, match="ch_1 was already posted as charge"):
        _post(legs=other_fee)
    assert ledger_balance(account=PLATFORM_BALANCE) == {"usd": 9_680}
    # The same Stripe object under another kind is another posting.
    _post(kind="charge.adjustment", legs=[Leg(PLATFORM_BALANCE, 1, "usd"), Leg(BUYER_PAYMENTS, -1, "usd")])
    assert LedgerTransaction.objects.count() == 2


@pytest.mark.django_db
def test_a_reversal_undoes_a_transaction_once() -> None:
    [payout] = post_together(
        postings=[flows.payout(payout_id="po_1", stripe_account=SELLER, amount=9_000, currency="usd")], occurred_at=WHEN
    )
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": -9_000}
    later = WHEN + timedelta(days=2)
    failed = ledger_reverse(original=payout, kind="payout_failure", description="Payout failed", occurred_at=later)
    assert (failed.source_id, failed.reverses_id, failed.occurred_at) == ("po_1", payout.pk, later)
    assert sorted(failed.legs.values_list("amount", flat=True)) == [-9_000, 9_000]
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": 0}
    assert ledger_balance(account=stripe_balance(SELLER), at=later - timedelta(seconds=1)) == {"usd": -9_000}
    # Redelivered: the same reversal. Another correction of the same transaction: refused.
    again = ledger_reverse(original=payout, kind="payout_failure", description="Payout failed", occurred_at=later)
    assert again.pk == failed.pk
    with pytest.raises(AlreadyReversed):
        ledger_reverse(original=payout, kind="payout_cancel", description="", occurred_at=later)
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": 0}


@pytest.mark.django_db
def test_postings_posted_in_one_transaction_are_all_or_nothing() -> None:
    """A handler posts a paid charge's postings in one transaction: a conflict on the last undoes the others."""
    _post()  # ch_1 already posted with the charge's legs
    postings = sale(1, seller=SELLER, stripe_fee=300)  # not what was posted: a conflict, after tr_1 and fee_1
    postings.append(postings.pop(0))
    with pytest.raises(PostingConflict):
        post_together(postings=postings, occurred_at=WHEN)
    assert list(LedgerTransaction.objects.values_list("source_id", flat=True)) == ["ch_1"]


@pytest.mark.django_db
def test_a_failure_in_the_callers_transaction_takes_the_posting_with_it() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        _post()
        raise RuntimeError("the handler failed after posting")
    assert not LedgerTransaction.objects.exists() and not LedgerLeg.objects.exists()


@pytest.mark.django_db(transaction=True, available_apps=["marketplace.ledger"])
def test_ten_threads_posting_the_same_source_make_one_transaction() -> None:
    """Ten workers handle the same redelivered event at once: one posts, nine find its posting."""
    start = threading.Barrier(10)
    ids: list[int] = []
    errors: list[BaseException] = []
    postings = sale("race", seller=SELLER)

    def worker() -> None:
        try:
            start.wait(timeout=30)
            ids.extend(t.pk for t in post_together(postings=postings, occurred_at=WHEN))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(ids) == 30 and len(set(ids)) == 3
    assert LedgerTransaction.objects.count() == 3 and LedgerLeg.objects.count() == 10
    # Created on demand by racing threads, once each: the platform's chart and the seller's set.
    assert Account.objects.count() == len(accounts_of("")) + len(accounts_of(SELLER))
    assert ledger_balance(account=PLATFORM_BALANCE) == {"usd": 680}
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": 9_000}


@pytest.mark.django_db(transaction=True, available_apps=["marketplace.ledger"])
def test_the_first_sales_of_two_sellers_at_once_both_create_accounts_without_deadlock() -> None:
    """The first ever sales of two sellers, each in its own database transaction under its own
    seller's lock, both find the platform's accounts missing. Seller B's sale posts its charge
    (creating the platform's balance) and holds it; seller A's application fee webhook then posts
    (creating the platform's fee revenue, then waiting for B's platform balance); B goes on to its
    transfer and fee, which need the fee revenue A holds. Created on first use in whatever order each
    posting needs them, the two wait for each other and Postgres kills one as a deadlock."""
    seller_a, seller_b = "acct_1FirstSellerA", "acct_1FirstSellerB"
    b_charged = threading.Event()
    errors: list[BaseException] = []
    charge, transfer, fee = sale("b", seller=seller_b)

    def sale_of_b() -> None:
        try:
            with transaction.atomic():
                ledger_lock_stripe_account(stripe_account=seller_b)
                ledger_post_one(posting=charge, occurred_at=WHEN)
                b_charged.set()
                assert _wait_until(_someone_waits_on_a_lock), "seller A's posting never waited for B"
                ledger_post_one(posting=transfer, occurred_at=WHEN)
                ledger_post_one(posting=fee, occurred_at=WHEN)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            b_charged.set()
            connection.close()

    def fee_webhook_of_a() -> None:
        try:
            assert b_charged.wait(timeout=30)
            with transaction.atomic():
                ledger_lock_stripe_account(stripe_account=seller_a)
                fee_a = flows.application_fee(application_fee_id="fee_a", seller=seller_a, amount=1_000, currency="usd")
                ledger_post_one(posting=fee_a, occurred_at=WHEN)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sale_of_b), threading.Thread(target=fee_webhook_of_a)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(LedgerTransaction.objects.values_list("source_id", flat=True)) == ["ch_b", "fee_a", "fee_b", "tr_b"]
    assert ledger_balance(account=stripe_balance(seller_b)) == {"usd": 9_000}
    assert ledger_balance(account=stripe_balance(seller_a)) == {"usd": -1_000}
    assert ledger_balance(account=PLATFORM_BALANCE) == {"usd": 680 + 1_000}


def _someone_waits_on_a_lock() -> bool:
    """Another connection of this database is waiting for a lock (a row or key another holds). Asked
    from inside a transaction, whose statistics views keep their first snapshot unless cleared."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "currency"), [(399, "usd"), (360, "jpy")])
def test_a_posting_writes_its_mirror_row_once_in_its_own_statement(
    amount: int, currency: str, django_assert_num_queries: Callable[..., object]
) -> None:
    """`with_row`: the mirror row goes in with the posting (one statement on Postgres) and, like
    the posting, once: a redelivered event writes neither again."""
    from payouts.models import ApplicationFee

    ledger_post_one(
        posting=flows.application_fee(application_fee_id="fee_0", seller=SELLER, amount=1, currency="usd"),
        occurred_at=WHEN,
    )  # the seller's accounts exist
    posting = flows.application_fee(application_fee_id="fee_1", seller=SELLER, amount=amount, currency=currency)
    before = ledger_balance(account=stripe_balance(SELLER)).get(currency, 0)

    def post() -> LedgerTransaction:
        row = ApplicationFee(stripe_id="fee_1", account=SELLER, amount=amount, currency=currency, created_at=WHEN)
        return ledger_post_one(posting=posting, occurred_at=WHEN, lock_stripe_account=SELLER, with_row=row)

    with django_assert_num_queries(1):
        first = post()
    again = post()
    assert again.pk == first.pk
    assert list(ApplicationFee.objects.values_list("stripe_id", "account", "amount", "currency", "payment")) == [
        ("fee_1", SELLER, amount, currency, None)
    ]
    assert ledger_balance(account=stripe_balance(SELLER))[currency] == before - amount


@pytest.mark.django_db
def test_the_posting_statement_is_prepared_once_per_connection() -> None:
    """Planned once, run many times: Postgres lists it among the connection's prepared statements
    after `prepare_threshold` runs, runs it on its generic plan once Postgres has tried five plans
    for values (not on a plan made anew for each run, as when the legs came as arrays), and every
    run is still seen by Django (counted, logged)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        for n in range(12):
            _post(source_id=f"ch_prep{n}")
    assert len([q for q in queries if "ledger_ledgertransaction" in q["sql"]]) >= 12
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%ledger_ledgerleg%"],
        )
        rows = cursor.fetchall()
    assert len(rows) == 1
    generic_plans, custom_plans = rows[0]
    assert custom_plans <= 5
    assert generic_plans >= 4


# --- Accounts named by id once this process knows them (`services._KnownAccounts`) ---

KNOWN = pytest.mark.django_db(transaction=True, available_apps=["marketplace.ledger"])


def _statements(run: Callable[[], object]) -> list[str]:
    """What `run` sent, less the transaction's BEGIN and COMMIT."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run()
    return [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]


def _seller_fee(n: int, currency: str) -> Callable[[], LedgerTransaction]:
    posting = flows.application_fee(application_fee_id=f"fee_k{n}", seller=SELLER, amount=100 * n, currency=currency)
    return lambda: ledger_post_one(posting=posting, occurred_at=WHEN, lock_stripe_account=SELLER)


@KNOWN
@pytest.mark.parametrize("currency", ["usd", "jpy"])
def test_once_a_posting_has_committed_later_ones_name_its_accounts_by_id(currency: str) -> None:
    first = _statements(_seller_fee(1, currency))
    assert "LATERAL" in first[0]  # looked up by key, then remembered after the commit
    later = _statements(_seller_fee(2, currency))
    assert len(later) == 1  # nothing left to remember either
    assert "LATERAL" not in later[0]
    assert "pg_relation_filenode" in later[0]
    # The same legs as a posting that looks its accounts up: the seller paid 100 + 200.
    assert ledger_balance(account=stripe_balance(SELLER)) == {currency: -300}
    assert ledger_balance(account=seller_application_fees(SELLER)) == {currency: 300}
    assert LedgerLeg.objects.count() == 8


@KNOWN
def test_after_the_accounts_table_is_emptied_a_posting_looks_its_accounts_up_again() -> None:
    """TRUNCATE (a test's flush) gives the table a new file: the ids kept are not used, and the
    posting is written with accounts created anew."""
    _seller_fee(1, "usd")()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ledger_ledgerleg, ledger_ledgertransaction, ledger_account")
    statements = _statements(_seller_fee(2, "usd"))
    assert "pg_relation_filenode" in statements[0]
    assert any("LATERAL" in sql for sql in statements[1:])
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": -200}
    assert LedgerTransaction.objects.get().source_id == "fee_k2"


@KNOWN
def test_accounts_created_by_a_rolled_back_posting_are_not_remembered() -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        _seller_fee(1, "usd")()
        raise Abort
    assert not Account.objects.exists()
    statements = _statements(_seller_fee(2, "usd"))
    assert "LATERAL" in statements[0]
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": -200}


@KNOWN
def test_a_kept_id_the_database_refuses_is_forgotten_so_the_retry_looks_it_up() -> None:
    """Accounts are never deleted (a trigger refuses it); should one vanish anyway (say, a superuser
    with triggers off), the legs' trigger refuses the posting, and the event's retry looks up."""
    from django.db import IntegrityError

    _seller_fee(1, "usd")()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_account DISABLE TRIGGER ledger_account_undeletable")
        cursor.execute("DELETE FROM ledger_account WHERE stripe_account = %s", [SELLER])
        cursor.execute("ALTER TABLE ledger_account ENABLE TRIGGER ledger_account_undeletable")
    with pytest.raises(IntegrityError, match="does not exist"):
        _seller_fee(2, "usd")()
    statements = _statements(_seller_fee(2, "usd"))
    assert "LATERAL" in statements[0]
    # The seller's accounts were made anew: only the retried posting is on them.
    assert ledger_balance(account=stripe_balance(SELLER)) == {"usd": -200}
