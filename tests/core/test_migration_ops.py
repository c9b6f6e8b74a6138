"""`AddIndexOnline`: the big-table indexes of an upgrade are built without blocking writes on
PostgreSQL (CREATE INDEX CONCURRENTLY), plainly on SQLite, and a build interrupted halfway
(an INVALID index left behind) is rebuilt when the migration is run again."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from kefu.core.db.migration_ops import AddIndexOnline

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "order_test_online"


def _index_state() -> bool | None:
    """None when there is no index of that name, else whether it is usable."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type='index' AND name=%s", [NAME])
            return True if cursor.fetchone() else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            [NAME],
        )
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def _apply(operation: AddIndexOnline, *, backwards: bool = False) -> list[str]:
    before = MigrationLoader(connection).project_state()
    after = before.clone()
    operation.state_forwards("orders", after)
    with (
        CaptureQueriesContext(connection) as queries,
        connection.schema_editor(atomic=False) as editor,
    ):
        if backwards:
            operation.database_backwards("orders", editor, after, before)
        else:
            operation.database_forwards("orders", editor, before, after)
    return [q["sql"] for q in queries.captured_queries]


def test_the_index_is_built_and_dropped_without_blocking_writes_where_the_database_can():
    operation = AddIndexOnline(
        model_name="order", index=models.Index(fields=["shop", "placed_at"], name=NAME)
    )
    sql = _apply(operation)
    assert _index_state() is True
    creates = [s for s in sql if "CREATE INDEX" in s]
    assert len(creates) == 1
    assert ("CONCURRENTLY" in creates[0]) == (connection.vendor == "postgresql")

    sql = _apply(operation, backwards=True)
    assert _index_state() is None
    drops = [s for s in sql if "DROP INDEX" in s]
    assert len(drops) == 1
    assert ("CONCURRENTLY" in drops[0]) == (connection.vendor == "postgresql")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_an_index_left_invalid_by_an_interrupted_build_is_rebuilt():
    operation = AddIndexOnline(
        model_name="order", index=models.Index(fields=["shop", "placed_at"], name=NAME)
    )
    _apply(operation)
    # What a build cancelled halfway leaves behind (the catalogue flag PostgreSQL sets).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [NAME]
        )
    assert _index_state() is False
    _apply(operation)
    assert _index_state() is True
    _apply(operation, backwards=True)


def test_the_upgrade_migrations_of_big_tables_use_it():
    loader = MigrationLoader(connection)
    for name in ("0011_order_delivered_index", "0012_order_buyer_paid"):
        migration = loader.get_migration("orders", name)
        assert migration.atomic is False
        assert all(isinstance(op, AddIndexOnline) for op in migration.operations)
