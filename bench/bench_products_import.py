"""Import 100,000 products from a Taobao-style product CSV (GBK): rows/s, SQL statements, memory,
and the re-linking of order items imported before their products.

`python -m bench products_import`; `KEFU_BENCH_PRODUCTS=20000` for a smaller run (`--quick`:
2,000). On SQLite and PostgreSQL (bench.harness makes, migrates and drops the database).

Four imports of the same file:
1. into an empty shop (no orders): the bulk write path alone;
2. the same file again (idempotent: every row unchanged);
3. into a second shop whose order export was imported first
   (`KEFU_BENCH_PRODUCT_ORDERS`, default 50,000 orders, one item each, half naming the
   product by 商家编码 and half by exact title, as the Taobao order export does): the import
   re-links every item, chunk by chunk, in the chunks' transactions;
4. that file again: nothing left to link.
Every product has an owner sub-account (the 负责客服 column), so owner lookups are measured.
The difference between 3 and 1 is what re-linking costs.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import Backend, Row
from bench.taobao_files import PRODUCT_HEADERS, write_gbk_csv

BACKENDS = ("sqlite", "postgres")
AGENTS = 10

ORDER_HEADERS = [
    "订单编号",
    "买家会员名",
    "总金额",
    "订单状态",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "商家编码",
    "宝贝总数量",
]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _title(i: int) -> str:
    return f"北欧风护眼台灯 LED 款式{i:06d}"


def write_products(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    rows = (
        [
            _title(i),
            "50010815",
            f"{rng.randint(900, 99_900) / 100:.2f}",
            str(rng.randint(0, 500)),
            rng.choice(["卖家承担", "买家承担"]),
            f"https://img.example.com/p/{i}.jpg",
            f"SKU-{i:07d}",
            f"6{i:011d}",
            f"agent{i % AGENTS}",
        ]
        for i in range(n)
    )
    write_gbk_csv(path, PRODUCT_HEADERS, rows)


def write_orders(path: Path, n: int, products: int) -> None:
    rng = random.Random(3)

    def rows() -> Iterator[list[str]]:
        for i in range(n):
            p = rng.randrange(products)
            by_sku = i % 2 == 0
            yield [
                f"20261111{i:010d}",
                f"buyer{rng.randint(1, n // 3 + 1)}",
                "99.00",
                "买家已付款，等待卖家发货",
                f"2026-11-{1 + i % 11:02d} {i % 24:02d}:{i % 60:02d}:00",
                f"2026-11-{1 + i % 11:02d} {i % 24:02d}:59:00",
                "旧标题" if by_sku else _title(p),
                f"SKU-{p:07d}" if by_sku else "",
                "1",
            ]

    write_gbk_csv(path, ORDER_HEADERS, rows())


def run_on(backend: Backend) -> list[Row]:
    n = harness.knob("KEFU_BENCH_PRODUCTS", 100_000, quick=2_000)
    orders = harness.knob("KEFU_BENCH_PRODUCT_ORDERS", 50_000, quick=1_000)
    rows: list[Row] = backend.helper(
        "bench.bench_products_import",
        "measure",
        str(backend.tmp),
        str(n),
        str(orders),
        timeout=3600,
    )["rows"]
    harness.fail_on(rows, "rejected_rows_expected_0")
    return rows


def _helper_measure(tmp: str, size: str, orders: str) -> Row:
    from django.db import connection

    return {"rows": _measure(Path(tmp), int(size), int(orders), connection.vendor)}


def _measure(tmp: Path, n: int, n_orders: int, vendor: str) -> list[Row]:
    from django.db import connection

    from kefu.accounts.services import create_agent
    from kefu.catalog.importers import import_products
    from kefu.orders.importers.run import import_orders
    from kefu.orders.models import OrderItem

    path = tmp / "products.csv"
    write_products(path, n)
    order_file = tmp / "orders.csv"
    write_orders(order_file, n_orders, n)

    plain = harness.bench_shop("bench-products", "Bench products", platform="taobao").shop
    linked = harness.bench_shop("bench-relink", "Bench relink", platform="taobao").shop
    for shop in (plain, linked):
        for a in range(AGENTS):
            # Logins are global: the second shop's agents get their own, mapped in the file
            # by the shop's own names (agentN) through the slug prefix below.
            create_agent(
                actor=None,
                shop=shop,
                login=f"agent{a}" if shop is plain else f"relink-agent{a}",
                groups=["pre_sale"],
                password=harness.BENCH_PASSWORD,
            )
    relink_path = tmp / "products-relink.csv"
    relink_path.write_bytes(
        path.read_bytes().replace(b",agent", b",relink-agent")
    )  # the 负责客服 cells
    orders_started = time.perf_counter()
    import_orders(shop=linked, path=order_file)
    orders_seconds = time.perf_counter() - orders_started

    rows: list[Row] = []
    for label, shop, file in (
        ("first import", plain, path),
        ("re-import (idempotent)", plain, path),
        (f"first import, re-linking {n_orders} order items", linked, relink_path),
        ("re-import with orders (nothing left to link)", linked, relink_path),
    ):
        statements = 0

        def count(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        unlinked_before = OrderItem.objects.filter(shop=shop, product__isnull=True).count()
        rss_start = rss_high = _rss_mib()

        def sample(done: int, total: int, summary: object) -> None:
            nonlocal rss_high
            rss_high = max(rss_high, _rss_mib())

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            summary = import_products(shop=shop, path=file, progress=sample)
        seconds = time.perf_counter() - started
        unlinked_after = OrderItem.objects.filter(shop=shop, product__isnull=True).count()
        rows.append(
            {
                "name": f"products_import {label} [{vendor}]",
                "backend": vendor,
                "products": n,
                "file_mib": round(file.stat().st_size / 2**20, 1),
                "seconds": round(seconds, 2),
                "rows_per_s": round(n / seconds),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected_rows_expected_0": summary.rejected,
                "order_items_linked": unlinked_before - unlinked_after,
                "order_items_unlinked_after": unlinked_after,
                "sql_statements": statements,
                "rss_start_mib": round(rss_start, 1),
                "rss_high_mib": round(rss_high, 1),
                "peak_rss_mib": round(_peak_rss_mib(), 1),
            }
        )
    rows[2]["orders_import_seconds_before"] = round(orders_seconds, 2)
    return rows


if __name__ == "__main__":
    sys.exit(harness.helper_main({"measure": _helper_measure}, sys.argv[1:]))
