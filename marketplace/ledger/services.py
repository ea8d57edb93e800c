"""Writing to the ledger: post a transaction once per source, or reverse one. Nothing else writes.

`ledger_post` is what a webhook handler or a service calls when Stripe has moved money. It is

- checked: the legs must balance per currency, amounts be non-zero integers, currencies ISO codes.
  This check is what protects the demo's SQLite; on Postgres the database checks again at commit.
- idempotent on (source_id, kind): posting the same source again returns the transaction already
  there, and posting *different* legs for it raises `PostingConflict` (a bug, or Stripe changed
  its mind: either way a person must look, nothing is silently overwritten).
- concurrency-safe without locks: the transaction row is inserted with `ON CONFLICT DO NOTHING`
  (Postgres and SQLite >= 3.35), so of two workers posting the same source at once, one inserts and
  the other waits for its commit, then finds its row.
- atomic: the transaction and its legs are written in one database transaction (the caller's, when
  there is one), so a failure leaves nothing half-posted.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Field, Model
from django.utils import timezone

from marketplace.errors import Conflict, InvalidInput
from marketplace.ledger.chart import AccountRef, accounts_of
from marketplace.ledger.models import Account, LedgerLeg, LedgerTransaction
from marketplace.money import format_money, normalise_currency
from marketplace.prepared import prepared_cursor

_MAX_AMOUNT = 2**63 - 1  # BigIntegerField


@dataclass(frozen=True)
class Leg:
    """One side of a posting: `amount` minor units of `currency` on `account`, debit positive."""

    account: AccountRef
    amount: int
    currency: str


@dataclass(frozen=True)
class Posting:
    """A transaction not yet posted: what `flows` builds and `ledger_post_one` posts."""

    source_id: str
    kind: str
    description: str
    legs: tuple[Leg, ...]


class UnbalancedPosting(InvalidInput):
    code = "ledger_unbalanced"


class PostingConflict(Conflict):
    """The source was posted before with other legs."""

    code = "ledger_posting_conflict"


class AlreadyReversed(Conflict):
    code = "ledger_already_reversed"


def ledger_post(
    *, source_id: str, kind: str, description: str, legs: Sequence[Leg], occurred_at: datetime
) -> LedgerTransaction:
    """Record that money moved: one transaction for the Stripe object `source_id` seen as `kind`.

    Returns the new transaction, or the one already posted for (source_id, kind) when its legs are
    the same (as a multiset: their order does not matter). Raises `UnbalancedPosting` or
    `InvalidInput` for legs that could never be posted, `PostingConflict` for a source already
    posted with other legs.
    """
    return _post(
        source_id=source_id, kind=kind, description=description, legs=legs, occurred_at=occurred_at, reverses=None
    )


def ledger_lock_stripe_account(*, stripe_account: str) -> None:
    """Serialize, until the caller's transaction ends, every money write touching this connected
    account's ledger accounts (a Postgres transaction-scoped advisory lock; SQLite serializes writers
    anyway).

    Why: a paid charge posts three times (charge, transfer, fee) while the transfer's and the fee's
    own webhooks may post the same at the same moment, each creating the seller's accounts on
    first use and inserting its mirror row in its own order; without one lock taken first, two of
    them can each hold what the other waits for (Postgres then kills one as a deadlock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [_lock_key(stripe_account)])


_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext(%s))"


def _lock_key(stripe_account: str) -> str:
    return f"ledger:{stripe_account}"


def ledger_post_one(
    *, posting: Posting, occurred_at: datetime, lock_stripe_account: str = "", with_row: Model | None = None
) -> LedgerTransaction:
    """`ledger_post` of a `Posting` built by `flows`. Without a savepoint of its own: inside a
    caller's transaction (a webhook handler's) a failure aborts the caller's whole change, and a
    posting costs one statement on Postgres, which keeps the webhook worker's rate up.

    `lock_stripe_account` takes that seller's lock (`ledger_lock_stripe_account`) in the posting's
    own statement, before it writes: for a caller whose first write is this posting, one round trip
    instead of two. Its later writes are under the lock as after `ledger_lock_stripe_account`.

    `with_row`: an unsaved model instance inserted unless its unique key is taken (`INSERT ... ON
    CONFLICT DO NOTHING`, like `bulk_create(ignore_conflicts=True)`), whether or not the posting
    was new: the mirror row of the Stripe object posted (a transfer, an application fee). On
    Postgres it is written by the posting's own statement, after the lock: a webhook that records
    a transfer then costs the worker the round trips of one that writes a single row."""
    posted = _post(
        source_id=posting.source_id,
        kind=posting.kind,
        description=posting.description,
        legs=posting.legs,
        occurred_at=occurred_at,
        reverses=None,
        lock_stripe_account=lock_stripe_account,
        with_row=with_row,
    )
    if with_row is not None and connection.vendor != "postgresql":
        type(with_row)._default_manager.bulk_create([with_row], ignore_conflicts=True)
    return posted


