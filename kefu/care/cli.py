"""`kefu import reviews FILE --shop SLUG [--map col=field,...] [--format csv|xlsx]`."""

from __future__ import annotations

import argparse
from typing import Any

from kefu.care.review_import import ReviewFileError, import_reviews, parse_map_option
from kefu.catalog.models import ImportKind
from kefu.core.tabular import ImportFileError
from kefu.orders import cli as orders_cli


def register(sub: Any) -> None:
    group = orders_cli.import_group(sub)
    reviews = group.add_parser(
        "reviews",
        help="import a review export (Taobao/Tmall, AliExpress, CSV or XLSX)",
        description="Import buyers' reviews from the Taobao/Tmall seller centre's review "
        "export (Chinese headers, GBK CSV or XLSX), AliExpress feedback (English headers) or "
        "any CSV/XLSX with --map. Idempotent: reviews are matched on the review id (else the "
        "order and product). A medium or negative review creates a review task (a negative "
        "one a call too). Exit codes: 0 every row stored, 2 nothing imported (bad arguments "
        "or a file refused as a whole), 3 some rows rejected (the others stored).",
    )
    orders_cli.add_import_arguments(reviews, file_help="the review export", handler=_import)


def _import(args: argparse.Namespace) -> int:
    target = orders_cli.import_target(args, parse_map_option, ImportKind.REVIEWS)
    try:
        summary = import_reviews(
            shop=target.shop,
            path=args.file,
            file_format=args.format,
            overrides=target.overrides,
            remembered=target.remembered,
        )
    except (ImportFileError, ReviewFileError) as exc:
        raise orders_cli.refused(exc) from exc
    print(
        f"{args.file}: {summary.file_format}"
        + (f" ({summary.encoding})" if summary.encoding else "")
        + f", {summary.rows} rows -> created {summary.created}, updated {summary.updated}, "
        f"unchanged {summary.unchanged}, rejected {summary.rejected}; "
        f"review tasks {summary.tasks}"
    )
    if summary.unknown_columns:
        print("ignored columns: " + ", ".join(summary.unknown_columns))
    for row, reason in summary.rejections:
        print(f"  row {row}: {reason}")
    return orders_cli.EXIT_ROWS_REJECTED if summary.rejected else 0
