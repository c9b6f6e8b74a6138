"""Rows of one shop by a unique key, read as one index probe per key on PostgreSQL.

``shop_id = … AND key IN (…)`` is what the ORM writes for "these rows of the shop". On these
machines PostgreSQL runs without autovacuum, so its tables are never analysed; without
statistics it estimates a shop's rows at a handful and plans that form as a bitmap scan of
the ``shop_id`` foreign-key index, filtered by key: every row of the shop, and every dead
version of them, for each read (decisions §73: the intake batch's dedup read visited 60,300
messages to find 200). A ``LATERAL (… LIMIT 1)`` per key is not flattened into a join, so each
key is planned on its own as an equality on both columns of the ``(shop, key)`` unique index:
one probe whatever the statistics say. SQLite plans the plain form through that index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections, models, router


def rows_by_key(
    model: type[models.Model],
    *,
    shop_id: int,
    key: str,
    values: Iterable[str],
    columns: Sequence[str],
) -> list[tuple[Any, ...]]:
    """``columns`` (attribute names) of the shop's rows whose text column ``key`` is one of
    ``values``; ``(shop, key)`` must be unique (a unique index, partial on ``key IS NOT
    NULL`` allowed)."""
    wanted = sorted({v for v in values if v is not None})
    if not wanted:
        return []
    conn = connections[router.db_for_write(model)]
    if conn.vendor != "postgresql":
        return list(
            model._default_manager.filter(shop_id=shop_id, **{f"{key}__in": wanted}).values_list(
                *columns
            )
        )
    meta = model._meta
    quote = conn.ops.quote_name

    def column(name: str) -> str:
        field = meta.pk if name == "pk" else meta.get_field(name)
        assert isinstance(field, models.Field)  # noqa: S101 - a concrete column, by contract
        return quote(field.column)

    names = ", ".join(f"r.{column(c)}" for c in columns)
    inner = ", ".join(dict.fromkeys(column(c) for c in columns))
    key_column = column(key)
    with conn.cursor() as cursor:
        # Identifiers come from the model's meta, quoted; the values are parameters.
        cursor.execute(
            f"SELECT {names} FROM unnest(%s::text[]) AS k(value) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {inner} FROM {quote(meta.db_table)} "
            f"WHERE {column('shop')} = %s AND {key_column} = k.value "
            "LIMIT 1) r",
            [wanted, shop_id],
        )
        return [tuple(row) for row in cursor.fetchall()]
