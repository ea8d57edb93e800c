"""Reconciliation: every balance transaction Stripe has for the platform and each seller, matched
to the ledger by source, amount, fee and net; every difference recorded for admins.

How it stays fast and flat in memory: Stripe's transactions are streamed page by page (the
gateway's generator, run a thousand transactions ahead on a thread of its own so that Stripe's
answers and our inserts overlap) and written to `ReconciliationLine` a page at a time, each under the key of
the ledger posting that must match it: its `source`, except a seller's `py_` payment and `pyr_`
refund, which the ledger knows as the transfer and the transfer reversal they came from
(`source_transfer`, `source_transfer_reversal`, read with `data.source` expanded), and a dispute's
countered fee (`stripe_fee`), which the ledger posts under the balance transaction's own id.
Then one SQL statement sums both sides per (account, key, currency) and keeps only the rows that
differ, so neither side is ever held whole in Python.

Sums per key rather than per transaction, because one Stripe object can have several
transactions (a payout and its `payout_failure`, a dispute withdrawn and reinstated) and several
ledger postings (a posting and its reversal). The fee side: Stripe's `fee` is the processing or
dispute fee on the platform (the ledger's legs on *Stripe processing fees* and *Dispute fees* of
that posting; a countered fee is the amount itself, not a fee) and the platform's application fee
on a seller's payment (the seller's leg of the `application_fee` posting, keyed to the payment's
transfer through the mirrored fee and transfer).

A ledger group that sums to nothing and that Stripe does not know (a posting and its reversal)
is no difference. Idempotent: a run records what it finds, refreshes the differences still there, and deletes
those in its scope it no longer finds (a fixed difference disappears); a second run at once finds
the same. Runs do not overlap (a Postgres advisory lock; SQLite serialises writers anyway).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from queue import Empty, Queue
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

from marketplace.errors import Conflict
from marketplace.gateway.balances import balance_transactions_list
from marketplace.gateway.types import BalanceTransaction
from marketplace.ledger.chart import AccountCode
from marketplace.ledger.flows import PostingKind
from marketplace.ledger.models import Account, LedgerLeg, LedgerTransaction
from orders.models import Order
from payments.models import Payment
from payouts.models import (
    ApplicationFee,
    DifferenceKind,
    ReconciliationDifference,
    ReconciliationLine,
    ReconciliationRun,
    Transfer,
)
from sellers.models import Seller

logger = logging.getLogger(__name__)

BATCH = 500  # Stripe lines written per INSERT (five of Stripe's pages)
T = TypeVar("T")
LOCK_KEY = 0x5EC0_4C1E  # pg_try_advisory_lock key of the reconciliation


class ReconciliationRunning(Conflict):
    code = "reconciliation_running"


@dataclass(frozen=True)
class RunResult:
    run: ReconciliationRun

    @property
    def summary(self) -> str:
        r = self.run

        def counted(n: int, noun: str) -> str:
            return f"{n} {noun}{'' if n == 1 else 's'}"

        return (
            f"Reconciled {counted(r.stripe_transactions, 'Stripe balance transaction')} of "
            f"{counted(r.accounts, 'account')} against the ledger: {counted(r.differences, 'difference')}"
        )


def stripe_key(txn: BalanceTransaction, account: str) -> str:
    """The ledger source a balance transaction must match (see the module docstring)."""
    if account and txn.type == "payment" and txn.source_transfer:
        return txn.source_transfer
    if account and txn.type == "payment_refund" and txn.source_transfer_reversal:
        return txn.source_transfer_reversal
    if txn.type == "stripe_fee":  # a dispute's countered fee: the ledger posts each under its own id
        return txn.id
    return txn.source or txn.id


def reconcile(*, since: datetime | None = None, account: str | None = None) -> RunResult:
    """One run over the platform and every seller (or only `account`, an `acct_...` or "" for the
    platform), from `since` (all Stripe keeps when None). Raises `ReconciliationRunning` when a run
    is already going; Stripe unreachable raises `PaymentProviderError` and records nothing."""
    with _exclusive():
        accounts = [account] if account is not None else ["", *_seller_accounts()]
        run = ReconciliationRun.objects.create(since=since, account=account or "", accounts=len(accounts))
        try:
            run.stripe_transactions = _load_stripe(run, accounts, since)
            found = _differences(run, accounts, since)
            with transaction.atomic():
                _record(run, found, accounts, since)
                run.differences = len(found)
                run.finished_at = timezone.now()
                run.save(update_fields=["stripe_transactions", "differences", "finished_at"])
        finally:
            ReconciliationLine.objects.filter(run=run).delete()
    logger.info(RunResult(run).summary)
    return RunResult(run)


def _seller_accounts() -> list[str]:
    rows = Seller.objects.exclude(stripe_account_id=None).order_by("pk").values_list("stripe_account_id", flat=True)
    return [str(account) for account in rows]


@contextmanager
def _exclusive() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        (got,) = cursor.fetchone() or (False,)
    if not got:
        raise ReconciliationRunning("A reconciliation is already running; try again when it has finished.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _load_stripe(run: ReconciliationRun, accounts: Iterable[str], since: datetime | None) -> int:
    """Write Stripe's side a batch at a time, while the next pages are already being fetched."""
    count = 0
    batch: list[tuple[str, BalanceTransaction]] = []
    for item in _prefetched(_stripe_transactions(accounts, since)):
        batch.append(item)
        count += 1
        if len(batch) >= BATCH:
            _write_lines(run, batch)
            batch = []
    if batch:
        _write_lines(run, batch)
    return count


