"""The care domain's minute watch, revisit table and cause analysis at volume (issue 16): the
surge detector (`kefu.care.watch.detect_surges`, run every 30 seconds for every shop with
recent complaints), the revisit table (`kefu.care.revisits.revisit_table`, read on every visit
of the revisit page) and the cause analysis over 12 weeks, with N complaints spread over 8
weeks on 50 products and M delivered orders of those products.

The helper fills the shop with bulk rows (a bench needs the volume, not the path that made
it) through the bulk writer (`kefu.core.db.bulk.Table`: COPY on PostgreSQL, multi-row INSERT
on SQLite), with the filled tables' secondary indexes dropped during the fill and built again
after it, then ANALYZE; it times each query p50/p99 over repeated runs and counts its SQL
statements. The surge detector must stay a handful of statements whatever the history.

Scale: KEFU_BENCH_CARE_COMPLAINTS (default 100000; --quick 5000), KEFU_BENCH_CARE_ORDERS
(default 1000000; --quick 20000); KEFU_BENCH_CARE_REVISIT_RUNS (default 20) times the revisit
table, the slow one at full size.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres")
PRODUCTS = 50
RUNS = 60
ANALYSIS_RUNS = 6
CAUSES = ("quality", "wrong_item", "logistics_delay", "damaged", "customs", "description", "price")
BATCH = 50_000
ORDERS_PER_BUYER = 4
# Usage cycles of the products, in days: the longest (plus the 14 grace days) spans the 8
# weeks filled, so the revisit table reads every order: its worst case.
CYCLES = (10, 20, 30, 45)


def run_on(backend: Backend) -> list[Row]:
    complaints = harness.knob("KEFU_BENCH_CARE_COMPLAINTS", 100_000, quick=5_000)
    orders = harness.knob("KEFU_BENCH_CARE_ORDERS", 1_000_000, quick=20_000)
    revisit_runs = harness.knob("KEFU_BENCH_CARE_REVISIT_RUNS", 20, quick=20)
    rows: list[Row] = backend.helper(
        "bench.bench_care", "measure", str(complaints), str(orders), str(revisit_runs), timeout=7200
    )["rows"]
    for row in rows:
        row["too_slow"] = row.get("p99_ms", 0) > row["budget_ms"]
    harness.fail_on(rows, "too_slow")
    return rows


def _helper_measure(complaints: str, orders: str, revisit_runs: str) -> Row:
    return {"rows": _measure(int(complaints), int(orders), int(revisit_runs))}


@contextlib.contextmanager
def _indexes_after(tables: list[str]) -> Iterator[None]:
    """Drop the tables' secondary indexes (not those behind a primary key or a constraint) for
    the fill and build them again after it: one sort per index instead of a B-tree insert per
    row."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || "
                "quote_ident(i.indexname))::regclass)",
                [tables],
            )
        else:
            # Placeholders only: the table names are parameters.
            marks = ", ".join(["%s"] * len(tables))
            sql = f"SELECT name, sql FROM sqlite_master WHERE tbl_name IN ({marks}) "  # noqa: S608
            cursor.execute(sql + "AND type = 'index' AND sql IS NOT NULL", tables)
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _name, sql in indexes:
                cursor.execute(sql)
            cursor.execute("ANALYZE")


