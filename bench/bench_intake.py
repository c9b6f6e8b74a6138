"""Intake throughput over the signed webhook, and the raw insert rate beside it, per backend.

`python -m bench intake` runs, on each backend (bench.harness: SQLite; PostgreSQL + Redis with
one and with two web processes):

1. A helper subprocess creates the shop "bench-intake": an owner and a few agents marked
   online, so intake routes every new conversation. Then `kefu run --no-worker` serves.
2. intake_http: N signed webhook POSTs (/api/v1/inbound/messages) from many buyers with
   mixed entry points at concurrency C; every answer must be 201 and the database must hold
   exactly N new messages afterwards.
3. raw_insert: the same N Message rows written straight through the ORM in a subprocess,
   with bulk_create and one row per transaction, to show the cost of the HTTP path.

The push to agents' sockets is bench_push. Knobs: KEFU_BENCH_MESSAGES (2000),
KEFU_BENCH_CONCURRENCY (16), KEFU_BENCH_BUYERS (500), KEFU_BENCH_INTAKE_SECONDS (45).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from typing import Any

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres", "postgres-2p")
HELPER = "bench.bench_intake"
INTAKE_SLUG = "bench-intake"
RAW_SLUG = "bench-raw"
INTAKE_AGENTS = 4


# --- helper commands (a subprocess with Django set up on the backend) -------------------------


def _helper_prep() -> Row:
    from django.utils import timezone

    from kefu.accounts.services import create_agent
    from kefu.conversations.models import AgentPresence

    intake = harness.bench_shop(INTAKE_SLUG, "Bench Intake")
    now = timezone.now()
    for i in range(INTAKE_AGENTS):
        agent, _ = create_agent(
            actor=None,
            shop=intake.shop,
            login=f"bi-agent{i}",
            groups=["pre_sale", "after_sale"],
            password=harness.BENCH_PASSWORD,
        )
        # Online and available, as if their sockets were open, so intake routes.
        AgentPresence.objects.create(shop=intake.shop, user=agent, is_online=True, last_seen_at=now)
    return {"secret": intake.shop.webhook_secret}


def _helper_count(prefix: str) -> Row:
    from kefu.conversations.models import Conversation, ConversationEvent, Message

    msgs = Message.objects.filter(shop__slug=INTAKE_SLUG, external_id__startswith=prefix)
    convs = Conversation.objects.filter(shop__slug=INTAKE_SLUG)
    return {
        "stored": msgs.count(),
        "conversations": convs.count(),
        "unassigned": convs.filter(assignee__isnull=True).count(),
        "events": ConversationEvent.objects.filter(shop__slug=INTAKE_SLUG).count(),
    }


def _helper_raw(size: str) -> Row:
    from django.db import transaction
    from django.utils import timezone

    from kefu.conversations.models import Buyer, Conversation, Direction, Message

    n = int(size)
    shop = harness.bench_shop(RAW_SLUG, "Bench Raw").shop
    now = timezone.now()
    buyer = Buyer.objects.create(shop=shop, external_id="raw-buyer", first_seen_at=now)
    conv = Conversation.objects.create(
        shop=shop,
        buyer=buyer,
        channel="marketplace",
        entry_point="shop_page",
        group="pre_sale",
        status="open",
        last_message_at=now,
        opened_at=now,
    )

    def row(tag: str, i: int) -> Message:
        return Message(
            shop=shop,
            conversation=conv,
            buyer=buyer,
            direction=Direction.BUYER,
            text=harness.TEXTS[i % len(harness.TEXTS)],
            external_id=f"raw-{tag}-{i}",
            sent_at=timezone.now(),
        )

    batch = 500
    started = time.perf_counter()
    for start in range(0, n, batch):
        with transaction.atomic():
            Message.objects.bulk_create(
                [row("bulk", i) for i in range(start, min(n, start + batch))]
            )
    bulk_s = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            row("one", i).save()
    one_s = time.perf_counter() - started
    stored = Message.objects.filter(shop=shop).count()
    return {"bulk_s": bulk_s, "one_s": one_s, "stored": stored, "batch": batch}


# --- intake over HTTP ------------------------------------------------------------------------


async def _intake(
    base: str, secret: str, prefix: str, n: int, concurrency: int, buyers: int, limit_s: float
) -> dict[str, Any]:
    import httpx

    rng = random.Random(7)
    url = f"{base}/api/v1/inbound/messages"
    bodies = [
        harness.inbound_body(
            f"{prefix}{i}",
            f"buyer{rng.randrange(buyers)}",
            rng.choice(harness.ENTRY_POINTS),
            rng.choice(harness.TEXTS) + f" #{i}",
        )
        for i in range(n)
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        # Warm-up (not measured): lazy imports, first connections, prepared caches.
        for i in range(10):
            body = harness.inbound_body(f"warm-{prefix}{i}", f"warm{i}", "shop_page", "warm-up")
            await client.post(
                url, content=body, headers=harness.webhook_headers(INTAKE_SLUG, secret, body)
            )

        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        deadline = time.monotonic() + limit_s

        async def worker() -> None:
            while time.monotonic() < deadline:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                headers = harness.webhook_headers(INTAKE_SLUG, secret, body)
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, content=body, headers=headers)
                    code = r.status_code
                    if code != 201 and len(failures) < 5:
                        failures.append(f"{code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    code = -1
                    if len(failures) < 5:
                        failures.append(f"{type(exc).__name__}: {exc}")
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[code] = statuses.get(code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "sent": len(latencies),
        "seconds": seconds,
        "latencies": latencies,
        "ok": statuses.get(201, 0),
        "statuses": statuses,
        "failures": failures,
    }


# --- one backend end to end -------------------------------------------------------------------


def run_on(backend: Backend) -> list[Row]:
    n = harness.knob("KEFU_BENCH_MESSAGES", 2000, quick=100)
    concurrency = harness.knob("KEFU_BENCH_CONCURRENCY", 16)
    buyers = harness.knob("KEFU_BENCH_BUYERS", 500, quick=50)
    limit_s = harness.knob("KEFU_BENCH_INTAKE_SECONDS", 45, quick=20)
    label = backend.label
    secret = str(backend.helper(HELPER, "prep")["secret"])
    prefix = f"in-{label}-"
    pg_watch = harness.PgConnections(backend.database) if backend.database else None
    try:
        with harness.Server(backend) as server:
            load_before = harness.loadavg()
            intake = asyncio.run(
                _intake(server.base, secret, prefix, n, concurrency, buyers, limit_s)
            )
            took = f"{intake['seconds']:.1f}s"
            print(f"[{label}] intake {took} {intake['statuses']}", file=sys.stderr)
            if intake["failures"]:
                print(f"[{label}] intake failures: {intake['failures']}", file=sys.stderr)
            pg_peak = pg_watch.take() if pg_watch else None
            if pg_watch is not None:
                # The server may hold every connection PostgreSQL allows (see the report).
                counts = {
                    "stored": pg_watch.scalar(
                        "SELECT count(*) FROM conversations_message m JOIN accounts_shop s"
                        " ON s.id = m.shop_id WHERE s.slug = %s AND m.external_id LIKE %s",
                        (INTAKE_SLUG, prefix + "%"),
                    ),
                    "conversations": -1,
                    "unassigned": -1,
                }
                with contextlib.suppress(RuntimeError):
                    counts = backend.helper(HELPER, "count", prefix)
            else:
                counts = backend.helper(HELPER, "count", prefix)
    finally:
        if pg_watch is not None:
            pg_watch.stop()
    rows: list[Row] = [
        {
            "name": f"intake_http {label}",
            "messages": intake["sent"],
            "planned": n,
            "concurrency": concurrency,
            "buyers": buyers,
            "seconds": round(intake["seconds"], 2),
            "msgs_per_s": round(intake["sent"] / intake["seconds"], 1),
            **harness.summary(intake["latencies"]),
            "errors": intake["sent"] - intake["ok"],
            "accepted": intake["ok"],
            "stored": counts["stored"],
            "conversations": counts["conversations"],
            "unassigned": counts["unassigned"],
            "loadavg_1m": load_before,
            **({"pg_peak_connections": pg_peak} if pg_peak is not None else {}),
        }
    ]
    raw = backend.helper(HELPER, "raw", str(n))
    rows += [
        {
            "name": f"raw_insert {label} bulk",
            "rows": n,
            "batch": raw["batch"],
            "seconds": round(raw["bulk_s"], 3),
            "rows_per_s": round(n / raw["bulk_s"]),
        },
        {
            "name": f"raw_insert {label} one-per-transaction",
            "rows": n,
            "seconds": round(raw["one_s"], 3),
            "rows_per_s": round(n / raw["one_s"]),
            "stored_both": raw["stored"],
        },
    ]
    # Lost: a message answered 201 but not stored. Never tolerated, not even when not strict.
    if rows[0]["stored"] != rows[0]["accepted"] or raw["stored"] != 2 * n:
        raise harness.BenchFailed(rows, "lost messages")
    harness.fail_on(rows, "errors")
    return rows


if __name__ == "__main__":
    sys.exit(
        harness.helper_main(
            {"prep": _helper_prep, "count": _helper_count, "raw": _helper_raw}, sys.argv[1:]
        )
    )
