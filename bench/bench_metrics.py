"""Metrics: dashboard query p50/p99 over a 30-day range, full rebuild time, refresh freshness.

`python -m bench metrics` runs SQLite (a temporary KEFU_DATA_DIR) and PostgreSQL (its own
database kefu_bench_metrics at KEFU_BENCH_PG, default postgres://postgres@127.0.0.1:5432,
created and dropped here) in child processes, one backend each.

Scale: KEFU_BENCH_METRICS_MESSAGES (default 200000) messages over 60 days, a tenth as many
paid orders; the issue's target is KEFU_BENCH_METRICS_MESSAGES=10000000 (1M orders), which
needs hours of generation on a small machine. KEFU_BENCH_METRICS_BACKENDS=sqlite limits it.

Freshness: the beat runs `refresh_metrics` every 20 s, so a stored message waits at most
one interval plus one run. We insert bursts of live messages, run the refresh as beat would,
and report the run's duration (p50/p99) and the bound 20 s + p99(run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

BEAT_SECONDS = 20.0
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway bench shop


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run() -> list[dict[str, object]]:
    backends = os.environ.get("KEFU_BENCH_METRICS_BACKENDS", "sqlite,postgres").split(",")
    rows: list[dict[str, object]] = []
    for backend in backends:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_metrics", backend.strip()],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ.copy(),
        )
        found = False
        for line in proc.stdout.splitlines():
            if line.startswith("ROW "):
                rows.append(json.loads(line[4:]))
                found = True
        if proc.returncode != 0 or not found:
            rows.append(
                {
                    "name": f"metrics [{backend}] FAILED",
                    "returncode": proc.returncode,
                    "stderr_tail": proc.stderr[-800:],
                }
            )
    return rows


def _child(backend: str) -> None:
    n_messages = int(os.environ.get("KEFU_BENCH_METRICS_MESSAGES", "200000"))
    with tempfile.TemporaryDirectory(prefix="kefu-bench-metrics-") as tmp:
        os.environ["KEFU_DATA_DIR"] = tmp
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
        pg_base = os.environ.get("KEFU_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
        if backend == "postgres":
            _pg(pg_base, "DROP DATABASE IF EXISTS kefu_bench_metrics")
            _pg(pg_base, "CREATE DATABASE kefu_bench_metrics")
            os.environ["KEFU_DATABASE_URL"] = f"{pg_base}/kefu_bench_metrics"
        else:
            os.environ.pop("KEFU_DATABASE_URL", None)
        try:
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", interactive=False, verbosity=0)
            for row in _measure(n_messages, backend):
                print("ROW " + json.dumps(row), flush=True)
        finally:
            if backend == "postgres":
                from django.db import connections

                connections.close_all()
                _pg(pg_base, "DROP DATABASE IF EXISTS kefu_bench_metrics")


def _pg(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _generate(shop, agents, n_messages: int, rng: random.Random) -> tuple[dt.date, dt.date]:
    """Buyers, conversations, messages (buyer/agent/auto) and paid orders over 60 days."""
    from django.db import transaction

    from kefu.conversations.models import Buyer, Conversation, Message
    from kefu.orders.models import Order

    end = dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    start = end - dt.timedelta(days=60)
    n_buyers = max(10, n_messages // 10)
    with transaction.atomic():
        Buyer.objects.bulk_create(
            [Buyer(shop=shop, external_id=f"b{i}", first_seen_at=start) for i in range(n_buyers)],
            batch_size=5000,
        )
    buyer_ids = list(Buyer.objects.filter(shop=shop).values_list("pk", flat=True))
    convs = []
    for bid in buyer_ids:
        group = "pre_sale" if rng.random() < 0.6 else "after_sale"
        convs.append(
            Conversation(
                shop=shop,
                buyer_id=bid,
                channel="marketplace",
                entry_point="product_page" if group == "pre_sale" else "order_detail",
                group=group,
                status="resolved",
                last_message_at=end,
                opened_at=start,
            )
        )
    Conversation.objects.bulk_create(convs, batch_size=5000)
    conv_of = dict(Conversation.objects.filter(shop=shop).values_list("buyer_id", "pk"))
    batch: list[Message] = []
    made = 0
    no = 0
    while made < n_messages:
        bid = rng.choice(buyer_ids)
        at = start + dt.timedelta(seconds=rng.randrange(60 * 86400))
        for _ in range(rng.randint(1, 4)):
            no += 1
            batch.append(
                Message(
                    shop=shop,
                    conversation_id=conv_of[bid],
                    buyer_id=bid,
                    direction="buyer",
                    text="hi",
                    external_id=f"m{no}",
                    sent_at=at,
                )
            )
            at += dt.timedelta(seconds=rng.randint(5, 600))
        if rng.random() < 0.3:
            no += 1
            batch.append(
                Message(
                    shop=shop,
                    conversation_id=conv_of[bid],
                    buyer_id=bid,
                    direction="auto",
                    text="welcome",
                    external_id=f"m{no}",
                    sent_at=at,
                    payload={"automation": "w"},
                )
            )
        if rng.random() < 0.85:
            no += 1
            at += dt.timedelta(seconds=rng.choice([30, 120, 900, 7200, 90000, 200000]))
            batch.append(
                Message(
                    shop=shop,
                    conversation_id=conv_of[bid],
                    buyer_id=bid,
                    direction="agent",
                    text="hello",
                    author=rng.choice(agents),
                    external_id=f"m{no}",
                    sent_at=at,
                )
            )
        made = no
        if len(batch) >= 5000:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)
    orders = [
        Order(
            shop=shop,
            external_id=f"o{i}",
            buyer_id=rng.choice(buyer_ids),
            status="paid",
            currency=rng.choice(["USD", "USD", "CNY"]),
            paid_amount=Decimal(rng.randint(500, 9000)) / 100,
            total_amount=Decimal("10.00"),
            placed_at=start,
            paid_at=start + dt.timedelta(seconds=rng.randrange(60 * 86400)),
            source="import",
        )
        for i in range(n_messages // 10)
    ]
    Order.objects.bulk_create(orders, batch_size=5000)
    return (end - dt.timedelta(days=30)).date(), (end - dt.timedelta(days=1)).date()


def _measure(n_messages: int, backend: str) -> list[dict[str, object]]:
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.services import create_agent, create_shop
    from kefu.conversations.models import Conversation, Message
    from kefu.metrics import config, refresh, selectors
    from kefu.metrics.models import DailyRollup, MetricsFact

    vendor = connection.vendor
    rng = random.Random(7)
    shop = create_shop(
        name="Bench AliExpress",
        platform="aliexpress",
        slug="bench-metrics",
        owner_login="bench-owner",
        owner_password=BENCH_PASSWORD,
        currency="USD",
        timezone_name="Asia/Shanghai",
    ).shop
    agents = [
        create_agent(
            actor=None,
            shop=shop,
            login=f"agent{i}",
            groups=["pre_sale", "after_sale"],
            password=BENCH_PASSWORD,
        )[0]
        for i in range(8)
    ]
    owner = shop.members.get(role="owner")
    config.set_reporting(actor=owner, rates={"CNY": Decimal("0.1389")})
    t0 = time.perf_counter()
    first, last = _generate(shop, agents, n_messages, rng)
    gen_s = time.perf_counter() - t0
    real = Message.objects.filter(shop=shop).count()

    t0 = time.perf_counter()
    result = refresh.rebuild_shop(shop=shop)
    rebuild_s = time.perf_counter() - t0
    facts = MetricsFact.objects.filter(shop=shop).count()
    rollups = DailyRollup.objects.filter(shop=shop).count()
    rows: list[dict[str, object]] = [
        {
            "name": f"metrics rebuild [{vendor}]",
            "messages": real,
            "orders": n_messages // 10,
            "buyers": result.buyers,
            "facts": facts,
            "rollup_rows": rollups,
            "generate_s": round(gen_s, 1),
            "rebuild_s": round(rebuild_s, 2),
            "messages_per_s": round(real / rebuild_s),
        }
    ]
    for by in ("agent", "day"):
        times = []
        for _ in range(60):
            t0 = time.perf_counter()
            report = selectors.report(shop=shop, start=first, end=last, by=by)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append(
            {
                "name": f"metrics dashboard 30 days by {by} [{vendor}]",
                "messages": real,
                "p50_ms": round(statistics.median(times), 2),
                "p99_ms": round(_pct(times, 0.99), 2),
                "reception_count": report.total["reception_count"],
            }
        )

    # Freshness: bursts of live traffic between beat runs, refreshed as the beat would.
    convs = list(Conversation.objects.filter(shop=shop).values_list("pk", "buyer_id")[:5000])
    runs, lags = [], []
    for burst in range(20):
        now = timezone.now()
        picked = rng.sample(convs, 50)
        stored_at = time.perf_counter()
        for i, (cid, bid) in enumerate(picked):
            Message.objects.create(
                shop=shop,
                conversation_id=cid,
                buyer_id=bid,
                direction="buyer",
                text="live",
                external_id=f"live-{burst}-{i}",
                sent_at=now,
            )
            Message.objects.create(
                shop=shop,
                conversation_id=cid,
                buyer_id=bid,
                direction="agent",
                text="answer",
                author=agents[i % len(agents)],
                external_id=f"live-r-{burst}-{i}",
                sent_at=now + dt.timedelta(seconds=30),
            )
        t0 = time.perf_counter()
        refresh.refresh_shop(shop=shop)
        done = time.perf_counter()
        runs.append(done - t0)
        lags.append(done - stored_at)
    today = selectors.today(shop)
    assert selectors.report(shop=shop, start=today, end=today).total["messages_received"] >= 1000
    p99_run = _pct(runs, 0.99)
    rows.append(
        {
            "name": f"metrics freshness [{vendor}]",
            "bursts": 20,
            "messages_per_burst": 100,
            "refresh_run_p50_s": round(statistics.median(runs), 3),
            "refresh_run_p99_s": round(p99_run, 3),
            "stored_to_updated_when_run_starts_p99_s": round(_pct(lags, 0.99), 3),
            "beat_interval_s": BEAT_SECONDS,
            "freshness_p99_bound_s": round(BEAT_SECONDS + p99_run, 2),
        }
    )
    return rows


if __name__ == "__main__":
    _child(sys.argv[1])
