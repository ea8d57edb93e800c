"""Postgres guards the ledger itself, whatever code or SQL writes to it.

1. The legs of a transaction sum to zero in every currency: a constraint trigger on the transaction
   row, DEFERRABLE INITIALLY DEFERRED, sums its legs at commit (the transaction is inserted before
   its legs, so it is unbalanced in between). django-hordak checks the same on every leg row; here it
   runs once per transaction, which is enough because of 2.
2. Legs are added only by the database transaction that inserted their ledger transaction (the
   hidden column `xact_id`, `pg_current_xact_id()` by default, records it), so a committed
   transaction cannot gain legs later, and a leg's `occurred_at` is its transaction's.
3. Transactions and legs are immutable: UPDATE and DELETE are refused (corrections are reversing
   transactions). An account's code, Stripe account and kind cannot change. TRUNCATE, a whole-table
   administrative act that test flushes use, is not refused.

Errors are raised with SQLSTATE 23514 (check_violation) or 23001 (restrict_violation), which Django
reports as IntegrityError. SQLite (the demo) has none of this: there `services.ledger_post` is the
only check, which is why the service validates before it writes.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE ledger_ledgertransaction ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    off RECORD;
BEGIN
    SELECT currency, sum(amount) AS total INTO off
        FROM ledger_ledgerleg WHERE transaction_id = NEW.id
        GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: its % legs sum to %, not 0',
            NEW.id, off.currency, off.total USING ERRCODE = 'check_violation';
    END IF;
    PERFORM 1 FROM ledger_ledgerleg WHERE transaction_id = NEW.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger transaction % has no legs', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_ledgertransaction DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

CREATE FUNCTION ledger_leg_belongs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    txn RECORD;
BEGIN
    SELECT occurred_at, xact_id INTO txn FROM ledger_ledgertransaction WHERE id = NEW.transaction_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not exist', NEW.transaction_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF txn.xact_id <> pg_current_xact_id() THEN
        RAISE EXCEPTION 'ledger transaction % is already committed: it cannot gain legs (post a new transaction)',
            NEW.transaction_id USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.occurred_at IS DISTINCT FROM txn.occurred_at THEN
        RAISE EXCEPTION 'a leg of ledger transaction % says it occurred at %, the transaction at %',
            NEW.transaction_id, NEW.occurred_at, txn.occurred_at USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ledger_leg_belongs
    BEFORE INSERT ON ledger_ledgerleg FOR EACH ROW EXECUTE FUNCTION ledger_leg_belongs();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: ledger entries are immutable (post a reversing transaction instead)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_transaction_immutable
    BEFORE UPDATE OR DELETE ON ledger_ledgertransaction FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_leg_immutable
    BEFORE UPDATE OR DELETE ON ledger_ledgerleg FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_account_identity_immutable
    BEFORE UPDATE ON ledger_account FOR EACH ROW
    WHEN (OLD.code IS DISTINCT FROM NEW.code OR OLD.stripe_account IS DISTINCT FROM NEW.stripe_account
          OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER ledger_account_identity_immutable ON ledger_account;
DROP TRIGGER ledger_leg_immutable ON ledger_ledgerleg;
DROP TRIGGER ledger_transaction_immutable ON ledger_ledgertransaction;
DROP FUNCTION ledger_refuse_change();
DROP TRIGGER ledger_leg_belongs ON ledger_ledgerleg;
DROP FUNCTION ledger_leg_belongs();
DROP TRIGGER ledger_transaction_balanced ON ledger_ledgertransaction;
DROP FUNCTION ledger_transaction_balanced();
ALTER TABLE ledger_ledgertransaction DROP COLUMN xact_id;
"""


class PostgresRunSQL(migrations.RunSQL):
    """RunSQL on Postgres only: the demo's SQLite keeps the tables without the triggers."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [PostgresRunSQL(FORWARD, reverse_sql=BACKWARD)]
