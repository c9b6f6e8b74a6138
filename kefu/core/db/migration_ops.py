"""Migration operations that keep a big shop's tables writable during an upgrade.

A plain `CREATE INDEX` on PostgreSQL holds a lock that blocks every write to the table until the
index is built: on a shop with millions of orders that is minutes without imports, order
webhooks or payment reminders. `AddIndexOnline` builds the index `CONCURRENTLY` there (writes go
on; the migration must be `atomic = False`, as PostgreSQL refuses a concurrent build inside a
transaction) and as a plain index elsewhere (SQLite has no such lock to avoid).
"""

from __future__ import annotations

from typing import Any

from django.db.migrations.operations import AddIndex
from django.db.models import Index, OrderBy


class AddIndexOnline(AddIndex):
    """`AddIndex` that builds the index without blocking writes on PostgreSQL."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(connection.alias, model):
            return
        # An interrupted concurrent build leaves an INVALID index of that name behind, which
        # the planner never uses and which would make this retry fail with "already exists".
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
                [self.index.name],
            )
            row = cursor.fetchone()
        if row is not None and row[0]:
            schema_editor.execute(
                f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}"
            )
        schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)

    def describe(self) -> str:
        return super().describe() + " (concurrently on PostgreSQL)"


class AddIndexNullsFirst(AddIndex):
    """`AddIndex` of an index with `asc(nulls_first=True)` keys that SQLite can build too.

    SQLite refuses NULLS FIRST in CREATE INDEX, but it sorts NULL before every value
    ascending anyway: there the keys are built plain, which is the same order. PostgreSQL (NULL
    last ascending by default) gets the index as declared."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, _plain_ascending(self.index))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "sqlite":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, _plain_ascending(self.index))


def _plain_ascending(index: Index) -> Index:
    keys = [
        key.expression if isinstance(key, OrderBy) and not key.descending else key
        for key in index.expressions
    ]
    return Index(*keys, name=index.name, condition=index.condition)
