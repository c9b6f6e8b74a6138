"""`kefu import orders FILE --shop SLUG [--map col=field,...] [--format csv|xlsx|jsonl]`.

The `import` command group is shared: this module creates it and keeps its sub-parsers in
`import_subparsers`, so another domain adds `kefu import messages` with

    from kefu.orders import cli as orders_cli
    orders_cli.import_subparsers.add_parser("messages", ...)

from its own `register(sub)`. `kefu.commands.COMMAND_MODULES` lists `kefu.orders.cli` before the
modules that extend the group, so it exists by then; a module that may run first can call
`import_group(sub)`, which creates the group once and returns it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from django.core.management.base import CommandError

from kefu.accounts.models import Shop
from kefu.accounts.selectors import shop_by_slug
from kefu.catalog.column_mappings import remembered_mapping
from kefu.catalog.models import ImportKind
from kefu.core.tabular import ColumnsError, ImportFileError
from kefu.orders.importers.mapping import MappingError, parse_map_option
from kefu.orders.importers.run import import_orders
from kefu.orders.selectors import unlinked_items

# Exit codes of `kefu import` (docs/guide/imports.md): 0 every row stored, 2 nothing imported
# (bad arguments, or a file refused as a whole), 3 some rows rejected (the others stored).
EXIT_ROWS_REJECTED = 3

import_subparsers: Any = None  # argparse's _SubParsersAction of `kefu import`
_import_parent: Any = None  # the `kefu` sub-parsers it was created in (one per parser build)


def import_group(sub: Any) -> Any:
    """The `kefu import` sub-parsers, created on first call."""
    global import_subparsers, _import_parent
    if import_subparsers is None or _import_parent is not sub:
        _import_parent = sub
        parser = sub.add_parser(
            "import", help="import orders, products, messages or reviews from files"
        )
        import_subparsers = parser.add_subparsers(dest="import_kind", metavar="KIND")
        import_subparsers.required = True
    return import_subparsers


def register(sub: Any) -> None:
    group = import_group(sub)
    orders = group.add_parser(
        "orders",
        help="import a seller-centre order export (CSV, XLSX or JSONL)",
        description="Import orders from a Taobao/Tmall or AliExpress seller-centre export "
        "(Chinese or English headers) or any CSV/XLSX/JSONL with --map. Idempotent: "
        "orders are matched on the platform's order id. Exit codes: 0 every row stored, "
        "2 nothing imported (bad arguments or a file refused as a whole), 3 some rows "
        "rejected (the others stored).",
    )
    add_import_arguments(orders, file_help="the export file", handler=_import_orders)


def add_import_arguments(parser: Any, *, file_help: str, handler: Any) -> None:
    """The arguments every `kefu import KIND` takes, and its handler."""
    parser.add_argument("file", help=file_help)
    parser.add_argument("--shop", required=True, help="the shop's slug")
    parser.add_argument(
        "--map",
        default="",
        metavar="COL=FIELD,...",
        help="map your column headers to Kefu fields (FIELD '-' ignores a column)",
    )
    parser.add_argument(
        "--no-remembered",
        action="store_true",
        help="do not apply the column mapping the shop remembered on the upload page",
    )
    parser.add_argument("--format", choices=["csv", "xlsx", "jsonl"], default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handler)


@dataclass(frozen=True)
class ImportTarget:
    shop: Shop
    overrides: dict[str, str] | None  # --map: must name columns the file has
    remembered: dict[str, str]  # the upload page's mapping; applies where the file has the column


def import_target(
    args: argparse.Namespace, parse_map: Callable[[str], dict[str, str]], kind: str
) -> ImportTarget:
    """The shop named by --shop, the --map overrides and the shop's remembered mapping of
    `kind` (a seller who mapped a layout on the upload page gets the same reading from a
    scheduled terminal import); a CommandError names what is wrong."""
    shop = shop_by_slug(args.shop)
    if shop is None:
        raise CommandError(f"no shop with slug {args.shop!r}")
    try:
        overrides = parse_map(args.map) if args.map else None
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    remembered = {} if args.no_remembered else remembered_mapping(shop, kind)
    if remembered:
        print(
            f"applying the shop's remembered column mapping ({len(remembered)} columns; "
            "--map wins over it, --no-remembered ignores it)",
            file=sys.stderr,
        )
    return ImportTarget(shop=shop, overrides=overrides, remembered=remembered)


def refused(exc: Exception) -> CommandError:
    """A file refused as a whole, as the CLI says it: a missing column names --map (the
    upload pages offer their mapping form instead)."""
    text = str(exc)
    if isinstance(exc, ColumnsError) and exc.missing:
        text += f" Use --map 'YOUR HEADER={exc.missing[0]}'."
    return CommandError(text)


class ProgressBar:
    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.last = 0.0

    def __call__(self, done: int, total: int, summary: Any) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and done < total):
            return
        self.last = now
        share = done / total if total else 1.0
        filled = int(share * 30)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}  rows {summary.rows}  "
            f"created {summary.created}  updated {summary.updated}  "
            + (f"merged {summary.merged}  " if hasattr(summary, "merged") else "")
            + f"rejected {summary.rejected}"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _import_orders(args: argparse.Namespace) -> int:
    target = import_target(args, parse_map_option, ImportKind.ORDERS)
    shop = target.shop
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    try:
        # The orders reader has one mapping: a remembered header the file lacks changes
        # nothing there, so the two are combined as the upload page combines them.
        summary = import_orders(
            shop=shop,
            path=args.file,
            file_format=args.format,
            overrides={**target.remembered, **(target.overrides or {})} or None,
            progress=bar,
        )
    except (ImportFileError, MappingError) as exc:
        bar.close()
        raise refused(exc) from exc
    bar.close()
    print(
        f"{args.file}: {summary.file_format}"
        + (f" ({summary.encoding})" if summary.encoding else "")
        + f", {summary.rows} rows -> created {summary.created}, updated {summary.updated}, "
        f"unchanged {summary.unchanged}, merged {summary.merged}, rejected {summary.rejected}"
    )
    if summary.ignored:
        label = "ignored fields: " if summary.file_format == "jsonl" else "ignored columns: "
        print(label + ", ".join(summary.ignored))
    for warning in summary.warnings:
        print(f"warning: {warning}")
    for note in summary.notes:
        print(note)
    for row, reason in summary.rejections:
        print(f"  row {row}: {reason}")
    if summary.rejected > len(summary.rejections):
        print(f"  … and {summary.rejected - len(summary.rejections)} more rejected rows")
    unlinked = unlinked_items(shop=shop, limit=0)
    if unlinked.items:
        print(
            f"order items without a product: {unlinked.items} in {unlinked.orders} orders "
            "(sub-accounts do not see these orders; `kefu import products` links them)"
        )
    return EXIT_ROWS_REJECTED if summary.rejected else 0