def ledger_reverse(
    *, original: LedgerTransaction, kind: str, description: str, occurred_at: datetime, source_id: str | None = None
) -> LedgerTransaction:
    """Undo `original` with a new transaction of the opposite legs, posted under `kind`.

    The source is the original's unless another Stripe object caused the correction (`source_id`).
    Idempotent like `ledger_post`; a transaction can be reversed once (`AlreadyReversed`).
    """
    legs = [Leg(leg.account.ref, -leg.amount, leg.currency) for leg in original.legs.select_related("account")]
    return _post(
        source_id=source_id or original.source_id,
        kind=kind,
        description=description,
        legs=legs,
        occurred_at=occurred_at,
        reverses=original,
    )


def _post(
    *,
    source_id: str,
    kind: str,
    description: str,
    legs: Sequence[Leg],
    occurred_at: datetime,
    reverses: LedgerTransaction | None,
    lock_stripe_account: str = "",
    with_row: Model | None = None,
) -> LedgerTransaction:
    checked = _checked_legs(legs)
    _check_source(source_id, kind, occurred_at)
    created_at = timezone.now()
    reverses_id = reverses.pk if reverses is not None else None
    # savepoint=False: inside a caller's transaction an error must abort it all, not a part.
    with transaction.atomic(savepoint=False):
        txn_id, written = _insert_posting(
            source_id=source_id,
            kind=kind,
            description=description,
            occurred_at=occurred_at,
            created_at=created_at,
            reverses_id=reverses_id,
            legs=checked,
            lock_key=_lock_key(lock_stripe_account) if lock_stripe_account else None,
            with_row=with_row,
        )
        if txn_id is not None and written < len(checked):
            # The first posting to some of these accounts: create them, then write the legs left out.
            missing = _unwritten_legs(txn_id, checked)
            _create_accounts({leg.account for leg in missing})
            if _insert_legs(txn_id, missing, occurred_at):  # pragma: no cover - accounts are never deleted
                raise RuntimeError(f"ledger accounts vanished while posting {source_id}")
    if txn_id is None:
        return _already_posted(source_id, kind, checked, reverses_id)
    row = {
        "id": txn_id,
        "source_id": source_id,
        "kind": kind,
        "description": description,
        "occurred_at": occurred_at,
        "created_at": created_at,
        "reverses_id": reverses_id,
    }
    fields = [f.attname for f in LedgerTransaction._meta.concrete_fields]
    return LedgerTransaction.from_db(connection.alias, fields, [row[name] for name in fields])


def _checked_legs(legs: Iterable[Leg]) -> list[Leg]:
    """The legs with normalised currencies, or the reason they can never be posted."""
    checked: list[Leg] = []
    for leg in legs:
        if not isinstance(leg.account, AccountRef):
            raise InvalidInput(f"A leg's account must be an AccountRef, not {leg.account!r}.", code="ledger_bad_leg")
        if type(leg.amount) is not int or leg.amount == 0 or abs(leg.amount) > _MAX_AMOUNT:
            raise InvalidInput(
                f"A leg's amount must be a non-zero integer of minor units, not {leg.amount!r}.", code="ledger_bad_leg"
            )
        checked.append(Leg(leg.account, leg.amount, normalise_currency(leg.currency)))
    if len(checked) < 2:
        raise UnbalancedPosting("A transaction needs at least two legs.")
    totals: defaultdict[str, int] = defaultdict(int)
    for leg in checked:
        totals[leg.currency] += leg.amount
    off = {currency: total for currency, total in sorted(totals.items()) if total}
    if off:
        sums = ", ".join(f"{format_money(total, currency)} ({currency})" for currency, total in off.items())
        raise UnbalancedPosting(f"The legs do not balance: they sum to {sums}, not zero.")
    return checked


