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
4. intake_queued single / batch: the shop "bench-queue" in the default queued mode (202,
   decisions §42). W worker subprocesses drain the intake queue (the intake worker's own
   loop, `kefu.desk.intake_queue.drain`) while Q messages go to the single webhook at
   concurrency C, then Q more to the batch webhook in requests of B. Counted as *processed*:
   stored, routed and auto-replied, from the first request until the workers stored the last
   message; the answer rate and the HTTP latencies beside it.

Step 2 is the synchronous mode (`intake_synchronous`, 201 with the routing), the path every
message took before the queue.

The push to agents' sockets is bench_push. Knobs: KEFU_BENCH_MESSAGES (2000),
KEFU_BENCH_CONCURRENCY (16), KEFU_BENCH_BUYERS (500), KEFU_BENCH_INTAKE_SECONDS (45),
KEFU_BENCH_QUEUE_MESSAGES (6000 per webhook), KEFU_BENCH_QUEUE_BATCH_MESSAGES (the batch
webhook's, default the same), KEFU_BENCH_BATCH (50), KEFU_BENCH_INTAKE_WORKERS (1),
KEFU_BENCH_INTAKE_WSGI (1: the queued webhooks go to the WSGI intake server of
`kefu run --intake-port`, decisions §48), KEFU_BENCH_SENDER (wrk: the single webhook's
messages from Debian's wrk, signed before the run, one connection per wrk thread
(bench/wrk_sender.py, decisions §82); python: from Python processes as below),
KEFU_BENCH_SENDERS (with KEFU_BENCH_SENDER=python, 2: sender processes, each with
concurrency/SENDERS threads; 1: one asyncio httpx process, as before),
KEFU_BENCH_DB_SUFFIX (harness). Each single-webhook row records the sender's own CPU
(sender_cpu_s, sender_cpu_ms_per_request).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from typing import Any

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres", "postgres-2p")
HELPER = "bench.bench_intake"
INTAKE_SLUG = "bench-intake"
QUEUE_SLUG = "bench-queue"
RAW_SLUG = "bench-raw"
# Agents online in each shop: KEFU_BENCH_AGENTS (the push bench has 1,000 sockets).
INTAKE_AGENTS = int(os.environ.get("KEFU_BENCH_AGENTS", "4"))


# --- helper commands (a subprocess with Django set up on the backend) -------------------------


def _helper_prep() -> Row:
    from django.utils import timezone

    from kefu.accounts.models import User
    from kefu.accounts.services import create_agent, set_intake_mode
    from kefu.automation.config import settings_for_update
    from kefu.automation.starter import install_starter_set
    from kefu.conversations.models import AgentPresence

    secrets: dict[str, str] = {}
    for slug, name, tag in (
        (INTAKE_SLUG, "Bench Intake", "bi"),
        (QUEUE_SLUG, "Bench Queue", "bq"),
    ):
        created = harness.bench_shop(slug, name)
        # The per-buyer limit (120 a minute by default) would refuse the run's own traffic
        # past 1,000 messages/s over its 500 buyers: the bench measures throughput, not it.
        created.shop.intake_per_buyer_per_minute = 1_000_000
        created.shop.save(update_fields=["intake_per_buyer_per_minute"])
        now = timezone.now()
        for i in range(INTAKE_AGENTS):
            agent, _ = create_agent(
                actor=None,
                shop=created.shop,
                login=f"{tag}-agent{i}",
                groups=["pre_sale", "after_sale"],
                password=harness.BENCH_PASSWORD,
            )
            # Online and available with the inbox open, so intake routes.
            AgentPresence.objects.create(
                shop=created.shop, user=agent, is_online=True, last_seen_at=now, socket_count=1
            )
        # Every effect a message has: the starter welcome and keyword replies are on.
        install_starter_set(shop=created.shop)
        conf = settings_for_update(created.shop)
        conf.keyword_replies_enabled = True
        conf.save()
        if slug == INTAKE_SLUG:
            # The path every message took before the queue: store and route, then answer.
            owner = User.objects.get(shop=created.shop, role="owner")
            set_intake_mode(actor=owner, synchronous=True)
        secrets[slug] = created.shop.webhook_secret
    return {"secret": secrets[INTAKE_SLUG], "queue_secret": secrets[QUEUE_SLUG]}


def _helper_online() -> Row:
    """The agents pinged just now: routing takes only agents seen within its grace (60 s),
    and bench agents have no socket to ping from."""
    from django.utils import timezone

    from kefu.conversations.models import AgentPresence

    now = timezone.now()
    n = 0
    # One agent per statement, as each agent's own socket pings: one UPDATE of all the rows
    # locks them in the table's order while a worker's batch locks them in agent order, and
    # the two deadlocked (a repeat of decisions §65's run died of it).
    for pk in (
        AgentPresence.objects.filter(shop__slug__in=[INTAKE_SLUG, QUEUE_SLUG])
        .order_by("user_id")
        .values_list("pk", flat=True)
    ):
        n += AgentPresence.objects.filter(pk=pk).update(last_seen_at=now)
    return {"agents": n}


def _helper_drain(prefix: str, expected: str, seconds: str) -> Row:
    """One intake worker: drain the queue until the run's messages are all stored."""
    from kefu.conversations.models import Message
    from kefu.desk import intake_queue
    from kefu.desk.intake_queue import drain

    batches = _count_batches(intake_queue)
    want = int(expected)
    deadline = time.monotonic() + float(seconds)
    processed, first_at, last_at = 0, None, None
    stored = Message.objects.filter(shop__slug=QUEUE_SLUG, external_id__startswith=prefix)
    pinged = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - pinged > 20:
            _helper_online()  # the pings the agents' inbox sockets would send
            pinged = time.monotonic()
        n = drain(seconds=5)
        if n:
            processed += n
            first_at = first_at or time.time()
            last_at = time.time()
        elif stored.count() >= want:
            break
        else:
            time.sleep(0.02)
    return {
        "processed": processed,
        "first_at": first_at,
        "last_at": last_at,
        "batches": batches.summary(),
    }


class _BatchTally:
    """The batch sizes one worker took (``drain_lanes`` calls that stored something), the
    size it asked for, and the CPU and wall time they took: the spread's diagnosis."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.asked: list[int] = []
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self.empty = 0

    def summary(self) -> Row:
        sizes = sorted(self.sizes)
        n = len(sizes)
        done = sum(sizes)

        def pct(p: float) -> int:
            return sizes[min(n - 1, int(p * n))] if n else 0

        return {
            "batches": n,
            "messages": done,
            "empty_calls": self.empty,
            "mean_size": round(done / n, 1) if n else 0,
            "size_p10_p50_p90": [pct(0.1), pct(0.5), pct(0.9)],
            "asked_mean": round(sum(self.asked) / len(self.asked), 1) if self.asked else 0,
            "at_asked_limit": sum(1 for s, a in zip(self.sizes, self.asked, strict=True) if s >= a),
            "cpu_ms_per_message": round(1000 * self.cpu_s / done, 3) if done else 0,
            "wall_ms_per_message": round(1000 * self.wall_s / done, 3) if done else 0,
        }


def _count_batches(module: Any) -> _BatchTally:
    """Wrap the worker's ``drain_lanes`` to tally the batches it takes (bench only)."""
    tally = _BatchTally()
    inner = module.drain_lanes

    def counted(lanes: list[int], *, batch: int = 500, set_based: bool = True) -> int:
        asked = batch
        if set_based:
            asked = max(
                module.MIN_SET_BATCH,
                min(batch, int(module.batch_seconds() / module._per_message)),
            )
        cpu, wall = time.thread_time(), time.monotonic()
        did = inner(lanes, batch=batch, set_based=set_based)
        if did:
            tally.sizes.append(did)
            tally.asked.append(asked)
            tally.cpu_s += time.thread_time() - cpu
            tally.wall_s += time.monotonic() - wall
        else:
            tally.empty += 1
        return did

    module.drain_lanes = counted
    return tally


def _helper_count(prefix: str, slug: str = INTAKE_SLUG) -> Row:
    from kefu.conversations.models import (
        Conversation,
        ConversationEvent,
        IntakeMessage,
        Message,
    )

    msgs = Message.objects.filter(shop__slug=slug, external_id__startswith=prefix)
    convs = Conversation.objects.filter(shop__slug=slug)
    return {
        "stored": msgs.count(),
        "auto_replies": Message.objects.filter(shop__slug=slug, direction="auto").count(),
        "conversations": convs.count(),
        "unassigned": convs.filter(assignee__isnull=True).count(),
        "events": ConversationEvent.objects.filter(shop__slug=slug).count(),
        "queue_left": IntakeMessage.objects.filter(shop__slug=slug).count(),
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


def _bodies(prefix: str, n: int, buyers: int, *, seed: int, buyer_tag: str) -> list[bytes]:
    """N signed-webhook bodies: buyers and entry points drawn from a seeded generator, so
    every run and backend sends the same messages."""
    rng = random.Random(seed)
    return [
        harness.inbound_body(
            f"{prefix}{i}",
            f"{buyer_tag}{rng.randrange(buyers)}",
            rng.choice(harness.ENTRY_POINTS),
            rng.choice(harness.TEXTS) + f" #{i}",
        )
        for i in range(n)
    ]


async def _intake(
    base: str, secret: str, prefix: str, n: int, concurrency: int, buyers: int, limit_s: float
) -> dict[str, Any]:
    import httpx

    url = f"{base}/api/v1/inbound/messages"
    bodies = _bodies(prefix, n, buyers, seed=7, buyer_tag="buyer")
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


async def _send_queued(
    base: str,
    secret: str,
    prefix: str,
    n: int,
    concurrency: int,
    buyers: int,
    batch: int,
    limit_s: float,
) -> dict[str, Any]:
    """N messages to the queued shop: one per request (batch 1) or `batch` per request."""
    import httpx

    docs = [json.loads(b) for b in _bodies(prefix, n, buyers, seed=11, buyer_tag="qbuyer")]
    if batch == 1:
        url = f"{base}/api/v1/inbound/messages"
        bodies = [json.dumps(d, ensure_ascii=False).encode() for d in docs]
    else:
        url = f"{base}/api/v1/inbound/messages/batch"
        bodies = [
            json.dumps({"messages": docs[i : i + batch]}, ensure_ascii=False).encode()
            for i in range(0, n, batch)
        ]
    latencies: list[float] = []
    accepted = 0
    errors = 0
    failures: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        deadline = time.monotonic() + limit_s

        async def worker() -> None:
            nonlocal accepted, errors
            while time.monotonic() < deadline:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                headers = harness.webhook_headers(QUEUE_SLUG, secret, body)
                t0 = time.perf_counter()
                try:
                    r = await client.post(url, content=body, headers=headers)
                    if r.status_code == 202:
                        accepted += (
                            1
                            if batch == 1
                            else sum(1 for x in r.json()["results"] if x["status"] != "rejected")
                        )
                    else:
                        errors += 1
                        if len(failures) < 5:
                            failures.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    errors += 1
                    if len(failures) < 5:
                        failures.append(f"{type(exc).__name__}: {exc}")
                latencies.append((time.perf_counter() - t0) * 1000)

        started_wall = time.time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "accepted": accepted,
        "errors": errors,
        "seconds": seconds,
        "started_wall": started_wall,
        "latencies": latencies,
        "failures": failures,
    }


def _sender_process(
    base: str, secret: str, bodies: list[bytes], threads: int, deadline: float, out: Any
) -> None:
    """One sender process of `_send_single_processes`: `threads` keep-alive connections."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    url = urlsplit(base)
    latencies: list[float] = []
    tally = {"accepted": 0, "errors": 0}
    failures: list[str] = []
    lock = threading.Lock()
    todo = iter(bodies)

    def thread() -> None:
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                body = next(todo, None)
            if body is None:
                return
            headers = {
                "Content-Type": "application/json",
                **harness.webhook_headers(QUEUE_SLUG, secret, body),
            }
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/v1/inbound/messages", body, headers)
                answer = connection.getresponse()
                text = answer.read()
                ok, problem = answer.status == 202, f"{answer.status}: {text[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            took = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(took)
                tally["accepted" if ok else "errors"] += 1
                if not ok and len(failures) < 5:
                    failures.append(problem)
                    # At once: a run whose drain then waits for a message never accepted
                    # would otherwise end (killed) without saying why.
                    print(f"[sender] not accepted: {problem}", file=sys.stderr, flush=True)

    pool = [threading.Thread(target=thread) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    # This process's own user + system CPU (all its threads): the sender's cost, which on
    # the 2-core machine comes out of the server's (decisions §82).
    times = os.times()
    out.put((tally, latencies, failures, times.user + times.system))


def _send_single_processes(
    base: str, secret: str, prefix: str, n: int, concurrency: int, buyers: int, limit_s: float
) -> dict[str, Any]:
    """The single webhook from SENDERS processes of threads with keep-alive `http.client`
    connections (`concurrency` in all): one asyncio process of `httpx` managed ~60 requests
    a second on the loaded 2-core machine and measured itself, not the server."""
    import multiprocessing

    processes = max(1, min(harness.knob("KEFU_BENCH_SENDERS", 2), concurrency))
    # thread_time, not process_time: this process also runs the PostgreSQL-connection watcher
    # (harness.PgConnections), whose CPU is not the sender's.
    prep_started = time.thread_time()
    bodies = _bodies(prefix, n, buyers, seed=11, buyer_tag="qbuyer")
    prep_cpu_s = time.thread_time() - prep_started
    out: Any = multiprocessing.Queue()
    deadline = time.monotonic() + limit_s
    started_wall, started = time.time(), time.perf_counter()
    parent_started = time.thread_time()
    senders = [
        multiprocessing.Process(
            target=_sender_process,
            args=(base, secret, bodies[k::processes], concurrency // processes, deadline, out),
        )
        for k in range(processes)
    ]
    for proc in senders:
        proc.start()
    results = [out.get() for _ in senders]
    for proc in senders:
        proc.join()
    seconds = time.perf_counter() - started
    return {
        "requests": sum(len(r[1]) for r in results),
        "accepted": sum(r[0]["accepted"] for r in results),
        "errors": sum(r[0]["errors"] for r in results),
        "seconds": seconds,
        "started_wall": started_wall,
        "latencies": [x for r in results for x in r[1]],
        "failures": [f for r in results for f in r[2]][:5],
        "sender_cpu_s": sum(r[3] for r in results) + time.thread_time() - parent_started,
        "sender_prep_cpu_s": prep_cpu_s,
        "sender_detail": {"processes": processes, "threads": concurrency // processes},
    }


def _send_single_wrk(
    base: str, secret: str, prefix: str, n: int, concurrency: int, buyers: int, limit_s: float
) -> dict[str, Any]:
    """The single webhook from wrk (bench/wrk_sender.py): the same bodies and headers as
    `_sender_process` sends, signed here before the run, over `concurrency` connections.

    The signatures are made before the run, so a run longer than the server's replay window
    (KEFU_WEBHOOK_MAX_AGE_SECONDS, 300 s) would be refused late in it: counted as errors."""
    from bench import wrk_sender

    path = "/api/v1/inbound/messages"
    prep_started = time.thread_time()
    bodies = _bodies(prefix, n, buyers, seed=11, buyer_tag="qbuyer")
    requests = [
        wrk_sender.raw_request(
            base,
            path,
            {"Content-Type": "application/json", **harness.webhook_headers(QUEUE_SLUG, secret, b)},
            b,
        )
        for b in bodies
    ]
    prep_cpu_s = time.thread_time() - prep_started
    parent_started = time.thread_time()
    run = wrk_sender.run(base + path, requests, concurrency, limit_s, prep_cpu_s=prep_cpu_s)
    parent_cpu_s = time.thread_time() - parent_started - (run.prep_cpu_s - prep_cpu_s)
    tally = run.tally
    failures = [
        f"{code}: {count} requests" + (" (no answer)" if code == 0 else "")
        for code, count in sorted(tally.statuses.items())
        if not 200 <= code <= 299
    ]
    if not run.finished:
        failures.append(f"wrk stopped at the limit with {len(tally.unanswered(n))} unanswered")
    for problem in failures:
        print(f"[sender] not accepted: {problem}", file=sys.stderr, flush=True)
    return {
        "requests": tally.attempts,
        "accepted": len(tally.acknowledged),
        "errors": n - len(tally.acknowledged),
        "seconds": run.seconds,
        "started_wall": run.started_wall,
        "latencies": tally.latencies_ms,
        "failures": failures[:5],
        "sender_cpu_s": run.cpu_s + parent_cpu_s,
        "sender_prep_cpu_s": run.prep_cpu_s,
        "sender_detail": {
            "threads": run.threads,
            "connections": run.threads,
            "wrk_cpu_s": round(run.cpu_s, 3),
            "wrk_report": run.wrk_summary,
            "latency_source": "per request, timed in the Lua script (request() to response());"
            " wrk's own percentiles are coordinated-omission corrected: wrk_report",
        },
    }


SENDERS = ("python", "wrk")


def _single_sender() -> str:
    """The single webhook's sender: KEFU_BENCH_SENDER=wrk (default) or python (decisions §82)."""
    chosen = os.environ.get("KEFU_BENCH_SENDER", "wrk")
    if chosen not in SENDERS:
        raise SystemExit(f"KEFU_BENCH_SENDER is one of {', '.join(SENDERS)}; got {chosen!r}")
    if chosen == "wrk":
        from bench import wrk_sender

        if not wrk_sender.available():
            raise SystemExit("KEFU_BENCH_SENDER=wrk needs wrk: `make loadgen` (make bench does)")
        return "wrk"
    return "http.client processes" if harness.knob("KEFU_BENCH_SENDERS", 2) > 1 else "httpx asyncio"


def _sender_cost(sent: dict[str, Any]) -> Row:
    """The sender's own CPU over the run, in all and per request (absent for the httpx one)."""
    if "sender_cpu_s" not in sent:
        return {}
    requests = max(1, sent["requests"])
    return {
        "sender_cpu_s": round(sent["sender_cpu_s"], 3),
        "sender_cpu_ms_per_request": round(sent["sender_cpu_s"] * 1000 / requests, 4),
        "sender_prep_cpu_s": round(sent["sender_prep_cpu_s"], 3),
        "sender_detail": sent["sender_detail"],
    }


def _queued_run(
    backend: Backend,
    base: str,
    secret: str,
    kind: str,
    n: int,
    concurrency: int,
    buyers: int,
    batch: int,
    workers: int,
    server_pid: int | None = None,
) -> Row:
    """One queued run: W worker subprocesses drain while the sender sends; one row."""
    label = backend.label
    prefix = f"q{kind}-{label}-"
    backend.helper(HELPER, "online")
    # Long enough for a loaded machine to store everything: a run that times out fails.
    timeout = max(240.0, n / 5)
    procs = [
        subprocess.Popen(
            [harness.PYTHON, "-m", HELPER, "drain", prefix, str(n), str(timeout)],
            cwd=harness.ROOT,
            env=backend.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    time.sleep(3)  # the workers' Django and language models load before the first message
    load_before = harness.loadavg()
    sender = _single_sender() if batch == 1 else "httpx asyncio"
    pg_before = _pg_stats(backend.database) if backend.database else None
    watch = _cpu_watch(backend, server_pid, [p.pid for p in procs])
    if sender == "wrk":
        sent = _send_single_wrk(base, secret, prefix, n, concurrency, buyers, timeout)
    elif sender == "http.client processes":
        sent = _send_single_processes(base, secret, prefix, n, concurrency, buyers, timeout)
    else:
        sent = asyncio.run(
            _send_queued(base, secret, prefix, n, concurrency, buyers, batch, timeout)
        )
    results: list[Row] = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout + 60)
        lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"intake worker failed ({proc.returncode}):\n{err[-3000:]}")
        results.append(json.loads(lines[-1][len("RESULT ") :]))
    cpu = watch.stop()
    pg_delta = _pg_delta(pg_before, _pg_stats(backend.database)) if pg_before else None
    last = max((r["last_at"] or 0.0) for r in results)
    processed_s = last - sent["started_wall"]
    counts = backend.helper(HELPER, "count", prefix, QUEUE_SLUG)
    print(
        f"[{label}] queued {kind}: {sent['accepted']} accepted in {sent['seconds']:.1f}s, "
        f"stored {counts['stored']} by {processed_s:.1f}s",
        file=sys.stderr,
    )
    if sent["failures"]:
        print(f"[{label}] queued {kind} failures: {sent['failures']}", file=sys.stderr)
    return {
        "name": f"intake_queued {kind} {label}",
        "messages": n,
        "per_request": batch,
        "requests": sent["requests"],
        "concurrency": concurrency,
        "workers": workers,
        "buyers": buyers,
        "sender": sender,
        **_sender_cost(sent),
        "answer_seconds": round(sent["seconds"], 2),
        "answered_msgs_per_s": round(sent["accepted"] / sent["seconds"], 1),
        "processed_seconds": round(processed_s, 2),
        "processed_msgs_per_s": round(counts["stored"] / processed_s, 1) if processed_s else 0,
        **harness.summary(sent["latencies"]),
        "errors": sent["errors"],
        "accepted": sent["accepted"],
        "stored": counts["stored"],
        "auto_replies": counts["auto_replies"],
        "conversations": counts["conversations"],
        "unassigned": counts["unassigned"],
        "queue_left": counts["queue_left"],
        "cpu": _cpu_per_message(cpu, counts["stored"], sent),
        "worker_batches": [r.get("batches") for r in results],
        **({"pg_stats": _pg_per_message(pg_delta, counts["stored"])} if pg_delta else {}),
        "loadavg_1m": load_before,
        "loadavg_1m_after": harness.loadavg(),
    }


_PG_DB_FIELDS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "blks_hit",
    "blks_read",
)


