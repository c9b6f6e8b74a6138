"""The intake worker alone: queued buyer messages processed per second, per worker (issue 15).

`python -m bench intake_worker` runs, on SQLite and on PostgreSQL + Redis:

1. The shops of `bench_intake` (agents online, starter welcome and keyword replies on).
2. raw_insert: the raw Message insert rate of the same run (bulk and one per transaction),
   to show how loaded the shared machine was.
3. For each pipeline — `rows` (each message through the per-message path in a savepoint,
   the worker before decisions §47) and `set` (the set-based batch) — and 1 and 2 workers:
   the queue is filled with Q messages of B buyers (mixed entry points and texts, straight
   through `enqueue_messages`, as the batch webhook does), then W worker subprocesses run
   the worker's own loop (`kefu.desk.intake_queue.drain`) for S seconds, started together.
   Counted: messages stored, routed and auto-replied in that window, per second.

Knobs: KEFU_BENCH_WORKER_SECONDS (60), KEFU_BENCH_BUYERS (500),
KEFU_BENCH_WORKER_MESSAGES (queue size for `set`, 60000; `rows` gets a tenth),
KEFU_BENCH_PIPELINES (`rows,set`).
"""

from __future__ import annotations

import cProfile
import json
import os
import random
import subprocess
import sys
import time

from bench import harness
from bench.bench_intake import QUEUE_SLUG, _helper_online, _helper_prep, _helper_raw
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres")
HELPER = "bench.bench_intake_worker"


def _helper_fill(prefix: str, size: str, buyers: str) -> Row:
    """Q messages into the queue, as the batch webhook inserts them."""
    from kefu.accounts.models import Shop
    from kefu.conversations.buyers import BuyerIn
    from kefu.conversations.intake import BuyerMessageIn, checked_message
    from kefu.conversations.intake_queue import enqueue_messages
    from kefu.conversations.models import IntakeMessage

    IntakeMessage.objects.all().delete()  # what a run before left
    shop = Shop.objects.get(slug=QUEUE_SLUG)
    rng = random.Random(11)
    n = int(size)
    started = time.perf_counter()
    for start in range(0, n, 500):
        enqueue_messages(
            shop=shop,
            messages=[
                checked_message(
                    BuyerMessageIn(
                        buyer=BuyerIn(
                            external_id=f"wbuyer{rng.randrange(int(buyers))}",
                            name="Bench Buyer",
                            language="en",
                        ),
                        text=rng.choice(harness.TEXTS) + f" #{i}",
                        entry_point=rng.choice(harness.ENTRY_POINTS),
                        external_id=f"{prefix}{i}",
                    )
                )
                for i in range(start, min(n, start + 500))
            ],
        )
    return {"queued": IntakeMessage.objects.count(), "seconds": time.perf_counter() - started}


def _helper_work(pipeline: str, start_at: str, seconds: str) -> Row:
    """One intake worker: from `start_at` (wall clock) for `seconds`, or until the queue is
    empty; what it processed."""
    from kefu.desk.intake_queue import drain

    time.sleep(max(0.0, float(start_at) - time.time()))
    began = time.time()
    deadline = time.monotonic() + float(seconds)
    processed, last_at = 0, began
    pinged = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - pinged > 20:
            _helper_online()  # the pings the agents' inbox sockets would send
            pinged = time.monotonic()
        n = drain(
            seconds=min(5.0, max(0.1, deadline - time.monotonic())), set_based=pipeline == "set"
        )
        if n:
            processed += n
            last_at = time.time()
        else:
            break
    return {"processed": processed, "began": began, "last_at": last_at}


def _helper_profile(pipeline: str, batches: str) -> Row:
    """A few drains of the worker in this process: SQL statements (an executemany counts its
    rows; COPY is not counted: it
    bypasses Django's cursor wrapper) and the process's CPU time per message — CPU time,
    unlike a rate, hardly moves with the load of a shared machine."""
    from django.db import connection

    from kefu.desk.intake_queue import drain

    _helper_online()
    statements = 0
    # KEFU_BENCH_SQL_TIMES=1: wall time per statement shape (its first words), summed.
    timed = bool(os.environ.get("KEFU_BENCH_SQL_TIMES"))
    shapes: dict[str, list[float]] = {}

    def counting(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements
        statements += len(params) if many and params else 1
        if not timed:
            return execute(sql, params, many, context)
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = shapes.setdefault(" ".join(sql.split())[:90], [0, 0.0])
            shape[0] += 1
            shape[1] += time.perf_counter() - began

    drain(seconds=0.3, set_based=pipeline == "set")  # language models and caches load
    processed = 0
    cpu, wall = time.process_time(), time.perf_counter()
    # KEFU_BENCH_CPROFILE=FILE: a cProfile of the measured drains, for pstats.
    profile = cProfile.Profile() if os.environ.get("KEFU_BENCH_CPROFILE") else None
    if profile is not None:
        profile.enable()
    with connection.execute_wrapper(counting):
        for _ in range(int(batches)):
            processed += drain(seconds=2.0, set_based=pipeline == "set")
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["KEFU_BENCH_CPROFILE"])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sql_times = {
        shape: {"count": n, "ms": round(took * 1000, 1)}
        for shape, (n, took) in sorted(shapes.items(), key=lambda kv: -kv[1][1])
    }
    return {
        **({"sql_ms_total": round(sum(t for _, t in shapes.values()) * 1000, 1)} if timed else {}),
        **({"sql_times": sql_times} if timed else {}),
        "processed": processed,
        "statements_per_msg": round(statements / processed, 2) if processed else None,
        "cpu_ms_per_msg": round(cpu * 1000 / processed, 3) if processed else None,
        "wall_ms_per_msg": round(wall * 1000 / processed, 3) if processed else None,
    }