def _check_source(source_id: str, kind: str, occurred_at: datetime) -> None:
    if not source_id or len(source_id) > 255:
        raise InvalidInput("A posting needs its source: the Stripe object id (255 characters at most).")
    if not kind or len(kind) > 60:
        raise InvalidInput("A posting needs a kind (60 characters at most).")
    if timezone.is_naive(occurred_at):
        raise InvalidInput("occurred_at must carry its time zone.")


def _create_accounts(refs: set[AccountRef]) -> None:
    """Create the accounts of `refs` together with every other account of their owners (the
    platform's whole chart, a seller's whole set), in one statement, platform first, each owner's in
    chart order; one created meanwhile by another post is left as it is.

    Why whole sets: a new row holds its key until its transaction ends, and a posting that finds an
    account missing waits there for the transaction that created it. Created one posting's needs at
    a time, the first sales of two sellers deadlocked (tests/ledger/test_posting.py): seller B's
    charge created the platform's balance, seller A's fee created the fee revenue and waited for
    that balance, and B's own fee then waited for A's fee revenue. Creating an owner's set at once
    means a transaction never creates one of its accounts after another: it holds all of them or
    none, so whoever waits holds none that the other needs. A seller's set is contended only by
    posts for that seller, which take the seller's lock first (`ledger_lock_stripe_account`).
    """
    owners = sorted({ref.stripe_account for ref in refs})
    Account.objects.bulk_create(
        [
            Account(code=r.code, stripe_account=r.stripe_account, name=r.name, kind=r.kind)
            for owner in owners
            for r in accounts_of(owner)
        ],
        ignore_conflicts=True,
    )


def _legs_values(legs: Sequence[Leg]) -> tuple[str, list[Any]]:
    """The legs as rows of SQL (code, stripe_account, amount, currency), and their parameters."""
    values = " UNION ALL ".join(["SELECT %s AS code, %s AS stripe_account, %s AS amount, %s AS currency"] * len(legs))
    params: list[Any] = []
    for leg in legs:
        params += [str(leg.account.code), leg.account.stripe_account, leg.amount, leg.currency]
    return values, params


