"""What the ledger's migrations share (a module the migration loader skips: its name starts with _)."""

from django.db import migrations


class PostgresRunSQL(migrations.RunSQL):
    """RunSQL on Postgres only: the demo's SQLite keeps the tables without the triggers."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
