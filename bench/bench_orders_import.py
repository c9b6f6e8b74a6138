"""Import 100,000 orders from a Taobao-style CSV export: time, rows/s, SQL statements and memory.

`python -m bench orders_import`; `KEFU_BENCH_ORDERS=20000` for a quick run. Three imports of
the same orders, one after the other: the first (every order created), the same file again
(idempotent: nothing changes) and a later export in which most orders moved one status on
(paid, shipped with a tracking number, delivered): updates, status events and parcels.

It runs on SQLite and PostgreSQL (bench.harness makes, migrates and drops the database), in
a helper subprocess with Django set up on that backend.

Memory: the importer streams, so RSS must not grow with the file. Each row reports the
resident set before the import and the highest one sampled after every chunk, next to the
file size, and the process's peak (ru_maxrss) before and after the import. That peak
(~180 MiB) is reached before any import, when the bench shop's owner password is hashed with
argon2 (100 MiB of memory by design).

`sql_statements` counts what goes through Django's cursor; the COPY blocks the importer uses
on PostgreSQL (one per table and chunk) are not seen by `connection.execute_wrapper`.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres")

HEADERS = [
    "订单编号",
    "买家会员名",
    "买家应付货款",
    "买家应付邮费",
    "总金额",
    "买家实际支付金额",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址",
    "运送方式",
    "联系手机",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "宝贝总数量",
    "物流单号",
    "物流公司",
]
STATUSES = [
    "等待买家付款",
    "买家已付款，等待卖家发货",
    "卖家已发货，等待买家确认",
    "交易成功",
    "交易关闭",
]


# A later export: where each status has moved on to (closed and finished orders stay).
LATER = {
    "等待买家付款": "买家已付款，等待卖家发货",
    "买家已付款，等待卖家发货": "卖家已发货，等待买家确认",
    "卖家已发货，等待买家确认": "交易成功",
}


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    """The resident set now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_export(path: Path, n: int, seed: int = 11, *, later: bool = False) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="gbk", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(n):
            status = rng.choice(STATUSES)
            if later:
                status = LATER.get(status, status)
            goods = rng.randint(900, 99_900) / 100
            shipped = status in ("卖家已发货，等待买家确认", "交易成功")
            writer.writerow(
                [
                    f"20241111{i:010d}",
                    f"buyer{rng.randint(1, n // 3 + 1)}",
                    f"{goods:.2f}",
                    "0.00",
                    f"{goods:.2f}",
                    "0.00" if status == "等待买家付款" else f"{goods:.2f}",
                    status,
                    "",
                    "王小明",
                    "浙江省 杭州市 西湖区 文三路 100 号",
                    "快递",
                    "13800000000",
                    f"2024-11-{1 + i % 11:02d} {i % 24:02d}:{i % 60:02d}:00",
                    ""
                    if status == "等待买家付款"
                    else f"2024-11-{1 + i % 11:02d} {i % 24:02d}:59:00",
                    "北欧风护眼台灯 LED",
                    str(rng.randint(1, 3)),
                    f"YT{i:012d}" if shipped else "",
                    "圆通速递" if shipped else "",
                ]
            )


def run_on(backend: Backend) -> list[Row]:
    n = harness.knob("KEFU_BENCH_ORDERS", 100_000, quick=2_000)
    rows: list[Row] = backend.helper(
        "bench.bench_orders_import", "measure", str(backend.tmp), str(n), timeout=3600
    )["rows"]
    return rows


def _helper_measure(tmp: str, size: str) -> Row:
    from django.db import connection

    return {"rows": _measure(Path(tmp), int(size), connection.vendor)}


def _measure(tmp: Path, n: int, vendor: str) -> list[Row]:
    from django.db import connection

    from kefu.orders.importers.run import import_orders
    from kefu.orders.models import Order

    shop = harness.bench_shop("bench-orders", "Bench Tmall").shop
    path = tmp / "orders.csv"
    write_export(path, n)
    later = tmp / "orders-later.csv"
    write_export(later, n, later=True)

    rows: list[Row] = []
    for label, file in (
        ("first import", path),
        ("re-import (idempotent)", path),
        ("later export (status updates)", later),
    ):
        statements = 0

        def count(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
        ) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        rss_start = rss_high = _rss_mib()
        peak_before = _peak_rss_mib()

        def sample(done: int, total: int, summary: object) -> None:
            nonlocal rss_high
            rss_high = max(rss_high, _rss_mib())

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            summary = import_orders(shop=shop, path=file, progress=sample)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "name": f"orders_import {label} [{vendor}]",
                "backend": vendor,
                "orders": n,
                "file_mib": round(file.stat().st_size / 2**20, 1),
                "seconds": round(seconds, 2),
                "rows_per_s": round(n / seconds),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "sql_statements": statements,
                "rss_start_mib": round(rss_start, 1),
                "rss_high_mib": round(rss_high, 1),
                "peak_rss_before_mib": round(peak_before, 1),
                "peak_rss_mib": round(_peak_rss_mib(), 1),
            }
        )
    assert Order.objects.filter(shop=shop).count() == n
    return rows


if __name__ == "__main__":
    sys.exit(harness.helper_main({"measure": _helper_measure}, sys.argv[1:]))