def _insert_posting(
    *,
    source_id: str,
    kind: str,
    description: str,
    occurred_at: datetime,
    created_at: datetime,
    reverses_id: int | None,
    legs: Sequence[Leg],
    lock_key: str | None = None,
    with_row: Model | None = None,
) -> tuple[int | None, int]:
    """The transaction and its legs in one statement on Postgres (one round trip, planned once per
    connection: `marketplace.prepared`): `INSERT ... ON CONFLICT DO NOTHING RETURNING id` of the transaction,
    and in the same statement the legs whose accounts exist, each account looked up by its unique key
    (code, Stripe account) in a subquery of its own: joined instead, the plan read every account row
    while the table had no statistics yet (migration 0004 says the same of the legs' trigger).

    Returns the new id, or None when the source (or the reversed transaction) is taken, and how many
    legs were written (fewer than given when an account does not exist yet). The ORM cannot say
    this: `bulk_create` with `ignore_conflicts` does not return the id. The database's checks are
    the same as for separate statements: the legs' statement trigger runs at the end of the
    statement, when the transaction row is there, and the balance trigger at commit.

    With `lock_key` the statement first takes that advisory lock: the transaction's row is selected
    from the lock's, so nothing is written before the lock is held; so is `with_row`'s (Postgres
    only: on SQLite, whose CTEs cannot insert, `ledger_post_one` inserts it after).

    Once a posting to some accounts has committed, this process keeps their ids (`_KnownAccounts`,
    read after the commit) and later postings to them name the ids (`_posting_by_id_sql`): no
    lookups and no count, about a tenth of the posting's Postgres instructions. The legs' trigger
    still checks that each account exists.
    """
    if connection.vendor != "postgresql":
        txn_id = _insert_transaction(
            source_id=source_id,
            kind=kind,
            description=description,
            occurred_at=occurred_at,
            created_at=created_at,
            reverses_id=reverses_id,
        )
        if txn_id is None:
            return None, 0
        return txn_id, len(legs) - len(_insert_legs(txn_id, list(legs), occurred_at))
    db = connections[DEFAULT_DB_ALIAS]  # once: each attribute read through `connection` looks it up
    when = LedgerTransaction._meta.get_field("occurred_at")
    lock = [lock_key] if lock_key else []
    txn = [
        source_id,
        kind,
        description,
        when.get_db_prep_value(occurred_at, db),
        when.get_db_prep_value(created_at, db),
        reverses_id,
    ]
    row_model = type(with_row) if with_row is not None else None
    mirror = (
        []
        if with_row is None
        else [f.get_db_prep_save(f.pre_save(with_row, True), db) for f in _row_fields(type(with_row))]
    )
    database = db.settings_dict["NAME"]
    known = _known_accounts.get(database)
    account_ids = known.ids_of(legs) if known is not None else None
    if known is not None and account_ids is not None:
        params: list[Any] = [*lock, known.filenode, *txn]
        for leg, account_id in zip(legs, account_ids, strict=True):
            params += [account_id, leg.amount, leg.currency]
        try:
            with prepared_cursor() as cursor:
                cursor.execute(_posting_by_id_sql(bool(lock_key), row_model, len(legs)), [*params, *mirror])
                row = cursor.fetchone()
        except IntegrityError:
            _known_accounts.pop(database, None)  # an id may be stale: the retry looks them up
            raise
        if row is not None and row[1]:
            return (None, 0) if row[0] is None else (int(row[0]), len(legs))
        # The accounts' table was emptied since the ids were read (a test's flush): look them up.
        _known_accounts.pop(database, None)
    params = [*lock, *txn]
    for leg in legs:
        params += [str(leg.account.code), leg.account.stripe_account, leg.amount, leg.currency]
    with prepared_cursor() as cursor:
        cursor.execute(_posting_sql(bool(lock_key), row_model, len(legs)), [*params, *mirror])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None, 0
    # Once committed, these accounts exist (`_post` creates those missing): the next posting names them by id.
    owners = sorted({leg.account.stripe_account for leg in legs})
    transaction.on_commit(functools.partial(_remember_accounts, owners), using=db.alias, robust=True)
    return int(row[0]), int(row[1])


@functools.cache
def _posting_sql(locked: bool, row_model: type[Model] | None, legs: int) -> str:
    """The posting's statement (Postgres) for its shape: with the seller's lock or not, with a row
    of `row_model` or not, with its number of legs. Built once: its text is what Postgres prepares.

    Table names are the models', quoted; every value is a parameter. The legs are rows of a
    VALUES list, one text per number of legs (two to six): scalar parameters cost the client less
    to send than arrays (about 20 us a posting), and the plan knows how many legs there are."""
    qn = connection.ops.quote_name
    sql = (
        f"WITH k AS ({_LOCK_SQL if locked else 'SELECT 1'}),"  # noqa: S608
        f" t AS (INSERT INTO {qn(LedgerTransaction._meta.db_table)}"
        " (source_id, kind, description, occurred_at, created_at, reverses_id)"
        " SELECT %s, %s, %s, %s::timestamptz, %s::timestamptz, %s::bigint FROM k ON CONFLICT DO NOTHING"
        " RETURNING id, occurred_at),"
        f" l AS (INSERT INTO {qn(LedgerLeg._meta.db_table)} (transaction_id, account_id, amount, currency, occurred_at)"
        " SELECT t.id, a.id, v.amount, v.currency, t.occurred_at FROM t CROSS JOIN"
        f" (VALUES {', '.join(['(%s::text, %s::text, %s::bigint, %s::text)'] * legs)})"
        " AS v(code, stripe_account, amount, currency)"
        f" CROSS JOIN LATERAL (SELECT id FROM {qn(Account._meta.db_table)}"
        " WHERE code = v.code AND stripe_account = v.stripe_account LIMIT 1) a"
        " RETURNING 1)"
    )
    if row_model is not None:
        sql += _mirror_cte(row_model)
    return sql + " SELECT (SELECT id FROM t), (SELECT count(*) FROM l)"  # noqa: S608


