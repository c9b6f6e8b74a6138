"""The care domain's minute watch and cause analysis at volume (issue 16): the surge detector
(`kefu.care.watch.detect_surges`, run every minute for every shop with recent complaints) and
the cause analysis over 12 weeks, with N complaints spread over 8 weeks on 50 products and M
orders of those products.

The helper fills the shop with bulk rows (a bench needs the volume, not the path that made
it), then times each query p50/p99 over repeated runs and counts its SQL statements. The
surge detector must stay a handful of statements whatever the history.

Scale: KEFU_BENCH_CARE_COMPLAINTS (default 100000; --quick 5000), KEFU_BENCH_CARE_ORDERS
(default 1000000; --quick 20000).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from decimal import Decimal

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres")
PRODUCTS = 50
RUNS = 60
CAUSES = ("quality", "wrong_item", "logistics_delay", "damaged", "customs", "description", "price")
BATCH = 5000


def run_on(backend: Backend) -> list[Row]:
    complaints = harness.knob("KEFU_BENCH_CARE_COMPLAINTS", 100_000, quick=5_000)
    orders = harness.knob("KEFU_BENCH_CARE_ORDERS", 1_000_000, quick=20_000)
    rows: list[Row] = backend.helper(
        "bench.bench_care", "measure", str(complaints), str(orders), timeout=7200
    )["rows"]
    # The detector runs every minute: a few statements, well under a second.
    for row in rows:
        row["too_slow"] = row.get("p99_ms", 0) > row["budget_ms"]
    harness.fail_on(rows, "too_slow")
    return rows


def _helper_measure(complaints: str, orders: str) -> Row:
    return {"rows": _measure(int(complaints), int(orders))}


def _fill(shop_id: int, n_complaints: int, n_orders: int, now: dt.datetime) -> None:
    from django.db import transaction

    from kefu.care.models import Complaint, ComplaintProduct
    from kefu.catalog.models import Product
    from kefu.conversations.models import Buyer
    from kefu.orders.models import Order, OrderItem

    with transaction.atomic():
        Product.objects.bulk_create(
            [
                Product(shop_id=shop_id, external_id=f"P-{i}", title=f"Lamp {i}", price=1)
                for i in range(PRODUCTS)
            ]
        )
        Buyer.objects.bulk_create(
            [Buyer(shop_id=shop_id, external_id=f"b{i}", first_seen_at=now) for i in range(1000)]
        )
    products = list(Product.objects.filter(shop_id=shop_id).values_list("pk", flat=True))
    buyers = list(Buyer.objects.filter(shop_id=shop_id).values_list("pk", flat=True))
    span = dt.timedelta(weeks=8).total_seconds()
    for start in range(0, n_orders, BATCH):
        with transaction.atomic():
            made = Order.objects.bulk_create(
                [
                    Order(
                        shop_id=shop_id,
                        external_id=f"O{i}",
                        buyer_id=buyers[i % len(buyers)],
                        status="delivered",
                        currency="CNY",
                        total_amount=Decimal("10"),
                        placed_at=now - dt.timedelta(seconds=span * i / n_orders),
                        source="import",
                    )
                    for i in range(start, min(n_orders, start + BATCH))
                ]
            )
            OrderItem.objects.bulk_create(
                [
                    OrderItem(
                        shop_id=shop_id,
                        order_id=o.pk,
                        product_id=products[o.pk % PRODUCTS],
                        key="1",
                        title="Lamp",
                        unit_price=Decimal("10"),
                    )
                    for o in made
                ]
            )
    for start in range(0, n_complaints, BATCH):
        with transaction.atomic():
            made_c = Complaint.objects.bulk_create(
                [
                    Complaint(
                        shop_id=shop_id,
                        kind="complaint",
                        source="manual",
                        buyer_id=buyers[i % len(buyers)],
                        cause=CAUSES[i % len(CAUSES)],
                        status="resolved" if i % 3 else "open",
                        resolution="kept" if i % 3 == 1 else ("refunded" if i % 3 == 2 else ""),
                        opened_at=now - dt.timedelta(seconds=span * i / n_complaints + 30),
                    )
                    for i in range(start, min(n_complaints, start + BATCH))
                ]
            )
            ComplaintProduct.objects.bulk_create(
                [
                    ComplaintProduct(
                        shop_id=shop_id,
                        complaint_id=c.pk,
                        product_id=products[c.pk % PRODUCTS],
                        opened_at=c.opened_at,
                    )
                    for c in made_c
                ]
            )


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


def _measure(n_complaints: int, n_orders: int) -> list[Row]:
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.models import User
    from kefu.care.analysis import cause_analysis
    from kefu.care.selectors import shop_today
    from kefu.care.watch import detect_surges

    created = harness.bench_shop("care", "Care bench")
    shop = created.shop
    owner = User.objects.get(shop=shop, role="owner")
    now = timezone.now()
    started = time.perf_counter()
    _fill(shop.pk, n_complaints, n_orders, now)
    fill_s = round(time.perf_counter() - started, 1)
    vendor = connection.vendor
    surge_ms, surge_q = _time(lambda: detect_surges(shop=shop, now=now), RUNS)
    today = shop_today(shop)
    since = today - dt.timedelta(weeks=12)
    analysis_ms, analysis_q = _time(
        lambda: cause_analysis(owner, since=since, until=today), max(5, RUNS // 10)
    )
    common = {"complaints": n_complaints, "orders": n_orders, "fill_s": fill_s}
    return [
        {
            "name": f"surge detector, {n_complaints} complaints [{vendor}]",
            **common,
            "statements": surge_q,
            "budget_ms": 1000,
            **harness.summary(surge_ms, "", digits=2),
        },
        {
            "name": f"cause analysis 12 weeks, {n_complaints} complaints, {n_orders} orders "
            f"[{vendor}]",
            **common,
            "statements": analysis_q,
            "budget_ms": 30_000,
            **harness.summary(analysis_ms, "", digits=1),
        },
    ]


if __name__ == "__main__":
    sys.exit(harness.helper_main({"measure": _helper_measure}, sys.argv[1:]))
