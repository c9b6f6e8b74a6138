"""Outreach at Double 11 volume (issue 17): a campaign to 100,000 buyers built and sent, and
segment counts over 1,000,000 orders.

Campaign: a shop with N buyers, each with one paid order (bulk rows: a bench needs the
volume, not the path that made it; the rows are what the order import's bulk upserts write:
a buyer, an order with its amounts and dates). A saved segment ("paid"), a campaign with the
window open all day, then the beat's step (`send_campaign_step`) run minute after minute with
the throttle at KEFU_BENCH_OUTREACH_PER_MINUTE until every buyer has a message: the enqueue
time (recipient, conversation, message and outbox row per buyer, one transaction each), then
the outbox drained by the worker's own sweeper task (`deliver_due_outbox`: batches of 100
claimed in one statement each, recorded set-based, decisions §59) against a marketplace
callback answering 200 in-process (httpx.MockTransport: Kefu's side of the delivery, not the
network). Memory: the helper's resident set at each quarter of the send and of the drain
(flat = it does not grow with the number of buyers sent), and its peak.

Segments: M orders over B buyers (bulk rows, 8 weeks of history), then VACUUM ANALYZE on
PostgreSQL / ANALYZE on SQLite (what autovacuum does after a bulk insert; the spend and
once-only filters read the covering index `order_buyer_paid` without the table), then each
filter's count (the page's "Count buyers") timed over RUNS runs: p50/p99.

The machine may be shared: every row carries the load average and the raw bulk-insert rate
of this run (buyers per second), to read the figures against.

Knobs: KEFU_BENCH_OUTREACH_PARTS ("campaign,segments"),
KEFU_BENCH_OUTREACH_BUYERS (100000; --quick 2000), KEFU_BENCH_OUTREACH_ORDERS (1000000;
--quick 20000), KEFU_BENCH_OUTREACH_SEGMENT_BUYERS (100000; --quick 2000),
KEFU_BENCH_OUTREACH_PER_MINUTE (5000; --quick 500).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres")
BATCH = 5000
RUNS = 10


def run_on(backend: Backend) -> list[Row]:
    buyers = harness.knob("KEFU_BENCH_OUTREACH_BUYERS", 100_000, quick=2_000)
    orders = harness.knob("KEFU_BENCH_OUTREACH_ORDERS", 1_000_000, quick=20_000)
    seg_buyers = harness.knob("KEFU_BENCH_OUTREACH_SEGMENT_BUYERS", 100_000, quick=2_000)
    per_minute = harness.knob("KEFU_BENCH_OUTREACH_PER_MINUTE", 5_000, quick=500)
    parts = os.environ.get("KEFU_BENCH_OUTREACH_PARTS", "campaign,segments").split(",")
    rows: list[Row] = []
    if "campaign" in parts:
        rows += backend.helper(
            "bench.bench_outreach", "campaign", str(buyers), str(per_minute), timeout=14_400
        )["rows"]
    if "segments" in parts:
        rows += backend.helper(
            "bench.bench_outreach", "segments", str(orders), str(seg_buyers), timeout=14_400
        )["rows"]
    harness.fail_on(rows, "errors")
    return rows


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _bulk_buyers(shop_id: int, n: int, now: dt.datetime, prefix: str) -> float:
    """Bulk-insert n buyers with the project's bulk writer (COPY on PostgreSQL, prepared
    multi-row INSERT on SQLite); returns the rate (rows/s): the machine's load indicator."""
    from django.db import transaction

    from kefu.conversations.models import Buyer
    from kefu.core.db.bulk import Table

    table = Table(Buyer)
    countries = ("RU", "BR", "ES", "US", "FR", "PL", "KZ", "CL")
    languages = ("ru", "pt", "es", "en", "fr", "pl", "ru", "es")
    columns = ["shop_id", "external_id", "name", "country", "language", "first_seen_at"]
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        with transaction.atomic():
            table.insert(
                columns,
                [
                    [shop_id, f"{prefix}{i}", f"Buyer {i}", countries[i % 8], languages[i % 8], now]
                    for i in range(start, min(n, start + BATCH))
                ],
                now=now,
            )
    return round(n / (time.perf_counter() - started))