def _pg_stats(database: str) -> Row:
    """pg_stat_database counters of the bench database, the intake table's scans, and the
    oldest transaction horizon any session of any database holds (it keeps deleted queue rows
    visible to index scans)."""
    import psycopg

    with psycopg.connect(f"{harness.PG_ADMIN_URL}/{database}", autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        db = conn.execute(
            f"SELECT {', '.join(_PG_DB_FIELDS)} FROM pg_stat_database WHERE datname = %s",  # noqa: S608
            (database,),
        ).fetchone()
        table = conn.execute(
            "SELECT n_dead_tup, n_live_tup, idx_scan, idx_tup_fetch, seq_scan"
            " FROM pg_stat_user_tables WHERE relname = 'conversations_intakemessage'"
        ).fetchone()
        horizon = conn.execute(
            "SELECT max(age(backend_xmin)), max(age(backend_xid)) FROM pg_stat_activity"
        ).fetchone()
    out: Row = dict(zip(_PG_DB_FIELDS, db or (), strict=False))
    if table:
        out.update(
            zip(
                ("queue_dead", "queue_live", "queue_idx_scan", "queue_idx_fetch", "queue_seq"),
                table,
                strict=True,
            )
        )
    out["oldest_xmin_age"], out["oldest_xid_age"] = horizon or (None, None)
    return out


def _pg_delta(before: Row, after: Row) -> Row:
    out: Row = {}
    for key, value in after.items():
        if key.startswith(("queue_dead", "queue_live", "oldest_")):
            out[key] = [before.get(key), value]
        elif isinstance(value, int) and isinstance(before.get(key), int):
            out[key] = value - before[key]
    return out


def _pg_per_message(delta: Row, stored: int) -> Row:
    out = dict(delta)
    for key in ("xact_commit", "tup_returned", "tup_fetched", "blks_hit", "queue_idx_fetch"):
        if isinstance(delta.get(key), int):
            out[f"{key}_per_message"] = round(delta[key] / max(stored, 1), 2)
    return out


def _cpu_watch(backend: Backend, server_pid: int | None, workers: list[int]) -> harness.CpuWatch:
    """CPU of each component over a queued run: the WSGI intake server (granian's processes),
    the rest of `kefu run` (the ASGI server), the intake workers, this database's PostgreSQL
    backends and the Redis server (shared with whatever else uses it)."""

    def below_server() -> list[int]:
        return harness.descendants(server_pid) if server_pid else []

    def granian() -> list[int]:
        pids = below_server()
        main = [p for p in pids if "granian" in harness.cmdline(p)]
        return sorted({*main, *(d for m in main for d in harness.descendants(m))})

    def other_web() -> list[int]:
        taken = set(granian())
        return [p for p in below_server() if p not in taken]

    def redis() -> list[int]:
        return [
            int(e)
            for e in os.listdir("/proc")
            if e.isdigit() and harness.cmdline(int(e)).startswith("redis-server")
        ]

    groups = {
        "intake_server": granian,
        "asgi_server": other_web,
        "intake_workers": lambda: workers,
        "postgres": (lambda: harness.pg_backends(backend.database)) if backend.database else list,
        "redis": redis if backend.database else list,
    }
    return harness.CpuWatch(groups)


def _cpu_per_message(cpu: Row, stored: int, sent: dict[str, Any]) -> Row:
    """The watch's CPU seconds, and per message stored in ms, the sender's beside them."""
    out = dict(cpu)
    per = {k[: -len("_cpu_s")]: v for k, v in cpu.items() if k.endswith("_cpu_s")}
    if "sender_cpu_s" in sent:
        per["sender"] = sent["sender_cpu_s"]
    for name, seconds in per.items():
        out[f"{name}_ms_per_message"] = round(1000 * seconds / max(stored, 1), 3)
    return out


# --- one backend end to end -------------------------------------------------------------------


def run_on(backend: Backend) -> list[Row]:
    n = harness.knob("KEFU_BENCH_MESSAGES", 2000, quick=100)
    concurrency = harness.knob("KEFU_BENCH_CONCURRENCY", 16)
    buyers = harness.knob("KEFU_BENCH_BUYERS", 500, quick=50)
    limit_s = harness.knob("KEFU_BENCH_INTAKE_SECONDS", 45, quick=20)
    label = backend.label
    queue_n = harness.knob("KEFU_BENCH_QUEUE_MESSAGES", 6000, quick=300)
    batch = harness.knob("KEFU_BENCH_BATCH", 50)
    batch_n = harness.knob("KEFU_BENCH_QUEUE_BATCH_MESSAGES", queue_n)
    workers = harness.knob("KEFU_BENCH_INTAKE_WORKERS", 1)
    prepared = backend.helper(HELPER, "prep")
    secret = str(prepared["secret"])
    queue_secret = str(prepared["queue_secret"])
    queued_rows: list[Row] = []
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
            for kind, per, size in (("single", 1, queue_n), ("batch", batch, batch_n)):
                queued_rows.append(
                    _queued_run(
                        backend,
                        server.intake_base,
                        queue_secret,
                        kind,
                        size,
                        concurrency,
                        buyers,
                        per,
                        workers,
                        server.proc.pid if server.proc else None,
                    )
                )
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
    rows += queued_rows
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
    # Queued: every accepted message stored (processed), the queue empty at the end.
    for row in queued_rows:
        if row["stored"] != row["accepted"] or row["queue_left"]:
            raise harness.BenchFailed(rows, f"{row['name']}: lost or left in the queue")
    harness.fail_on(rows, "errors")
    return rows


if __name__ == "__main__":
    sys.exit(
        harness.helper_main(
            {
                "prep": _helper_prep,
                "count": _helper_count,
                "raw": _helper_raw,
                "drain": _helper_drain,
                "online": _helper_online,
            },
            sys.argv[1:],
        )
    )