@functools.cache
def _posting_by_id_sql(locked: bool, row_model: type[Model] | None, legs: int) -> str:
    """`_posting_sql` for legs whose account ids are known (`_KnownAccounts`): no lookups, and no
    count of the legs written (all are, or the legs' trigger refuses the statement).

    The ids hold while `ledger_account` keeps the file they were read from: accounts are never deleted
    (migration 0003), and only TRUNCATE (a test's flush) empties the table, which gives it a new
    file. The statement compares the table's file with the one the ids came from and writes no
    transaction when they differ; its second column says which happened. The mirror row is written
    either way (it names no account)."""
    qn = connection.ops.quote_name
    accounts = f"pg_relation_filenode('{qn(Account._meta.db_table)}'::regclass) = %s::oid"
    sql = (
        f"WITH k AS (SELECT {_LOCK_SQL.removeprefix('SELECT ') + ', ' if locked else ''}{accounts} AS fresh),"  # noqa: S608
        f" t AS (INSERT INTO {qn(LedgerTransaction._meta.db_table)}"
        " (source_id, kind, description, occurred_at, created_at, reverses_id)"
        " SELECT %s, %s, %s, %s::timestamptz, %s::timestamptz, %s::bigint FROM k WHERE k.fresh"
        " ON CONFLICT DO NOTHING RETURNING id, occurred_at),"
        f" l AS (INSERT INTO {qn(LedgerLeg._meta.db_table)} (transaction_id, account_id, amount, currency, occurred_at)"
        " SELECT t.id, v.account_id, v.amount, v.currency, t.occurred_at FROM t CROSS JOIN"
        f" (VALUES {', '.join(['(%s::bigint, %s::bigint, %s::text)'] * legs)}) AS v(account_id, amount, currency))"
    )
    if row_model is not None:
        sql += _mirror_cte(row_model)
    return sql + " SELECT (SELECT id FROM t), (SELECT fresh FROM k)"  # noqa: S608


@dataclass
class _KnownAccounts:
    """Committed accounts' ids by (code, Stripe account), as read from `ledger_account`'s file
    `filenode`: what lets a posting name its accounts by id (`_posting_by_id_sql`)."""

    filenode: int
    ids: dict[tuple[str, str], int]

    def ids_of(self, legs: Sequence[Leg]) -> list[int] | None:
        """The legs' account ids, or None if one is not known."""
        found = []
        for leg in legs:
            account_id = self.ids.get((leg.account.code, leg.account.stripe_account))
            if account_id is None:
                return None
            found.append(account_id)
        return found


# Per database name: a process may reach several (the benchmarks' scratch databases).
_known_accounts: dict[str, _KnownAccounts] = {}
# A bound on what a worker keeps: 4 accounts a seller, so the ids of ~12,000 sellers (a few MB).
_KNOWN_ACCOUNTS_MAX = 50_000


def ledger_forget_known_accounts() -> None:
    """Forget the account ids this process keeps. A posting finds out by itself that the accounts'
    table was emptied, at the cost of one more statement; the tests, which empty it between tests,
    call this first so that each test counts only its own statements."""
    _known_accounts.clear()


def _remember_accounts(owners: Sequence[str]) -> None:
    """Keep the ids of `owners`' accounts, read after the commit that wrote their first legs, so
    only committed accounts are kept (a rolled-back transaction's new accounts are not)."""
    db = connections[DEFAULT_DB_ALIAS]
    qn = db.ops.quote_name
    table = qn(Account._meta.db_table)
    refs = [ref for owner in owners for ref in accounts_of(owner)]
    with db.cursor() as cursor:
        # By the accounts' unique key, not by owner, which no index leads with.
        cursor.execute(
            f"SELECT a.code, a.stripe_account, a.id, pg_relation_filenode('{table}'::regclass) FROM {table} a"  # noqa: S608
            " JOIN unnest(%s::text[], %s::text[]) AS r(code, stripe_account)"
            " ON a.code = r.code AND a.stripe_account = r.stripe_account",
            [[str(ref.code) for ref in refs], [ref.stripe_account for ref in refs]],
        )
        rows = cursor.fetchall()
    if not rows:
        return
    name = db.settings_dict["NAME"]
    filenode = int(rows[0][3])
    known = _known_accounts.get(name)
    if known is None or known.filenode != filenode or len(known.ids) + len(rows) > _KNOWN_ACCOUNTS_MAX:
        known = _known_accounts[name] = _KnownAccounts(filenode, {})
    known.ids.update({(code, stripe_account): account_id for code, stripe_account, account_id, _ in rows})


