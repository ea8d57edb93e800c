"""A leg's transaction and account are checked by the ledger's statement trigger, not by foreign keys.

Why: Postgres checks a deferrable foreign key row by row at commit, two per leg, and each check
takes a key-share lock on the row it finds; every posting names the platform's accounts, so
concurrent postings share those locks (multixacts). Measured on 1,000 webhook postings each
(`transfer.created`, `application_fee.created`, one backend, `/proc`), the constraints cost about
120 us of Postgres CPU per posting, a fifth of it.

What replaces them checks the same: `ledger_legs_belong` (migration 0002), which already refused a
leg whose transaction does not exist, now also refuses one whose account does not exist, once per
INSERT statement over all its legs; and an account can no longer be deleted (nothing deletes one;
a foreign key refused it while it had legs). Transactions and legs were already undeletable.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

from marketplace.ledger.migrations._postgres import PostgresRunSQL

_0002 = importlib.import_module("marketplace.ledger.migrations.0002_postgres_triggers")

# The legs' trigger function as of this migration (0004 derives its own from it).
LEGS_BELONG = """
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

FORWARD = (
    LEGS_BELONG
    + """
CREATE TRIGGER ledger_account_undeletable
    BEFORE DELETE ON ledger_account FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""
)

BACKWARD = """
DROP TRIGGER ledger_account_undeletable ON ledger_account;
""" + _0002.LEGS_BELONG.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_postgres_triggers"),
    ]

    operations = [
        # The trigger's checks first, so no moment is without them.
        PostgresRunSQL(FORWARD, reverse_sql=BACKWARD),
        migrations.AlterField(
            model_name="ledgerleg",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="legs",
                to="ledger.account",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerleg",
            name="transaction",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="legs",
                to="ledger.ledgertransaction",
            ),
        ),
    ]
