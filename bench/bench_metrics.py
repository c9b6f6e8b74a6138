"""Metrics: dashboard query p50/p99 over a 30-day range, full rebuild time, refresh freshness.

`python -m bench metrics` runs on SQLite and on PostgreSQL (bench.harness makes and drops the
database); the measuring runs in a helper subprocess with Django set up on that backend.

Scale: KEFU_BENCH_METRICS_MESSAGES (default 200000) messages over 60 days, a tenth as many
paid orders; the issue's target is KEFU_BENCH_METRICS_MESSAGES=10000000 (1M orders), which
needs hours of generation on a small machine.

Freshness: the beat runs `refresh_metrics` every 20 s, so a stored message waits at most
one interval plus one run. We insert bursts of live messages, run the refresh as beat would,
and report the run's duration (p50/p99) and the bound 20 s + p99(run).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from decimal import Decimal
from typing import TYPE_CHECKING

from bench import harness
from bench.harness import Backend, Row

if TYPE_CHECKING:
    from kefu.accounts.models import Shop, User

BACKENDS = ("sqlite", "postgres")
BEAT_SECONDS = 20.0


def run_on(backend: Backend) -> list[Row]:
    n_messages = harness.knob("KEFU_BENCH_METRICS_MESSAGES", 200_000, quick=5_000)
    rows: list[Row] = backend.helper(
        "bench.bench_metrics", "measure", str(n_messages), timeout=7200
    )["rows"]
    return rows


def _helper_measure(size: str) -> Row:
    return {"rows": _measure(int(size))}


def _generate(
    shop: Shop, agents: list[User], n_messages: int, rng: random.Random
) -> tuple[dt.date, dt.date]:
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


def _measure(n_messages: int) -> list[Row]:
    from django.db import connection
    from django.utils import timezone

    from kefu.accounts.services import create_agent
    from kefu.conversations.models import Conversation, Message
    from kefu.metrics import config, refresh, selectors
    from kefu.metrics.models import DailyRollup, MetricsFact

    vendor = connection.vendor
    rng = random.Random(7)
    shop = harness.bench_shop(
        "bench-metrics",
        "Bench AliExpress",
        platform="aliexpress",
        owner_login="bench-owner",
        currency="USD",
        timezone_name="Asia/Shanghai",
    ).shop
    agents = [
        create_agent(
            actor=None,
            shop=shop,
            login=f"agent{i}",
            groups=["pre_sale", "after_sale"],
            password=harness.BENCH_PASSWORD,
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
    rows: list[Row] = [
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
        times: list[float] = []
        for _ in range(60):
            t0 = time.perf_counter()
            report = selectors.report(shop=shop, start=first, end=last, by=by)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append(
            {
                "name": f"metrics dashboard 30 days by {by} [{vendor}]",
                "messages": real,
                **harness.summary(times, digits=2),
                "reception_count": report.total["reception_count"],
            }
        )

    # Freshness: bursts of live traffic between beat runs, refreshed as the beat would.
    convs = list(Conversation.objects.filter(shop=shop).values_list("pk", "buyer_id")[:5000])
    runs: list[float] = []
    lags: list[float] = []
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
    p99_run = harness.percentile(runs, 99)
    rows.append(
        {
            "name": f"metrics freshness [{vendor}]",
            "bursts": 20,
            "messages_per_burst": 100,
            **harness.summary(runs, "refresh_run_", unit="s", digits=3),
            "stored_to_updated_when_run_starts_p99_s": round(harness.percentile(lags, 99), 3),
            "beat_interval_s": BEAT_SECONDS,
            "freshness_p99_bound_s": round(BEAT_SECONDS + p99_run, 2),
        }
    )
    return rows


if __name__ == "__main__":
    sys.exit(harness.helper_main({"measure": _helper_measure}, sys.argv[1:]))