def _mirror_cte(row_model: type[Model]) -> str:
    """The mirror row's part of a posting's statement: every column but the database's own key,
    each value cast to its column's type (a server-bound parameter in a SELECT list has none of its
    own), selected from the lock's."""
    qn = connection.ops.quote_name
    fields = _row_fields(row_model)
    columns = ", ".join(qn(f.column) for f in fields)
    values = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    table = qn(row_model._meta.db_table)
    return f", m AS (INSERT INTO {table} ({columns}) SELECT {values} FROM k ON CONFLICT DO NOTHING)"  # noqa: S608


@functools.cache
def _row_fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    meta = model._meta
    return tuple(f for f in meta.concrete_fields if f is not meta.auto_field)


def _insert_legs(txn_id: int, legs: list[Leg], occurred_at: datetime) -> list[Leg]:
    """Write the legs whose accounts exist, finding the accounts in the same statement; return the
    legs left unwritten."""
    qn = connection.ops.quote_name
    values, leg_params = _legs_values(legs)
    sql = (
        f"INSERT INTO {qn(LedgerLeg._meta.db_table)} (transaction_id, account_id, amount, currency, occurred_at)"  # noqa: S608
        f" SELECT %s, a.id, v.amount, v.currency, %s FROM ({values}) v JOIN {qn(Account._meta.db_table)} a"
        " ON a.code = v.code AND a.stripe_account = v.stripe_account"
    )
    when = LedgerLeg._meta.get_field("occurred_at").get_db_prep_value(occurred_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [txn_id, when, *leg_params])
        if cursor.rowcount == len(legs):
            return []
    return _unwritten_legs(txn_id, legs)


def _unwritten_legs(txn_id: int, legs: list[Leg]) -> list[Leg]:
    """The legs of `legs` that transaction `txn_id` does not have yet (as a multiset)."""
    written = Counter(
        LedgerLeg.objects.filter(transaction_id=txn_id).values_list("account__code", "account__stripe_account")
    )
    unwritten: list[Leg] = []
    for leg in legs:
        key = (str(leg.account.code), leg.account.stripe_account)
        if written[key]:
            written[key] -= 1
        else:
            unwritten.append(leg)
    return unwritten


def _insert_transaction(
    *,
    source_id: str,
    kind: str,
    description: str,
    occurred_at: datetime,
    created_at: datetime,
    reverses_id: int | None,
) -> int | None:
    """The transaction alone (SQLite, whose CTEs cannot insert): INSERT ... ON CONFLICT DO NOTHING
    RETURNING id, the new id or None when the source (or the reversed transaction) is taken."""
    meta = LedgerTransaction._meta
    when = meta.get_field("occurred_at")
    qn = connection.ops.quote_name
    # The table name is the model's, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {qn(meta.db_table)} (source_id, kind, description, occurred_at, created_at, reverses_id)"  # noqa: S608
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id"
    )
    params = [
        source_id,
        kind,
        description,
        when.get_db_prep_value(occurred_at, connection),
        when.get_db_prep_value(created_at, connection),
        reverses_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _already_posted(source_id: str, kind: str, legs: list[Leg], reverses_id: int | None) -> LedgerTransaction:
    existing = LedgerTransaction.objects.filter(source_id=source_id, kind=kind).first()
    if existing is None:  # the conflict was on `reverses`: someone else reversed that transaction
        raise AlreadyReversed(f"Ledger transaction {reverses_id} is already reversed.")
    stored = Counter(existing.legs.values_list("account__code", "account__stripe_account", "amount", "currency"))
    given = Counter((str(leg.account.code), leg.account.stripe_account, leg.amount, leg.currency) for leg in legs)
    if stored != given or existing.reverses_id != reverses_id:
        raise PostingConflict(
            f"{source_id} was already posted as {kind} (ledger transaction {existing.pk}) with other legs."
        )
    return existing
