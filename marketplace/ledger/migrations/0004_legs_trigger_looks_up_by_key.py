"""The legs' trigger looks each leg's transaction and account up by its key, whatever the statistics.

Why: its plan joined the statement's legs to every account (a hash join over a sequential scan of
`ledger_account`) while the table had no statistics, as on a server whose autovacuum has not
analysed it yet. Each posting then read every account row, for as long as the planner judged that
cheaper than looking its few legs' accounts up (with 810 accounts it still did). Measured with 810
accounts (one backend, 4,000 postings each, three runs): 317-372 -> 305-320 us of Postgres CPU
a posting. Each lookup is a subquery of its own (`LATERAL ... LIMIT 1`), which the planner cannot
turn back into a join: it reads the primary key's index. The checks are the same as in 0003.
"""

import importlib

from django.db import migrations

from marketplace.ledger.migrations._postgres import PostgresRunSQL

_0003 = importlib.import_module("marketplace.ledger.migrations.0003_leg_keys_checked_by_trigger")

JOINS = """        LEFT JOIN ledger_ledgertransaction t ON t.id = l.transaction_id
        LEFT JOIN ledger_account a ON a.id = l.account_id
"""
LOOKUPS = """        LEFT JOIN LATERAL (
            SELECT id, occurred_at, xact_id FROM ledger_ledgertransaction WHERE id = l.transaction_id LIMIT 1
        ) t ON true
        LEFT JOIN LATERAL (SELECT id FROM ledger_account WHERE id = l.account_id LIMIT 1) a ON true
"""
assert JOINS in _0003.LEGS_BELONG

# 0003's function with its two joins made lookups; backwards, 0003's as it was.
FORWARD = _0003.LEGS_BELONG.replace(JOINS, LOOKUPS)
BACKWARD = _0003.LEGS_BELONG


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_leg_keys_checked_by_trigger")]

    operations = [PostgresRunSQL(FORWARD, reverse_sql=BACKWARD)]
