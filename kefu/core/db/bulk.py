"""Prepared multi-row INSERT and UPDATE for the import paths (orders R-15, buyers).

`QuerySet.bulk_create` spent more time building its SQL (per value: `pre_save`,
`get_db_prep_save`, placeholder SQL) than the database spent storing the rows, and it needs a
model instance per row. `Table` builds one statement per model and prepares only the values a
driver cannot take as they are. Measured in docs/benchmarks.md, decided in decisions §17.

What is written is what the ORM would write: values go through the backend's own adapters
(aware datetimes become UTC text on SQLite, JSON becomes text or `Jsonb`), columns a caller
leaves out take the model field's default, `auto_now`/`auto_now_add` columns take `now`.
Columns are named by attribute (`order_id`, not `order`); rows are sequences of Python values.

On PostgreSQL plain inserts use COPY: with Django's client-side parameter binding an INSERT of
many rows spends most of its time quoting literals. COPY does not go through Django's cursor
wrappers, so `connection.execute_wrapper` and `connection.queries` do not see it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Self

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict

Prepare = Callable[[Any], Any]

# Python values of these fields reach every driver as they are (str, int, bool or None).
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)
_SQLITE_PARAMS = 32766  # SQLite >= 3.32 (Python 3.11 ships 3.40+)
_SEQUENCES: dict[tuple[str, str], str] = {}  # (alias, table) -> its id sequence
_REQUIRED = object()  # no default: a caller that leaves the column out made a mistake


class Table:
    """Multi-row INSERT and UPDATE for one model, on the database its router writes to."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        meta = model._meta
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.columns = [f.attname for f in self.fields]
        self._by_name = {f.attname: f for f in meta.concrete_fields}

    def _connection(self) -> BaseDatabaseWrapper:
        return connections[router.db_for_write(self.model)]

    def _preparers(self, conn: BaseDatabaseWrapper, fields: Sequence[Any]) -> list[Prepare | None]:
        return [self._preparer(conn, f) for f in fields]

    @staticmethod
    def _preparer(conn: BaseDatabaseWrapper, field: Any) -> Prepare | None:
        kind = field.get_internal_type()
        if kind in _AS_IS:
            return None
        if kind == "DecimalField":
            # The ORM hands a finite Decimal to every backend unchanged (and refuses NaN).
            return lambda v: (
                v if type(v) is Decimal and v.is_finite() else field.get_db_prep_save(v, conn)
            )
        if kind == "DateTimeField":
            adapt = conn.ops.adapt_datetimefield_value

            # A naive value takes the ORM's path, which warns and applies the current zone.
            def datetime(v: Any) -> Any:
                if type(v) is dt.datetime and v.utcoffset() is not None:
                    return adapt(v)
                return field.get_db_prep_save(v, conn)

            return datetime
        return lambda v: field.get_db_prep_save(v, conn)

    def _sql_name(self, conn: BaseDatabaseWrapper, name: str) -> str:
        return conn.ops.quote_name(self._by_name[name].column)

    def _default(self, field: Any, now: dt.datetime) -> Any:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return now
        if field.has_default():
            return field.get_default()
        if field.null:
            return None
        if field.empty_strings_allowed and not field.primary_key:
            return field.get_default()  # "" for text columns, as Model() would set
        return _REQUIRED

    def insert(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        now: dt.datetime,
        ignore_conflicts: bool = False,
    ) -> None:
        """Insert `rows` (values for `columns`, in that order); every other column takes its
        default. One statement (or one COPY) for all rows; ids are not returned."""
        if not rows:
            return
        conn = self._connection()
        rest, tail = self._tail(conn, columns, now)
        prepare = self._preparers(conn, [self._by_name[n] for n in columns])
        params = []
        for row in rows:
            values = [
                v if p is None or v is None else p(v) for v, p in zip(row, prepare, strict=True)
            ]
            values += tail
            params.append(values)
        table = conn.ops.quote_name(self.model._meta.db_table)
        names = ", ".join(self._sql_name(conn, n) for n in [*columns, *(f.attname for f in rest)])
        with conn.cursor() as cursor:
            if conn.vendor == "postgresql" and not ignore_conflicts:
                # COPY bypasses Django's cursor wrapper: raise django.db's errors all the same
                # (IntegrityError drives the upsert's retry, DatabaseError the row isolation).
                with (
                    conn.wrap_database_errors,
                    cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
                ):
                    for values in params:
                        copy.write_row(values)
                return
            on_conflict = OnConflict.IGNORE if ignore_conflicts else None
            suffix = conn.ops.on_conflict_suffix_sql(self.fields, on_conflict, None, None)
            placeholders = ", ".join(["%s"] * (len(columns) + len(rest)))
            cursor.executemany(
                f"{conn.ops.insert_statement(on_conflict=on_conflict)} {table} ({names}) "
                f"VALUES ({placeholders}) {suffix}".rstrip(),
                params,
            )

    def insert_new(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        now: dt.datetime,
        returning: Sequence[str],
    ) -> list[tuple[Any, ...]]:
        """``insert(…, ignore_conflicts=True)`` that returns the ``returning`` columns of the
        rows this statement inserted (those that conflicted are not returned): a caller learns
        which rows are its own without reading them back (the intake batch's new buyers,
        decisions §96). Multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``, as many rows
        per statement as SQLite takes parameters."""
        if not rows:
            return []
        conn = self._connection()
        # INSERT OR IGNORE on SQLite, ON CONFLICT DO NOTHING on PostgreSQL: neither returns
        # the rows it skipped.
        return self._insert_returning_rows(
            conn,
            columns,
            rows,
            now,
            verb=conn.ops.insert_statement(on_conflict=OnConflict.IGNORE),
            suffix=conn.ops.on_conflict_suffix_sql(self.fields, OnConflict.IGNORE, None, None),
            returning=[self._sql_name(conn, n) for n in returning],
        )

    def insert_returning(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, now: dt.datetime
    ) -> list[int]:
        """`insert`, returning the new rows' ids in row order (the intake worker's batch,
        decisions §47). PostgreSQL: the ids are drawn from the table's sequence in one query
        and the rows go in with COPY; SQLite: multi-row INSERT … RETURNING, as many rows per
        statement as SQLite takes parameters (Django's bulk_create keeps to 999)."""
        if not rows:
            return []
        conn = self._connection()
        pk = self.model._meta.pk
        if conn.vendor == "postgresql":
            ids = self._draw(conn, len(rows))
            self._insert_with_ids(conn, columns, rows, ids, now)
            return ids
        back = self._insert_returning_rows(
            conn,
            columns,
            rows,
            now,
            verb="INSERT INTO",
            suffix="",
            returning=[conn.ops.quote_name(pk.column)],
        )
        return [r[0] for r in back]

    def _insert_returning_rows(
        self,
        conn: BaseDatabaseWrapper,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        now: dt.datetime,
        *,
        verb: str,
        suffix: str,
        returning: Sequence[str],
    ) -> list[tuple[Any, ...]]:
        """Multi-row ``{verb} … VALUES … {suffix} RETURNING …``, as many rows per statement
        as SQLite takes parameters (Django's bulk_create keeps to 999); the ``returning``
        columns (quoted) of the rows the statements inserted, in their order."""
        rest, tail = self._tail(conn, columns, now)
        prepare = self._preparers(conn, [self._by_name[n] for n in columns])
        table = conn.ops.quote_name(self.model._meta.db_table)
        names = ", ".join(self._sql_name(conn, n) for n in [*columns, *(f.attname for f in rest)])
        width = len(columns) + len(rest)
        one = "(" + ", ".join(["%s"] * width) + ")"
        head = f"{verb} {table} ({names}) VALUES"
        tail_sql = " ".join(part for part in (suffix, "RETURNING", ", ".join(returning)) if part)
        per_statement = max(1, _SQLITE_PARAMS // width)
        out: list[tuple[Any, ...]] = []
        with conn.cursor() as cursor:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                params: list[Any] = []
                for row in chunk:
                    params += [
                        v if p is None or v is None else p(v)
                        for v, p in zip(row, prepare, strict=True)
                    ]
                    params += tail
                # Identifiers come from the model's meta, quoted; every value is a parameter.
                cursor.execute(f"{head} {', '.join([one] * len(chunk))} {tail_sql}", params)
                out += [tuple(r) for r in cursor.fetchall()]
        return out

    def _draw(self, conn: BaseDatabaseWrapper, n: int) -> list[int]:
        """``n`` new ids of the table, increasing: from the ``id_pool`` when one is open
        (refilled by doubling draws), else drawn for these rows alone."""
        pool = _pool.ids
        key = (conn.alias, self.model._meta.db_table)
        if pool is None:
            return self._nextval(conn, n)
        _pool.used[key] = _pool.used.get(key, 0) + n
        held = pool.setdefault(key, [])
        if len(held) < n:
            # Each refill at least doubles the last: a batch of rounds draws a few times,
            # not once per round; what is left when the pool closes is a gap.
            _pool.size[key] = size = max(n - len(held), 2 * _pool.size.get(key, 32))
            held += self._nextval(conn, size)
        taken, pool[key] = held[:n], held[n:]
        return taken

    def _nextval(self, conn: BaseDatabaseWrapper, n: int) -> list[int]:
        with conn.cursor() as cursor:
            # The sequence by name, looked up once per process: `pg_get_serial_sequence` in
            # the select list ran its catalog lookup once per id drawn (~10-20 us each, the
            # intake batch's costliest statement by total time, decisions §73).
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [self._sequence(conn, cursor), n],
            )
            return sorted(r[0] for r in cursor.fetchall())

    def _sequence(self, conn: BaseDatabaseWrapper, cursor: Any) -> str:
        """The name of the primary key's sequence (PostgreSQL), cached per database alias.
        By name, not oid: a test database made again has a new oid, the same name."""
        key = (conn.alias, self.model._meta.db_table)
        name = _SEQUENCES.get(key)
        if name is None:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [self.model._meta.db_table, self.model._meta.pk.column],
            )
            name = _SEQUENCES[key] = cursor.fetchone()[0]
        return name

    def _tail(
        self, conn: BaseDatabaseWrapper, columns: Sequence[str], now: dt.datetime
    ) -> tuple[list[Any], list[Any]]:
        """The columns a caller leaves out, and their prepared defaults."""
        unknown = set(columns) - set(self.columns)
        if unknown:
            raise ValueError(f"{self.model.__name__} has no column {', '.join(sorted(unknown))}")
        rest = [f for f in self.fields if f.attname not in columns]
        tail = []
        for field in rest:
            value = self._default(field, now)
            if value is _REQUIRED:
                raise ValueError(f"{self.model.__name__}.{field.attname} needs a value")
            prep = self._preparer(conn, field)
            tail.append(value if prep is None or value is None else prep(value))
        return rest, tail

    def _insert_with_ids(
        self,
        conn: BaseDatabaseWrapper,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        ids: Sequence[int],
        now: dt.datetime,
    ) -> None:
        rest, tail = self._tail(conn, columns, now)
        prepare = self._preparers(conn, [self._by_name[n] for n in columns])
        table = conn.ops.quote_name(self.model._meta.db_table)
        names = ", ".join(
            [
                conn.ops.quote_name(self.model._meta.pk.column),
                *(self._sql_name(conn, n) for n in [*columns, *(f.attname for f in rest)]),
            ]
        )
        with (
            conn.cursor() as cursor,
            conn.wrap_database_errors,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row(
                    [
                        pk,
                        *(
                            v if p is None or v is None else p(v)
                            for v, p in zip(row, prepare, strict=True)
                        ),
                        *tail,
                    ]
                )

    def update(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Set `columns` row by row: each row holds their values, then the primary key."""
        if not rows:
            return
        conn = self._connection()
        fields = [self._by_name[n] for n in columns]
        prepare = self._preparers(conn, fields)
        params = []
        for row in rows:
            *values, pk = row
            params.append(
                [
                    v if p is None or v is None else p(v)
                    for v, p in zip(values, prepare, strict=True)
                ]
                + [pk]
            )
        table = conn.ops.quote_name(self.model._meta.db_table)
        assignments = ", ".join(f"{self._sql_name(conn, n)} = %s" for n in columns)
        pk_column = conn.ops.quote_name(self.model._meta.pk.column)
        with conn.cursor() as cursor:
            # Identifiers come from the model's meta, quoted; every value is a parameter.
            sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608
            cursor.executemany(sql, params)

    def update_joined(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """`update`, on PostgreSQL as one ``UPDATE … FROM unnest(…)``: with client-side
        binding, statement by statement costs a parse and a round trip each (SQLite runs
        `update`'s prepared statement in C, which is cheaper there). The values go as one
        array per column, so the statement's text is the same whatever the number of rows:
        a ``VALUES`` list of one placeholder per value had psycopg split a statement of
        thousands of placeholders in Python on every call (decisions §103)."""
        conn = self._connection()
        if conn.vendor != "postgresql" or len(rows) < 2:
            self.update(columns, rows)
            return
        fields = [self._by_name[n] for n in columns]
        prepare = self._preparers(conn, fields)
        pk = self.model._meta.pk
        # Typed arrays: an untyped one would not know its element type. Text as text: an
        # explicit cast to varchar(n) would cut a long value silently, where the assignment
        # refuses it as the ORM's UPDATE does.
        casts = [f"%s::{pk.db_type(conn)}[]"] + [
            "%s::text[]"
            if f.get_internal_type() in ("CharField", "TextField")
            else f"%s::{f.db_type(conn)}[]"
            for f in fields
        ]
        table = conn.ops.quote_name(self.model._meta.db_table)
        names = [conn.ops.quote_name(f"v{i}") for i in range(len(columns) + 1)]
        assignments = ", ".join(
            f"{self._sql_name(conn, n)} = v.{names[i + 1]}" for i, n in enumerate(columns)
        )
        pk_column = conn.ops.quote_name(pk.column)
        arrays: list[list[Any]] = [[] for _ in range(len(columns) + 1)]
        for row in rows:
            *values, key = row
            arrays[0].append(key)
            for i, (v, p) in enumerate(zip(values, prepare, strict=True), start=1):
                arrays[i].append(v if p is None or v is None else p(v))
        # Identifiers come from the model's meta, quoted; every value is a parameter.
        sql = (
            f"UPDATE {table} SET {assignments} FROM unnest({', '.join(casts)}) "  # noqa: S608
            f"AS v ({', '.join(names)}) WHERE {table}.{pk_column} = v.{names[0]}"
        )
        with conn.cursor() as cursor:
            cursor.execute(sql, arrays)


class LoadedRow:
    """One row an upsert loaded (`Table.load`-style tuples) or will insert, without a model
    instance: a subclass lists its columns in `__slots__` and `COLUMNS` (the same tuple, in
    load order) and the values a new row starts with in `DEFAULTS`."""

    __slots__ = ()
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_values(cls, values: Sequence[Any]) -> Self:
        row = cls()
        for name, value in zip(cls.COLUMNS, values, strict=True):
            setattr(row, name, value)
        return row

    @classmethod
    def blank(cls, **values: Any) -> Self:
        """A new row: `DEFAULTS` (else ""), then `values`."""
        row = cls()
        for name in cls.COLUMNS:
            setattr(row, name, cls.DEFAULTS.get(name, ""))
        for name, value in values.items():
            setattr(row, name, value)
        return row

    def values(self, names: Sequence[str]) -> list[Any]:
        return [getattr(self, n) for n in names]


def model_defaults(
    model: type[models.Model], columns: Sequence[str], *, exclude: Sequence[str] = ()
) -> dict[str, Any]:
    """What the ORM would store for each of `columns` left unset: the field's default, else
    "" or None (a new row's starting values)."""
    return {
        f.attname: f.get_default()
        for f in model._meta.concrete_fields
        if f.attname in columns and f.attname not in exclude
    }


class _Pool(threading.local):
    ids: dict[tuple[str, str], list[int]] | None = None
    size: dict[tuple[str, str], int]
    used: dict[tuple[str, str], int]


_pool = _Pool()
# Ids each table took per unit of work (an intake batch's message) in the blocks so far,
# per (alias, table): what an ``id_pool(units=…)`` draws ahead, in one statement.
_USED_PER_UNIT: dict[tuple[str, str], float] = {}
# Drawn ahead: this much more than the tables took per unit so far, and a few ids.
_AHEAD_MARGIN = 1.25
_AHEAD_EXTRA = 4


@contextlib.contextmanager
def id_pool(*, units: int = 0) -> Iterator[None]:
    """Inside the block, ``insert_returning`` on PostgreSQL takes its ids from a pool per
    table drawn ahead (a draw is a round trip; the intake batch inserts messages once per
    round, ~10-20 draws a batch otherwise, decisions §73). Ids stay increasing in the order
    rows are inserted; those not used when the block ends are never used (a sequence has
    gaps anyway). Nested blocks share the outer pool.

    ``units``: how much work the block does (the intake batch: its messages). The block
    then draws, in one statement at its start, ids for every table that earlier blocks drew
    from, as many per unit as they took (with a margin), instead of one draw per table as
    each first inserts (~4-5 a batch, decisions §96); a table that takes more than that
    draws again as above."""
    if _pool.ids is not None:
        yield
        return
    _pool.ids, _pool.size, _pool.used = {}, {}, {}
    try:
        if units > 0:
            _draw_ahead(units)
        yield
        if units > 0:
            for key, used in _pool.used.items():
                seen = _USED_PER_UNIT.get(key)
                now = used / units
                _USED_PER_UNIT[key] = now if seen is None else max(now, 0.5 * (seen + now))
    finally:
        _pool.ids = None


def _draw_ahead(units: int) -> None:
    """One statement drawing each known table's expected ids into the open pool."""
    pool = _pool.ids
    if pool is None:
        return
    by_alias: dict[str, list[tuple[str, str, int]]] = {}
    for (alias, table), per_unit in _USED_PER_UNIT.items():
        sequence = _SEQUENCES.get((alias, table))
        if sequence is None or per_unit <= 0:
            continue
        n = int(per_unit * units * _AHEAD_MARGIN) + _AHEAD_EXTRA
        by_alias.setdefault(alias, []).append((table, sequence, n))
    for alias, wanted in by_alias.items():
        conn = connections[alias]
        if conn.vendor != "postgresql":
            continue
        parts: list[str] = []
        params: list[str | int] = []
        for i, (_table, sequence, n) in enumerate(wanted):
            # Only the part's number is in the text; sequences and counts are parameters.
            parts.append(f"SELECT {i}, nextval(%s::regclass) FROM generate_series(1, %s)")  # noqa: S608
            params += [sequence, n]
        with conn.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            drawn: dict[int, list[int]] = {}
            for i, value in cursor.fetchall():
                drawn.setdefault(i, []).append(value)
        for i, (table, _sequence, n) in enumerate(wanted):
            pool[(alias, table)] = sorted(drawn.get(i, []))
            _pool.size[(alias, table)] = n


_TABLES: dict[type[models.Model], Table] = {}


def _table(model: type[models.Model]) -> Table:
    table = _TABLES.get(model)
    if table is None:
        table = _TABLES[model] = Table(model)
    return table


def _stamp(table: Table, objs: Sequence[models.Model], now: dt.datetime) -> None:
    """`auto_now` and unset `auto_now_add` columns `now`, as `Model.save` sets them."""
    stamped = [
        f
        for f in table.fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for obj in objs:
        for f in stamped:
            if getattr(f, "auto_now", False) or getattr(obj, f.attname) is None:
                setattr(obj, f.attname, now)


def _saved(objs: Sequence[models.Model], ids: Sequence[int]) -> None:
    db = router.db_for_write(type(objs[0]))
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = db


def insert_instances(
    objs: Sequence[models.Model], *, now: dt.datetime, reserved: bool = False
) -> None:
    """`bulk_create` for unsaved instances of one model without the ORM's query building
    (the intake worker's batch, decisions §47): every concrete column from the instance, a
    foreign key from the related instance when it was saved after assignment, `auto_now`
    and unset `auto_now_add` columns `now`; sets the instances' ids. Sends no signals.

    ``reserved``: the instances got their ids from ``reserve_ids`` (PostgreSQL) and go in
    with them, with the values they hold now."""
    if not objs:
        return
    table = _table(type(objs[0]))
    fields = table.fields
    if not reserved:
        # A reserved row was stamped when its id was given, as its insert then would have.
        _stamp(table, objs, now)
    related: list[Any] = [f for f in fields if f.is_relation]  # ForeignKey: is_cached
    rows = []
    for obj in objs:
        for f in related:
            if getattr(obj, f.attname) is None and f.is_cached(obj):
                target = getattr(obj, f.name)
                if target is not None:
                    # Through the relation, as Model.save does: setting the id column
                    # alone would drop the cached object (the push reads it, §55).
                    setattr(obj, f.name, target)
        rows.append([getattr(obj, f.attname) for f in fields])
    if reserved:
        ids = [obj.pk for obj in objs]
        table._insert_with_ids(table._connection(), table.columns, rows, ids, now)
        return
    _saved(objs, table.insert_returning(table.columns, rows, now=now))


def reserve_ids(objs: Sequence[models.Model], *, now: dt.datetime) -> bool:
    """Give unsaved instances of one model their ids now and insert them later, once, with
    ``insert_instances(…, reserved=True)``: on PostgreSQL inside an ``id_pool``, the ids
    from the pool (in order, as ``insert_instances`` would have drawn them), and
    `auto_now`/`auto_now_add` columns stamped `now`, as an insert now would. Rows that name
    them meanwhile rely on their foreign keys being deferred (Django creates them
    ``DEFERRABLE INITIALLY DEFERRED``), and nothing may read them from the database before
    they are inserted. The intake batch inserts the conversations it creates this way, with
    their final values, instead of inserting and then updating them (decisions §108).
    False, and nothing done, elsewhere: the caller inserts them now."""
    if not objs:
        return True
    table = _table(type(objs[0]))
    conn = table._connection()
    if conn.vendor != "postgresql" or _pool.ids is None:
        return False
    _stamp(table, objs, now)
    _saved(objs, table._draw(conn, len(objs)))
    return True


def update_instances(objs: Sequence[models.Model], columns: Sequence[str]) -> None:
    """`bulk_update` of `columns` (attribute names) of saved instances of one model, one
    prepared statement run for all of them."""
    if not objs:
        return
    table = _table(type(objs[0]))
    table.update_joined(columns, [[getattr(o, c) for c in columns] + [o.pk] for o in objs])
