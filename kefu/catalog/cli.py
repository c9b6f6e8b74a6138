"""`kefu import products FILE --shop SLUG [--map col=field,...] [--format csv|xlsx|jsonl]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kefu.catalog.importers import ProductFileError, import_products, parse_map_option
from kefu.catalog.models import ImportKind
from kefu.core.tabular import ImportFileError
from kefu.orders import cli as orders_cli
from kefu.orders.selectors import unlinked_items


def register(sub: Any) -> None:
    group = orders_cli.import_group(sub)
    products = group.add_parser(
        "products",
        help="import a product file (Taobao/Tmall, AliExpress, CSV, XLSX or JSONL)",
        description="Import products from a Taobao/Tmall product export (淘宝助理 CSV, GBK), "
        "an AliExpress product list (English headers) or any CSV/XLSX/JSONL with --map. "
        "Idempotent: products are matched on the platform's product id (else 商家编码). "
        "An owner/负责客服 column assigns each product to a sub-account by login. Order items "
        "already imported are linked to the products. Exit codes: 0 every row stored, "
        "2 nothing imported (bad arguments or a file refused as a whole), 3 some rows "
        "rejected (the others stored).",
    )
    orders_cli.add_import_arguments(
        products, file_help="the product file", handler=_import_products
    )


def _import_products(args: argparse.Namespace) -> int:
    target = orders_cli.import_target(args, parse_map_option, ImportKind.PRODUCTS)
    shop = target.shop
    bar = orders_cli.ProgressBar(sys.stderr, enabled=not args.quiet)
    try:
        summary = import_products(
            shop=shop,
            path=args.file,
            file_format=args.format,
            overrides=target.overrides,
            remembered=target.remembered,
            progress=bar,
        )
    except (ImportFileError, ProductFileError) as exc:
        bar.close()
        raise orders_cli.refused(exc) from exc
    bar.close()
    print(
        f"{args.file}: {summary.file_format}"
        + (f" ({summary.encoding})" if summary.encoding else "")
        + f", {summary.rows} rows -> created {summary.created}, updated {summary.updated}, "
        f"unchanged {summary.unchanged}, rejected {summary.rejected}"
    )
    if summary.unknown_columns:
        print("ignored columns: " + ", ".join(summary.unknown_columns))
    for row, reason in summary.rejections:
        print(f"  row {row}: {reason}")
    if summary.rejected > len(summary.rejections):
        print(f"  … and {summary.rejected - len(summary.rejections)} more rejected rows")
    for row, note in summary.notes:
        print(f"  row {row}: note: {note}")
    unlinked = unlinked_items(shop=shop, limit=5)
    if unlinked.items:
        print(
            f"order items without a product: {unlinked.items} in {unlinked.orders} orders "
            "(sub-accounts do not see these orders)"
        )
        for item in unlinked.sample:
            named = " / ".join(x for x in (item.product_external_id, item.sku, item.title) if x)
            print(f"  {item.items} × {named}")
    return orders_cli.EXIT_ROWS_REJECTED if summary.rejected else 0
