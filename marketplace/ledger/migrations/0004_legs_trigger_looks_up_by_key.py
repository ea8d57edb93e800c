"""The legs' trigger looks each leg's transaction and account up by its key, whatever the statistics.

Why: its plan joined the statement's legs to every account (a hash join over a sequential scan of
`ledger_account`) while the table had no statistics, as on a server whose autovacuum has not
analysed it yet. Each posting then read every account row, for as long as the planner judged that
cheaper than looking its few legs' accounts up (with 810 accounts it still did). Measured with 810
accounts (one backend, 4,000 postings each, three runs): 317-372 -> 305-320 us of Postgres CPU
a posting. Each lookup is a subquery of its own (`LATERAL ... LIMIT 1`), which the planner cannot
turn back into a join: it reads the primary key's index. The checks are the same as in 0003.
"""

from django.db import migrations

from marketplace.ledger.migrations._postgres import PostgresRunSQL

FORWARD = """
CREATE OR REPLACE FUNCTION ledger_legs_belong() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT l.transaction_id, l.account_id, l.occurred_at AS leg_time, t.occurred_at AS txn_time, t.xact_id,
           t.id IS NULL AS orphan, a.id IS NULL AS no_account
        INTO bad
        FROM new_legs l
        LEFT JOIN LATERAL (
            SELECT id, occurred_at, xact_id FROM ledger_ledgertransaction WHERE id = l.transaction_id LIMIT 1
        ) t ON true
        LEFT JOIN LATERAL (SELECT id FROM ledger_account WHERE id = l.account_id LIMIT 1) a ON true
        WHERE t.id IS NULL OR a.id IS NULL OR t.xact_id <> pg_current_xact_id()
            OR l.occurred_at IS DISTINCT FROM t.occurred_at
        LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.orphan THEN
        RAISE EXCEPTION 'ledger transaction % does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.no_account THEN
        RAISE EXCEPTION 'ledger account % does not exist', bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.xact_id <> pg_current_xact_id() THEN
        RAISE EXCEPTION 'ledger transaction % is already committed: it cannot gain legs (post a new transaction)',
            bad.transaction_id USING ERRCODE = 'restrict_violation';
    ELSE
        RAISE EXCEPTION 'a leg of ledger transaction % says it occurred at %, the transaction at %',
            bad.transaction_id, bad.leg_time, bad.txn_time USING ERRCODE = 'check_violation';
    END IF;
END
$$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION ledger_legs_belong() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT l.transaction_id, l.account_id, l.occurred_at AS leg_time, t.occurred_at AS txn_time, t.xact_id,
           t.id IS NULL AS orphan, a.id IS NULL AS no_account
        INTO bad
        FROM new_legs l
        LEFT JOIN ledger_ledgertransaction t ON t.id = l.transaction_id
        LEFT JOIN ledger_account a ON a.id = l.account_id
        WHERE t.id IS NULL OR a.id IS NULL OR t.xact_id <> pg_current_xact_id()
            OR l.occurred_at IS DISTINCT FROM t.occurred_at
        LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.orphan THEN
        RAISE EXCEPTION 'ledger transaction % does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.no_account THEN
        RAISE EXCEPTION 'ledger account % does not exist', bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.xact_id <> pg_current_xact_id() THEN
        RAISE EXCEPTION 'ledger transaction % is already committed: it cannot gain legs (post a new transaction)',
            bad.transaction_id USING ERRCODE = 'restrict_violation';
    ELSE
        RAISE EXCEPTION 'a leg of ledger transaction % says it occurred at %, the transaction at %',
            bad.transaction_id, bad.leg_time, bad.txn_time USING ERRCODE = 'check_violation';
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_leg_keys_checked_by_trigger")]

    operations = [PostgresRunSQL(FORWARD, reverse_sql=BACKWARD)]