def _bulk_orders(shop_id: int, n: int, now: dt.datetime) -> None:
    """n orders spread over the shop's buyers and 8 weeks: paid, delivered, some unpaid."""
    from django.db import transaction

    from kefu.conversations.models import Buyer
    from kefu.core.db.bulk import Table
    from kefu.orders.models import Order

    table = Table(Order)
    columns = [
        "shop_id", "external_id", "buyer_id", "status", "currency", "total_amount",
        "paid_amount", "placed_at", "paid_at", "delivered_at", "source",
    ]  # fmt: skip
    buyer_ids = list(Buyer.objects.filter(shop_id=shop_id).values_list("pk", flat=True))
    span = dt.timedelta(weeks=8).total_seconds()
    statuses = ("paid", "delivered", "delivered", "placed", "delivered")
    five_days = dt.timedelta(days=5)
    for start in range(0, n, BATCH):
        rows = []
        for i in range(start, min(n, start + BATCH)):
            placed = now - dt.timedelta(seconds=span * i / n + 60)
            status = statuses[i % len(statuses)]
            amount = Decimal(10 + i % 90)
            rows.append(
                [
                    shop_id, f"O{i}", buyer_ids[(i * 7919) % len(buyer_ids)], status, "CNY",
                    amount, Decimal("0") if status == "placed" else amount, placed,
                    None if status == "placed" else placed,
                    placed + five_days if status == "delivered" else None, "import",
                ]
            )  # fmt: skip
        with transaction.atomic():
            table.insert(columns, rows, now=now)


