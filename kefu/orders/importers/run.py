"""Running an order import (R-15): a seller-centre export streamed in chunks through the
order upserts, with bad rows rejected by row number; the CLI and the upload task call it."""

from __future__ import annotations

import bisect
import logging
import zoneinfo
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext

from kefu.accounts.models import Shop
from kefu.core.after_import import after_import
from kefu.core.tabular import ImportFileError, RowTally, open_source
from kefu.orders.importers.mapping import (
    AMOUNT_FIELDS,
    ColumnMap,
    MappingError,
    RowContext,
    RowError,
    build_column_map,
    jsonl_fields,
    record_to_input,
)
from kefu.orders.inputs import OrderInput, UpsertOutcome, group_inputs
from kefu.orders.models import ImportRun, ImportStatus, OrderSource
from kefu.orders.upserts import upsert_orders

log = logging.getLogger("kefu.orders")

IMPORT_CHUNK = 1000
MAX_IGNORED_KEPT = 100
MAX_HEADERS_KEPT = 200


@dataclass
class ImportSummary(RowTally):
    # Rows of an order an earlier row of the same file already named (an order's item lines,
    # or the same order exported twice): merged into that order, not counted as another one.
    merged: int = 0
    # Every column (or JSONL field) not read, as "name (why)"; see `ColumnMap.ignored`.
    ignored: list[str] = field(default_factory=list)
    # What the seller must know although every row was stored (no amount, no payment time).
    warnings: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    fields_seen: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # from the after-import hooks (figures)

    def ignore(self, name: str, why: str) -> None:
        entry = f"{name} ({why})"
        if entry not in self.ignored and len(self.ignored) < MAX_IGNORED_KEPT:
            self.ignored.append(entry)

    def check_fields(self) -> None:
        """Warn when the file gave no amount or no payment time: the orders then count
        as worth 0, or as unpaid, in the figures."""
        if not self.rows:
            return
        if not self.fields_seen & AMOUNT_FIELDS:
            self.warnings.append(
                gettext(
                    "No amount column or field was recognised: the orders were stored with "
                    "amount 0. Map your amount column to paid_amount (or total_amount)."
                )
            )
        if "paid_at" not in self.fields_seen:
            self.warnings.append(
                gettext(
                    "No payment-time column or field was recognised: the orders count as "
                    "unpaid in the figures. Map your payment-time column to paid_at."
                )
            )


ProgressCallback = Any  # Callable[[int, int, ImportSummary], None]


class _SeenOrders:
    """The ids of the orders an import has stored so far: a later row of one of them counts as
    merged, not as another created, updated or unchanged order. Kept as a sorted array of
    8-byte ints, because a set of order-id strings grew by ~100 bytes per order; new ids come
    from the database's sequence, so they mostly arrive in order and are appended."""

    def __init__(self) -> None:
        self._ids = array("q")

    def add(self, order_id: int) -> None:
        if not self._ids or order_id > self._ids[-1]:
            self._ids.append(order_id)
        else:
            bisect.insort(self._ids, order_id)

    def __contains__(self, order_id: int) -> bool:
        at = bisect.bisect_left(self._ids, order_id)
        return at < len(self._ids) and self._ids[at] == order_id


