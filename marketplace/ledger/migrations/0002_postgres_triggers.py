"""Postgres guards the ledger itself, whatever code or SQL writes to it.

1. The legs of a transaction sum to zero in every currency: a constraint trigger on the transaction
   row, DEFERRABLE INITIALLY DEFERRED, sums its legs at commit (the transaction is inserted before
   its legs, so it is unbalanced in between), and refuses a transaction without legs. django-hordak
   runs its check on every leg row; here it runs once per transaction, which is enough because of 2.
2. Legs are added only by the database transaction that inserted their ledger transaction (the
   hidden column `xact_id`, `pg_current_xact_id()` by default, records it), so a committed
   transaction cannot gain legs later; and a leg's `occurred_at` is its transaction's. Checked once
   per INSERT statement over all its rows (a transition table), not once per row.
3. Transactions and legs are immutable: UPDATE and DELETE are refused (corrections are reversing
   transactions). An account's code, Stripe account and kind cannot change. TRUNCATE, a whole-table
   administrative act that test flushes use, is not refused.

Errors are raised with SQLSTATE 23514 (check_violation), 23001 (restrict_violation) or 23503
(foreign_key_violation), which Django reports as IntegrityError. SQLite (the demo) has none of this:
there `services.ledger_post` is the only check, which is why the service validates before it writes.
"""

from django.db import migrations

from marketplace.ledger.migrations._postgres import PostgresRunSQL

# The legs' trigger function as of this migration (0003 restores it when it is unapplied).
LEGS_BELONG = """
CREATE FUNCTION ledger_legs_belong() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT l.transaction_id, l.occurred_at AS leg_time, t.occurred_at AS txn_time, t.xact_id, t.id IS NULL AS orphan
        INTO bad
        FROM new_legs l LEFT JOIN ledger_ledgertransaction t ON t.id = l.transaction_id
        WHERE t.id IS NULL OR t.xact_id <> pg_current_xact_id() OR l.occurred_at IS DISTINCT FROM t.occurred_at
        LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.orphan THEN
        RAISE EXCEPTION 'ledger transaction % does not exist', bad.transaction_id
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

# The balance check's function as of this migration (0006 restores it when it is unapplied).
BALANCED = """
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    per_currency RECORD;
    has_legs boolean := false;
BEGIN
    FOR per_currency IN
        SELECT currency, sum(amount) AS total FROM ledger_ledgerleg WHERE transaction_id = NEW.id GROUP BY currency
    LOOP
        has_legs := true;
        IF per_currency.total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % does not balance: its % legs sum to %, not 0',
                NEW.id, per_currency.currency, per_currency.total USING ERRCODE = 'check_violation';
        END IF;
    END LOOP;
    IF NOT has_legs THEN
        RAISE EXCEPTION 'ledger transaction % has no legs', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
"""  # noqa: S608 - constant text, no value is formatted in

FORWARD = (
    """
ALTER TABLE ledger_ledgertransaction ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
"""
    + BALANCED
    + """
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_ledgertransaction DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
"""  # noqa: S608 - constant text, no value is formatted in
    + LEGS_BELONG
    + """
-- Once per INSERT statement, over all the legs it wrote (a posting writes its legs in one statement).
CREATE TRIGGER ledger_legs_belong
    AFTER INSERT ON ledger_ledgerleg REFERENCING NEW TABLE AS new_legs
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_legs_belong();

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
)

BACKWARD = """
DROP TRIGGER ledger_account_identity_immutable ON ledger_account;
DROP TRIGGER ledger_leg_immutable ON ledger_ledgerleg;
DROP TRIGGER ledger_transaction_immutable ON ledger_ledgertransaction;
DROP FUNCTION ledger_refuse_change();
DROP TRIGGER ledger_legs_belong ON ledger_ledgerleg;
DROP FUNCTION ledger_legs_belong();
DROP TRIGGER ledger_transaction_balanced ON ledger_ledgertransaction;
DROP FUNCTION ledger_transaction_balanced();
ALTER TABLE ledger_ledgertransaction DROP COLUMN xact_id;
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [PostgresRunSQL(FORWARD, reverse_sql=BACKWARD)]
