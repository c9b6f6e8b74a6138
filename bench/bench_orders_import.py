"""Import 100,000 orders from a Taobao-style CSV export: time, rows/s and peak memory.

`python -m bench orders_import`; `KEFU_BENCH_ORDERS=20000` for a quick run. It uses its own
KEFU_DATA_DIR (a temporary directory) unless KEFU_DATABASE_URL points at PostgreSQL, in
which case it creates and drops its own database next to it.

Memory: the importer streams, so the peak RSS increase must not grow with the file. The
row reports the file size next to the RSS increase so a reader can see that.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

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


def _rss_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_export(path: Path, n: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="gbk", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(n):
            status = rng.choice(STATUSES)
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


def _setup_django(data_dir: str) -> None:
    os.environ["KEFU_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    if os.environ.get("KEFU_DATABASE_URL"):
        os.environ["KEFU_TESTING"] = "1"
    import django

    django.setup()


def run() -> list[dict[str, object]]:
    n = int(os.environ.get("KEFU_BENCH_ORDERS", "100000"))
    with tempfile.TemporaryDirectory(prefix="kefu-bench-orders-") as tmp:
        _setup_django(tmp)
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import setup_databases, teardown_databases

        on_postgres = connection.vendor == "postgresql"
        old_config = None
        if on_postgres:
            # A throwaway database: never the operator's own data.
            old_config = setup_databases(verbosity=0, interactive=False)
        else:
            call_command("migrate", interactive=False, verbosity=0)
        try:
            return _measure(Path(tmp), n, connection.vendor)
        finally:
            if old_config is not None:
                teardown_databases(old_config, verbosity=0)


def _measure(tmp: Path, n: int, vendor: str) -> list[dict[str, object]]:
    from kefu.accounts.services import create_shop
    from kefu.orders.models import Order
    from kefu.orders.services import import_orders

    shop = create_shop(
        name="Bench Tmall",
        platform="tmall",
        slug="bench-orders",
        currency="CNY",
        owner_password="bench-password-1",  # noqa: S106 - a throwaway bench shop
    ).shop
    path = tmp / "orders.csv"
    write_export(path, n)
    size_mib = path.stat().st_size / 2**20

    rows = []
    for label in ("first import", "re-import (idempotent)"):
        rss_before = _rss_mib()
        started = time.perf_counter()
        summary = import_orders(shop=shop, path=path)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "name": f"orders_import {label} [{vendor}]",
                "orders": n,
                "file_mib": round(size_mib, 1),
                "seconds": round(seconds, 2),
                "rows_per_s": round(n / seconds),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "peak_rss_mib": round(_rss_mib(), 1),
                "rss_increase_mib": round(_rss_mib() - rss_before, 1),
            }
        )
    assert Order.objects.filter(shop=shop).count() == n
    return rows


if __name__ == "__main__":
    for row in run():
        print(row, file=sys.stdout)