def import_orders(
    *,
    shop: Shop,
    path: Any,
    file_format: str | None = None,
    overrides: dict[str, str] | None = None,
    progress: ProgressCallback = None,
    chunk_size: int = IMPORT_CHUNK,
) -> ImportSummary:
    """Import a seller-centre export, streaming: memory stays flat whatever the file size
    (but for 8 bytes per order, to count an order whose rows span chunks once).

    Every row read ends in exactly one count: created, updated, unchanged, merged (a further
    row of an order named above) or rejected (with its row number and reason).

    A bad row is rejected with its row number and reason; good rows are stored in chunks of
    `chunk_size` (one transaction each). Raises `ImportFileError` / `MappingError` when the
    file as a whole cannot be read; nothing is stored then.
    """
    source = open_source(Path(path), wanted_format=file_format)
    summary = ImportSummary(file_format=source.file_format, encoding=source.encoding)
    ctx = RowContext(tz=zoneinfo.ZoneInfo(shop.timezone), default_currency=shop.currency)
    columns: ColumnMap | None = None
    pending: list[OrderInput] = []
    seen = _SeenOrders()
    assert source.rows is not None  # noqa: S101 - open_source sets it

    def flush() -> None:
        if not pending:
            return
        groups = group_inputs(pending)
        # Every row counts once: the first row of an order as created, updated or unchanged,
        # each later row of it (in this chunk or an earlier one) as merged.
        for outcome in _upsert_or_isolate(shop=shop, groups=groups, summary=summary):
            summary.merged += max(len(outcome.rows), 1) - 1
            if outcome.order_id in seen:
                summary.merged += 1
                continue
            seen.add(outcome.order_id)
            if outcome.outcome == "created":
                summary.created += 1
            elif outcome.outcome == "updated":
                summary.updated += 1
            else:
                summary.unchanged += 1
        pending.clear()
        if progress is not None:
            progress(source.progress.done, source.progress.total, summary)

    for row, record, problem in source.rows:
        if record is not None and "__headers__" in record:
            summary.headers = [h for h in record["__headers__"] if h]
            columns = build_column_map(record["__headers__"], overrides)
            summary.unknown_columns = columns.unknown
            summary.columns = dict(columns.by_header)
            summary.fields_seen = set(columns.by_header.values())
            for header, why in columns.ignored:
                summary.ignore(header, why)
            continue
        summary.rows += 1
        if record is None:
            summary.reject(row, problem)
            continue
        if columns is None:  # JSONL: each object names its own fields
            found, ignored = jsonl_fields(record)
            summary.fields_seen |= found
            for key in ignored:
                summary.ignore(str(key), gettext("not recognised"))
        try:
            pending.append(record_to_input(record, columns, row=row, ctx=ctx))
        except RowError as exc:
            summary.reject(row, str(exc))
            continue
        if len(pending) >= chunk_size:
            flush()
    flush()
    summary.check_fields()
    if progress is not None:
        progress(source.progress.total, source.progress.total, summary)
    if summary.created or summary.updated:
        summary.notes = after_import(shop=shop)
    log.info(
        "orders_imported shop=%s format=%s rows=%s created=%s updated=%s unchanged=%s "
        "merged=%s rejected=%s",
        shop.pk,
        summary.file_format,
        summary.rows,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.merged,
        summary.rejected,
    )
    return summary


def _upsert_or_isolate(
    *, shop: Shop, groups: list[tuple[OrderInput, list[OrderInput]]], summary: ImportSummary
) -> list[UpsertOutcome]:
    """Upsert a chunk's orders; if the database refuses the chunk, halve it until the refused
    orders are found and reject their rows with the database's reason. The good orders are
    stored, and one bad order costs about 2·log2(chunk) extra transactions, not one per order.
    """
    inputs = [inp for _, group in groups for inp in group]
    try:
        return upsert_orders(shop=shop, inputs=inputs, source=OrderSource.IMPORT)
    except DatabaseError as exc:
        if len(groups) == 1:
            for inp in inputs:
                summary.reject(inp.row or 0, f"the database refused the order: {exc}"[:200])
            return []
        log.warning("orders_chunk_failed shop=%s size=%s; isolating rows", shop.pk, len(groups))
    half = len(groups) // 2
    return _upsert_or_isolate(
        shop=shop, groups=groups[:half], summary=summary
    ) + _upsert_or_isolate(shop=shop, groups=groups[half:], summary=summary)


def import_orders_for_run(*, run: ImportRun) -> ImportSummary:
    """An upload's import: the run's counters follow each chunk so the page can show them.

    A file-level problem (not a spreadsheet, no order-id column) fails the run with that
    sentence; nothing is stored then.
    """

    def progress(done: int, total: int, summary: ImportSummary) -> None:
        ImportRun.objects.filter(pk=run.pk).update(
            done_bytes=done,
            total_bytes=total,
            rows=summary.rows,
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            merged=summary.merged,
            rejected=summary.rejected,
            progressed_at=timezone.now(),
        )

    try:
        summary = import_orders(
            shop=run.shop,
            path=run.path,
            file_format=run.file_format or None,
            overrides=run.mapping or None,
            progress=progress,
        )
    except (ImportFileError, MappingError) as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED,
            error=str(exc)[:500],
            headers=getattr(exc, "headers", [])[:MAX_HEADERS_KEPT],
            finished_at=timezone.now(),
        )
        return ImportSummary()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.DONE,
        file_format=summary.file_format,
        rows=summary.rows,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
        merged=summary.merged,
        rejected=summary.rejected,
        finished_at=timezone.now(),
        rejections=[{"row": r, "reason": why} for r, why in summary.rejections],
        ignored_columns=summary.ignored,
        warnings=summary.warnings,
        headers=summary.headers[:MAX_HEADERS_KEPT],
    )
    return summary