def _helper_count(prefix: str) -> Row:
    from kefu.conversations.models import IntakeMessage, Message

    return {
        "stored": Message.objects.filter(
            shop__slug=QUEUE_SLUG, external_id__startswith=prefix
        ).count(),
        "auto_replies": Message.objects.filter(shop__slug=QUEUE_SLUG, direction="auto").count(),
        "failed": IntakeMessage.objects.filter(attempts__gt=0).count(),
    }


def _run(
    backend: Backend, pipeline: str, workers: int, size: int, buyers: int, seconds: int
) -> Row:
    label = backend.label
    prefix = f"w{pipeline}{workers}-{label}-"
    filled = backend.helper(HELPER, "fill", prefix, str(size), str(buyers))
    backend.helper(HELPER, "online")
    start_at = time.time() + 6  # Django and the language models load first
    procs = [
        subprocess.Popen(
            [harness.PYTHON, "-m", HELPER, "work", pipeline, str(start_at), str(seconds)],
            cwd=harness.ROOT,
            env=backend.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    load = harness.loadavg()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=seconds + 300)
        lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"intake worker failed ({proc.returncode}):\n{err[-3000:]}")
        results.append(json.loads(lines[-1][len("RESULT ") :]))
    took = max(r["last_at"] for r in results) - min(r["began"] for r in results)
    counts = backend.helper(HELPER, "count", prefix)
    rate = counts["stored"] / took if took else 0.0
    print(
        f"[{label}] {pipeline} x{workers}: {counts['stored']} in {took:.1f}s = {rate:.0f}/s",
        file=sys.stderr,
    )
    return {
        "name": f"intake_worker {pipeline} x{workers} {label}",
        "pipeline": pipeline,
        "workers": workers,
        "queued": filled["queued"],
        "buyers": buyers,
        "seconds": round(took, 2),
        "processed": counts["stored"],
        "processed_msgs_per_s": round(rate, 1),
        "processed_msgs_per_s_per_worker": round(rate / workers, 1),
        "auto_replies_total": counts["auto_replies"],
        "failed": counts["failed"],
        "loadavg_1m": load,
    }


def run_on(backend: Backend) -> list[Row]:
    seconds = harness.knob("KEFU_BENCH_WORKER_SECONDS", 60, quick=8)
    buyers = harness.knob("KEFU_BENCH_BUYERS", 500, quick=50)
    size = harness.knob("KEFU_BENCH_WORKER_MESSAGES", 60000, quick=3000)
    backend.helper("bench.bench_intake", "prep")
    raw_n = 2000
    raw = backend.helper("bench.bench_intake", "raw", str(raw_n))
    rows: list[Row] = [
        {
            "name": f"raw_insert {backend.label} bulk",
            "rows": raw_n,
            "rows_per_s": round(raw_n / raw["bulk_s"]),
            "loadavg_1m": harness.loadavg(),
        },
        {
            "name": f"raw_insert {backend.label} one-per-transaction",
            "rows": raw_n,
            "rows_per_s": round(raw_n / raw["one_s"]),
        },
    ]
    pipelines = os.environ.get("KEFU_BENCH_PIPELINES", "rows,set").split(",")
    for pipeline in pipelines:
        for workers in (1, 2):
            n = size if pipeline == "set" else max(size // 10, 500)
            rows.append(_run(backend, pipeline, workers, n, buyers, seconds))
    if "set" in pipelines:
        prefix = f"wprofile-{backend.label}-"
        backend.helper(HELPER, "fill", prefix, "5000", str(buyers))
        profile = backend.helper(HELPER, "profile", "set", "6")
        rows.append(
            {
                "name": f"intake_worker set profile {backend.label}",
                **profile,
                "loadavg_1m": harness.loadavg(),
            }
        )
    if any(row.get("failed") for row in rows):
        raise harness.BenchFailed(rows, "messages failed in the worker")
    return rows


if __name__ == "__main__":
    sys.exit(
        harness.helper_main(
            {
                "prep": _helper_prep,
                "raw": _helper_raw,
                "fill": _helper_fill,
                "work": _helper_work,
                "count": _helper_count,
                "profile": _helper_profile,
                "online": _helper_online,
            },
            sys.argv[1:],
        )
    )