def _helper_campaign(buyers: str, per_minute: str) -> Row:
    import httpx
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.models import Shop, User
    from kefu.conversations.models import Outbox, OutboxStatus
    from kefu.conversations.tasks import deliver_due_outbox
    from kefu.integrations.adapters import CallbackAdapter
    from kefu.outreach import services
    from kefu.outreach.models import Campaign, Recipient
    from kefu.outreach.selectors import SegmentFilters, segment_buyers

    n = int(buyers)
    created = harness.bench_shop("outreach", "Outreach bench")
    shop = created.shop
    Shop.objects.filter(pk=shop.pk).update(callback_url="https://marketplace.example/kefu")
    shop.refresh_from_db()
    owner = User.objects.get(shop=shop, role="owner")
    now = timezone.now()
    rss_start = _rss_mb()
    insert_rate = _bulk_buyers(shop.pk, n, now, "c")
    _bulk_orders(shop.pk, n, now)
    segment = services.save_segment(
        actor=owner, name="paid", filters=SegmentFilters.from_json({"statuses": "paid,delivered"})
    )
    campaign = services.create_campaign(
        actor=owner,
        name="Double 11",
        segment=segment,
        texts={
            "en": "Hi {name}, Double 11 starts soon at {shop}!",
            "ru": "Привет, {name}! Скоро 11.11 в {shop}.",
            "es": "¡Hola {name}! El 11.11 llega a {shop}.",
        },
        language_order=["en"],
        starts_at=now - dt.timedelta(hours=1),
        window_start=0,
        window_end=24,
    )
    # The bench lifts the campaign's throttle past the page's 600/minute: it measures the
    # send path, minute by simulated minute, not the marketplace's patience.
    Campaign.objects.filter(pk=campaign.pk).update(per_minute=int(per_minute))
    targeted = Recipient.objects.filter(campaign=campaign)
    expected = segment_buyers(shop=shop, filters=SegmentFilters.from_json(segment.filters)).count()
    rss_marks = []
    minute = 0
    started = time.perf_counter()
    while True:
        sent = services.send_campaign_step(
            campaign=campaign, now=now + dt.timedelta(minutes=minute)
        )
        minute += 1
        done = targeted.count()
        if len(rss_marks) < done * 4 // expected:
            rss_marks.append(_rss_mb())
        if not sent:
            break
    enqueue_s = time.perf_counter() - started
    rss_after_send = _rss_mb()
    messages = targeted.filter(message__isnull=False).count()
    errors = expected - messages  # a buyer of the segment left without exactly one message
    CallbackAdapter.transport = httpx.MockTransport(lambda r: httpx.Response(200))
    pending = list(
        Outbox.objects.filter(shop=shop, status=OutboxStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    drain_marks = []
    started = time.perf_counter()
    drained = 0
    while handled := deliver_due_outbox():
        drained += handled
        if len(drain_marks) < drained * 4 // max(len(pending), 1):
            drain_marks.append(_rss_mb())
    drain_s = time.perf_counter() - started
    delivered = Outbox.objects.filter(shop=shop, status=OutboxStatus.DELIVERED).count()
    vendor = connection.vendor
    return {
        "rows": [
            {
                "name": f"campaign to {n} buyers: enqueue [{vendor}]",
                "buyers": n,
                "targeted": expected,
                "messages": messages,
                "errors": errors,
                "steps": minute,
                "per_minute": int(per_minute),
                "enqueue_s": round(enqueue_s, 1),
                "enqueue_per_s": round(messages / enqueue_s, 1) if enqueue_s else None,
                "rss_start_mb": rss_start,
                "rss_quarters_mb": rss_marks,
                "rss_after_send_mb": rss_after_send,
                "bulk_insert_buyers_per_s": insert_rate,
                "loadavg": harness.loadavg(),
            },
            {
                "name": f"campaign to {n} buyers: outbox drained [{vendor}]",
                "outbox_rows": len(pending),
                "delivered": delivered,
                "errors": len(pending) - delivered,
                "drain_s": round(drain_s, 1),
                "delivered_per_s": round(delivered / drain_s, 1) if drain_s else None,
                "rss_quarters_mb": drain_marks,
                "rss_after_drain_mb": _rss_mb(),
                "peak_rss_mb": _peak_mb(),
                "bulk_insert_buyers_per_s": insert_rate,
                "loadavg": harness.loadavg(),
            },
        ]
    }


FILTERS = {
    "paid or delivered": {"statuses": "paid,delivered"},
    "unpaid in the last 72 h": {"unpaid_within_hours": "72"},
    "total paid at least 500": {"min_spend": "500"},
    "bought once, never reordered": {"never_reordered": "1"},
    "delivered in a 2-week window, ru/es": {
        "delivered_from": None,
        "delivered_to": None,
        "languages": "ru,es",
    },
}


def _helper_segments(orders: str, buyers: str) -> Row:
    from django.db import connection
    from django.utils import timezone

    from kefu.outreach.selectors import SegmentFilters, segment_buyers

    n_orders, n_buyers = int(orders), int(buyers)
    created = harness.bench_shop("outreach-seg", "Outreach segments bench")
    shop = created.shop
    now = timezone.now()
    started = time.perf_counter()
    insert_rate = _bulk_buyers(shop.pk, n_buyers, now, "s")
    _bulk_orders(shop.pk, n_orders, now)
    fill_s = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    today = now.date()
    out = []
    for label, raw in FILTERS.items():
        raw = dict(raw)
        if "delivered_from" in raw:
            raw["delivered_from"] = (today - dt.timedelta(days=21)).isoformat()
            raw["delivered_to"] = (today - dt.timedelta(days=7)).isoformat()
        filters = SegmentFilters.from_json(raw)
        timings = []
        count = 0
        for _ in range(RUNS):
            t0 = time.perf_counter()
            count = segment_buyers(shop=shop, filters=filters).count()
            timings.append((time.perf_counter() - t0) * 1000)
        out.append(
            {
                "name": f"segment count '{label}', {n_orders} orders [{connection.vendor}]",
                "orders": n_orders,
                "buyers": n_buyers,
                "matched": count,
                "runs": RUNS,
                "fill_s": fill_s,
                **harness.summary(timings, "", digits=1),
                "bulk_insert_buyers_per_s": insert_rate,
                "loadavg": harness.loadavg(),
            }
        )
    return {"rows": out}


if __name__ == "__main__":
    sys.exit(
        harness.helper_main(
            {"campaign": _helper_campaign, "segments": _helper_segments}, sys.argv[1:]
        )
    )
