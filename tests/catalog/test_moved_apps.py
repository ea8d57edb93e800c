"""`catalog/` and `fees/` once lived inside `marketplace/`. They kept their app labels and migrations when
they moved, so a database made before the move (the demo's SQLite, production's Postgres) has nothing to
apply and loses nothing: the same tables, the same migration history."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# What a database migrated with the code before the move holds for these two apps (read from one).
TABLES_BEFORE_THE_MOVE = {
    "catalog": {"catalog_cart", "catalog_cartitem", "catalog_category", "catalog_listing", "catalog_listingimage"},
    "fees": {"fees_feerule"},
}
MIGRATIONS_BEFORE_THE_MOVE = {("catalog", "0001_initial"), ("fees", "0001_initial"), ("fees", "0002_platform_defaults")}


def test_the_moved_apps_keep_their_labels_and_tables() -> None:
    for label, tables in TABLES_BEFORE_THE_MOVE.items():
        config = apps.get_app_config(label)
        assert config.name == label  # a top-level package now
        assert {m._meta.db_table for m in config.get_models()} == tables


@pytest.mark.django_db
def test_a_database_from_before_the_move_has_nothing_to_migrate() -> None:
    executor = MigrationExecutor(connection)
    assert set(executor.loader.disk_migrations) >= MIGRATIONS_BEFORE_THE_MOVE
    assert executor.loader.applied_migrations.keys() >= MIGRATIONS_BEFORE_THE_MOVE
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    assert set().union(*TABLES_BEFORE_THE_MOVE.values()) <= set(connection.introspection.table_names())