def _fill(shop_id: int, n_complaints: int, n_orders: int, now: dt.datetime) -> dict[str, float]:
    from django.db import transaction

    from kefu.care.models import Complaint, ComplaintProduct
    from kefu.catalog.models import Product
    from kefu.conversations.models import Buyer
    from kefu.core.db.bulk import Table
    from kefu.orders.models import Order, OrderItem

    took: dict[str, float] = {}
    started = time.perf_counter()
    with transaction.atomic():
        products = Table(Product).insert_returning(
            ["shop_id", "external_id", "title", "price", "usage_cycle_days"],
            [
                (shop_id, f"P-{i}", f"Lamp {i}", Decimal("10"), CYCLES[i % len(CYCLES)])
                for i in range(PRODUCTS)
            ],
            now=now,
        )
        n_buyers = max(1, n_orders // ORDERS_PER_BUYER)
        buyers = []
        for start in range(0, n_buyers, BATCH):
            buyers += Table(Buyer).insert_returning(
                ["shop_id", "external_id", "name", "language", "first_seen_at"],
                [
                    (shop_id, f"b{i}", f"买家{i}", ("zh", "en", "ru", "es")[i % 4], now)
                    for i in range(start, min(n_buyers, start + BATCH))
                ],
                now=now,
            )
    took["buyers_s"] = time.perf_counter() - started
    span = dt.timedelta(weeks=8).total_seconds()
    tables = [
        Order._meta.db_table,
        OrderItem._meta.db_table,
        Complaint._meta.db_table,
        ComplaintProduct._meta.db_table,
    ]
    orders_t, items_t = Table(Order), Table(OrderItem)
    complaint_cols = ["shop_id", "kind", "source", "buyer_id", "cause", "status", "resolution"]
    complaint_cols.append("opened_at")
    order_cols = ["shop_id", "external_id", "buyer_id", "status", "currency", "total_amount"]
    order_cols += ["placed_at", "delivered_at", "source"]
    started = time.perf_counter()
    with _indexes_after(tables):
        for start in range(0, n_orders, BATCH):
            with transaction.atomic():
                batch: list[tuple[Any, ...]] = []
                for i in range(start, min(n_orders, start + BATCH)):
                    placed = now - dt.timedelta(seconds=span * i / n_orders)
                    delivered = placed + dt.timedelta(days=3)
                    batch.append(
                        (
                            shop_id,
                            f"O{i}",
                            # Consecutive orders of a buyer are far apart in time.
                            buyers[i % n_buyers],
                            "delivered" if delivered <= now else "shipped",
                            "CNY",
                            Decimal("10"),
                            placed,
                            delivered if delivered <= now else None,
                            "import",
                        )
                    )
                ids = orders_t.insert_returning(order_cols, batch, now=now)
                items_t.insert(
                    ["shop_id", "order_id", "product_id", "key", "title", "unit_price"],
                    [
                        (shop_id, pk, products[(start + n) % PRODUCTS], "1", "Lamp", Decimal("10"))
                        for n, pk in enumerate(ids)
                    ],
                    now=now,
                )
        took["orders_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, n_complaints, BATCH):
            with transaction.atomic():
                opened = [
                    now - dt.timedelta(seconds=span * i / n_complaints + 30)
                    for i in range(start, min(n_complaints, start + BATCH))
                ]
                ids = Table(Complaint).insert_returning(
                    complaint_cols,
                    [
                        (
                            shop_id,
                            "complaint",
                            "manual",
                            buyers[i % n_buyers],
                            CAUSES[i % len(CAUSES)],
                            "resolved" if i % 3 else "open",
                            "kept" if i % 3 == 1 else ("refunded" if i % 3 == 2 else ""),
                            opened[i - start],
                        )
                        for i in range(start, start + len(opened))
                    ],
                    now=now,
                )
                Table(ComplaintProduct).insert(
                    ["shop_id", "complaint_id", "product_id", "opened_at"],
                    [(shop_id, pk, products[pk % PRODUCTS], opened[n]) for n, pk in enumerate(ids)],
                    now=now,
                )
        took["complaints_s"] = time.perf_counter() - started
        started = time.perf_counter()
    took["indexes_s"] = time.perf_counter() - started
    return {k: round(v, 1) for k, v in took.items()}


def _time(fn: object, runs: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        fn()  # type: ignore[operator]
    return timings, len(queries)


def _measure(n_complaints: int, n_orders: int, revisit_runs: int) -> list[Row]:
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.models import User
    from kefu.care.analysis import cause_analysis
    from kefu.care.revisits import revisit_table
    from kefu.care.selectors import shop_today
    from kefu.care.watch import detect_surges

    created = harness.bench_shop("care", "Care bench")
    shop = created.shop
    owner = User.objects.get(shop=shop, role="owner")
    now = timezone.now()
    started = time.perf_counter()
    fill = _fill(shop.pk, n_complaints, n_orders, now)
    fill_s = round(time.perf_counter() - started, 1)
    vendor = connection.vendor
    load_before = harness.loadavg()
    surge_ms, surge_q = _time(lambda: detect_surges(shop=shop, now=now), RUNS)
    due = len(revisit_table(owner, now=now))
    revisit_ms, revisit_q = _time(lambda: revisit_table(owner, now=now), revisit_runs)
    today = shop_today(shop)
    since = today - dt.timedelta(weeks=12)
    analysis_ms, analysis_q = _time(
        lambda: cause_analysis(owner, since=since, until=today), ANALYSIS_RUNS
    )
    common = {
        "complaints": n_complaints,
        "orders": n_orders,
        "fill_s": fill_s,
        "fill": fill,
        "loadavg_before": load_before,
        "loadavg_after": harness.loadavg(),
    }
    return [
        {
            "name": f"surge detector, {n_complaints} complaints [{vendor}]",
            **common,
            "runs": RUNS,
            "statements": surge_q,
            "budget_ms": 1000,
            **harness.summary(surge_ms, "", digits=2),
        },
        {
            "name": f"revisit table, {n_orders} orders [{vendor}]",
            **common,
            "runs": revisit_runs,
            "rows_due": due,
            "statements": revisit_q,
            "budget_ms": 30_000,
            **harness.summary(revisit_ms, "", digits=1),
        },
        {
            "name": f"cause analysis 12 weeks, {n_complaints} complaints, {n_orders} orders "
            f"[{vendor}]",
            **common,
            "runs": ANALYSIS_RUNS,
            "statements": analysis_q,
            "budget_ms": 30_000,
            **harness.summary(analysis_ms, "", digits=1),
        },
    ]


if __name__ == "__main__":
    sys.exit(harness.helper_main({"measure": _helper_measure}, sys.argv[1:]))
