"""The legs' statement trigger also checks each leg's amount and currency, in place of two CHECK constraints,
and asks first whether any leg is wrong, explaining only then.

Why: Postgres rebuilds a table's CHECK constraints for every statement that inserts into it (it reads
each one's stored expression and plans it again), and the legs' two were about a tenth of a posting's
cost. Counted with callgrind on one backend (a `transfer.created`'s posting statement and its commit,
the difference of 1,100 and 100 postings, on a copy of the benchmark's database):

=====================================================  ===================
the legs' database checks                              instructions a post
=====================================================  ===================
0004's trigger and the two CHECK constraints           765,000
the trigger's conditions, no CHECK constraints          702,000
the quick question first (this migration)               677,000
=====================================================  ===================

The quick question is one condition over the statement's legs with a subquery for each lookup
(`OFFSET 0` keeps the planner from turning them into a hash of the whole table, 0004's trouble). When
it finds a wrong leg, 0004's query, with the two new reasons, says which and why.

What is refused is what was refused, with these differences: a zero amount and a currency that is not
three lowercase letters are refused at the end of the INSERT statement, not at the row, as
check_violation with a message of their own instead of the constraint's name; and the currency
must be letters (the CHECK let `'1ab'` through; every other money table's check already asked for
letters). On SQLite (the demo) the service's own check (`services._checked_legs`) is the only one,
as for the rest of the ledger's guarantees.
"""

import importlib

from django.db import migrations

from marketplace.ledger.migrations._postgres import PostgresRunSQL

_0004 = importlib.import_module("marketplace.ledger.migrations.0004_legs_trigger_looks_up_by_key")

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_legs_belong() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad RECORD;
BEGIN
    PERFORM FROM new_legs l
        WHERE l.amount = 0 OR l.currency !~ '^[a-z]{3}$'
            OR NOT EXISTS (
                SELECT FROM ledger_ledgertransaction t WHERE t.id = l.transaction_id
                    AND t.xact_id = pg_current_xact_id() AND t.occurred_at = l.occurred_at OFFSET 0
            )
            OR NOT EXISTS (SELECT FROM ledger_account a WHERE a.id = l.account_id OFFSET 0)
        LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT l.transaction_id, l.account_id, l.amount, l.currency, l.occurred_at AS leg_time,
           t.occurred_at AS txn_time, t.xact_id, t.id IS NULL AS orphan, a.id IS NULL AS no_account
        INTO bad
        FROM new_legs l
        LEFT JOIN LATERAL (
            SELECT id, occurred_at, xact_id FROM ledger_ledgertransaction WHERE id = l.transaction_id LIMIT 1
        ) t ON true
        LEFT JOIN LATERAL (SELECT id FROM ledger_account WHERE id = l.account_id LIMIT 1) a ON true
        WHERE t.id IS NULL OR a.id IS NULL OR t.xact_id <> pg_current_xact_id()
            OR l.occurred_at IS DISTINCT FROM t.occurred_at OR l.amount = 0 OR l.currency !~ '^[a-z]{3}$'
        LIMIT 1;
    IF bad.orphan THEN
        RAISE EXCEPTION 'ledger transaction % does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.no_account THEN
        RAISE EXCEPTION 'ledger account % does not exist', bad.account_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF bad.xact_id <> pg_current_xact_id() THEN
        RAISE EXCEPTION 'ledger transaction % is already committed: it cannot gain legs (post a new transaction)',
            bad.transaction_id USING ERRCODE = 'restrict_violation';
    ELSIF bad.leg_time IS DISTINCT FROM bad.txn_time THEN
        RAISE EXCEPTION 'a leg of ledger transaction % says it occurred at %, the transaction at %',
            bad.transaction_id, bad.leg_time, bad.txn_time USING ERRCODE = 'check_violation';
    ELSIF bad.amount = 0 THEN
        RAISE EXCEPTION 'a leg of ledger transaction % has an amount of 0 (a leg moves money)',
            bad.transaction_id USING ERRCODE = 'check_violation';
    ELSE
        RAISE EXCEPTION 'a leg of ledger transaction % has currency %, not a lowercase ISO 4217 code',
            bad.transaction_id, quote_literal(bad.currency) USING ERRCODE = 'check_violation';
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_balance_check_reads_into_variables")]

    operations = [
        # The trigger's checks first, so no moment is without them (and, backwards, the constraints
        # come back before 0004's trigger does).
        PostgresRunSQL(FORWARD, reverse_sql=_0004.FORWARD),
        migrations.RemoveConstraint(model_name="ledgerleg", name="ledger_leg_amount_not_zero"),
        migrations.RemoveConstraint(model_name="ledgerleg", name="ledger_leg_currency_lowercase_iso"),
    ]