_LINE_COLUMNS = (
    "run_id",
    "stripe_account",
    "key",
    "currency",
    "stripe_id",
    "type",
    "amount",
    "fee",
    "net",
    "created_at",
)


def _write_lines(run: ReconciliationRun, batch: list[tuple[str, BalanceTransaction]]) -> None:
    """One batch of Stripe's lines. On Postgres by COPY: the rows go as they are, without a model
    instance each nor the ORM's per-value preparation, which took the GIL from the thread fetching
    the next pages (a third of the reconciliation's own time in its profile); elsewhere (the
    demo's SQLite) with `bulk_create`."""
    rows = [
        (
            run.pk,
            account,
            stripe_key(txn, account),
            txn.currency,
            txn.id,
            txn.type,
            txn.amount,
            txn.fee,
            txn.net,
            datetime.fromtimestamp(txn.created, tz=UTC),
        )
        for account, txn in batch
    ]
    if connection.vendor != "postgresql":
        ReconciliationLine.objects.bulk_create(
            [ReconciliationLine(**dict(zip(_LINE_COLUMNS, row, strict=True))) for row in rows]
        )
        return
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in _LINE_COLUMNS)
    table = qn(ReconciliationLine._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _stripe_transactions(accounts: Iterable[str], since: datetime | None) -> Iterator[tuple[str, BalanceTransaction]]:
    created_gte = int(since.timestamp()) if since else None
    for account in accounts:
        for txn in balance_transactions_list(
            account=account or None, created_gte=created_gte, expand_source=bool(account)
        ):
            yield account, txn


_DONE = object()


def _prefetched(items: Iterator[T], depth: int = 2 * BATCH) -> Iterator[T]:
    """`items`, produced by a thread of its own up to `depth` ahead: Stripe answers the next pages
    while this thread writes the last ones to the database (the two waits overlap instead of
    adding up), and at most `depth` transactions are held. An error in the producer (Stripe
    unreachable) is raised here; stopping early stops the producer."""
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            queue.put(_Failed(exc))
        finally:
            queue.put(_DONE)

    worker = threading.Thread(target=produce, name="reconcile-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except Empty:
                worker.join(timeout=0.05)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class Found:
    stripe_account: str
    key: str
    currency: str
    stripe_amount: int | None
    stripe_fee: int | None
    stripe_net: int | None
    stripe_id: str
    stripe_type: str
    ledger_amount: int | None
    ledger_fee: int | None
    ledger_net: int | None
    occurred_at: datetime | None

    @property
    def kind(self) -> DifferenceKind:
        if self.ledger_net is None:
            return DifferenceKind.MISSING_IN_LEDGER
        if self.stripe_net is None:
            return DifferenceKind.MISSING_AT_STRIPE
        return DifferenceKind.AMOUNT_MISMATCH


def _differences(run: ReconciliationRun, accounts: list[str], since: datetime | None) -> list[Found]:
    """Both sides summed per (account, key, currency), compared in one statement; only the rows
    that differ come back."""
    qn = connection.ops.quote_name
    leg, txn, acct = (qn(m._meta.db_table) for m in (LedgerLeg, LedgerTransaction, Account))
    line, fee_t, tr_t = (qn(m._meta.db_table) for m in (ReconciliationLine, ApplicationFee, Transfer))
    marks = ", ".join(["%s"] * len(accounts))
    when = LedgerLeg._meta.get_field("occurred_at")
    since_sql, since_params = (
        ("AND l.occurred_at >= %s", [when.get_db_prep_value(since, connection)]) if since else ("", [])
    )
    fee_codes = [AccountCode.STRIPE_FEES, AccountCode.DISPUTE_FEES]
    # Every value is a parameter; the identifiers are the models' own table names, quoted.
    sql = f"""
    WITH bal AS (
        SELECT l.transaction_id, a.stripe_account, l.currency, SUM(l.amount) AS net, MIN(l.occurred_at) AS occurred_at
        FROM {leg} l JOIN {acct} a ON a.id = l.account_id
        WHERE a.code = %s AND a.stripe_account IN ({marks}) {since_sql}
        GROUP BY l.transaction_id, a.stripe_account, l.currency
    ), fees AS (
        SELECT l.transaction_id, l.currency, SUM(l.amount) AS fee
        FROM {leg} l JOIN {acct} a ON a.id = l.account_id
        WHERE a.code IN (%s, %s) {since_sql}
        GROUP BY l.transaction_id, l.currency
    ), ledger AS (
        SELECT bal.stripe_account,
               CASE WHEN bal.stripe_account <> '' AND t.kind = %s THEN COALESCE(tr.stripe_id, t.source_id)
                    ELSE t.source_id END AS key,
               bal.currency,
               SUM(bal.net) AS net,
               SUM(CASE WHEN t.kind = %s THEN 0
                        WHEN bal.stripe_account = '' THEN COALESCE(fees.fee, 0)
                        WHEN t.kind = %s THEN -bal.net ELSE 0 END) AS fee,
               MIN(bal.occurred_at) AS occurred_at
        FROM bal JOIN {txn} t ON t.id = bal.transaction_id
        LEFT JOIN fees ON fees.transaction_id = bal.transaction_id AND fees.currency = bal.currency
             AND bal.stripe_account = ''
        LEFT JOIN {fee_t} af ON t.kind = %s AND bal.stripe_account <> '' AND af.stripe_id = t.source_id
        LEFT JOIN {tr_t} tr ON tr.payment_id = af.payment_id AND tr.destination = bal.stripe_account
        GROUP BY 1, 2, 3
    ), stripe AS (
        SELECT stripe_account, key, currency, SUM(amount) AS amount, SUM(fee) AS fee, SUM(net) AS net,
               MIN(stripe_id) AS stripe_id, MIN(type) AS type, MIN(created_at) AS created_at
        FROM {line} WHERE run_id = %s
        GROUP BY stripe_account, key, currency
    )
    SELECT COALESCE(s.stripe_account, g.stripe_account), COALESCE(s.key, g.key), COALESCE(s.currency, g.currency),
           s.amount, s.fee, s.net, s.stripe_id, s.type,
           g.net + g.fee, g.fee, g.net, COALESCE(s.created_at, g.occurred_at)
    FROM stripe s FULL OUTER JOIN ledger g
         ON g.stripe_account = s.stripe_account AND g.key = s.key AND g.currency = s.currency
    WHERE (s.key IS NULL AND (g.net <> 0 OR g.fee <> 0)) OR g.key IS NULL
       OR s.net <> g.net OR s.fee <> g.fee OR s.amount <> g.net + g.fee
    ORDER BY 12, 2
    """  # noqa: S608
    params = [
        AccountCode.STRIPE_BALANCE,
        *accounts,
        *since_params,
        *fee_codes,
        *since_params,
        PostingKind.APPLICATION_FEE,
        PostingKind.DISPUTE_COUNTERED_FEE,
        PostingKind.APPLICATION_FEE,
        PostingKind.APPLICATION_FEE,
        run.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(p) if isinstance(p, AccountCode | PostingKind) else p for p in params])
        rows = cursor.fetchall()
    field = ReconciliationLine._meta.get_field("created_at")
    out = []
    for row in rows:
        occurred = row[11]
        if occurred is not None and not isinstance(occurred, datetime):  # SQLite answers text, naive UTC
            occurred = field.to_python(occurred)
            if occurred is not None and occurred.tzinfo is None:
                occurred = occurred.replace(tzinfo=UTC)
        out.append(Found(*row[:11], occurred_at=occurred))  # type: ignore[misc]
    return out


def _record(run: ReconciliationRun, found: list[Found], accounts: list[str], since: datetime | None) -> None:
    orders = _orders_of({f.key for f in found})
    for f in found:
        ReconciliationDifference.objects.update_or_create(
            stripe_account=f.stripe_account,
            key=f.key,
            currency=f.currency,
            defaults={
                "kind": f.kind,
                "stripe_id": f.stripe_id or "",
                "stripe_type": f.stripe_type or "",
                "stripe_amount": f.stripe_amount,
                "stripe_fee": f.stripe_fee,
                "stripe_net": f.stripe_net,
                "ledger_amount": f.ledger_amount,
                "ledger_fee": f.ledger_fee,
                "ledger_net": f.ledger_net,
                "order_id": orders.get(f.key),
                "occurred_at": f.occurred_at,
                "last_seen_run": run,
            },
        )
    gone = ReconciliationDifference.objects.filter(stripe_account__in=accounts).exclude(last_seen_run=run)
    if since is not None:
        gone = gone.filter(occurred_at__gte=since)
    gone.delete()


def _orders_of(keys: set[str]) -> dict[str, int]:
    """Our order behind each Stripe object that we can trace (a charge, a transfer, a fee).

    A payment for several shops has one charge and one transfer per shop: each transfer is its own
    order's (`Order.stripe_transfer_id`), and the charge names no single order. A destination charge,
    its transfer and its fee are the one order's of their payment."""
    order_of = dict(Order.objects.filter(stripe_transfer_id__in=keys).values_list("stripe_transfer_id", "id"))
    payment_of: dict[str, int] = {}
    payment_of.update(Payment.objects.filter(stripe_charge_id__in=keys).values_list("stripe_charge_id", "id"))
    for model in (Transfer, ApplicationFee):
        rows = model.objects.filter(stripe_id__in=keys, payment__isnull=False).values_list("stripe_id", "payment_id")
        payment_of.update({k: p for k, p in rows if p is not None and k not in order_of})
    orders_of_payment: dict[int, list[int]] = {}
    for payment_id, order_id in Order.objects.filter(payment_id__in=set(payment_of.values())).values_list(
        "payment_id", "id"
    ):
        orders_of_payment.setdefault(payment_id, []).append(order_id)
    for key, payment_id in payment_of.items():
        orders = orders_of_payment.get(payment_id, [])
        if len(orders) == 1:
            order_of[key] = orders[0]
    return order_of
