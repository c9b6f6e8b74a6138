"""The short intake soak (issue 15 item 4): buyer messages through `kefu run`'s WSGI intake
server while a web process and the intake worker are killed with SIGKILL; every message
answered 2xx is stored once, auto-replied and delivered, and the queue and outbox empty.

The same run as `make bench BENCH=soak` (bench/soak.py), smaller: on the SQLite pass the
embedded defaults; on the PostgreSQL pass a PostgreSQL cluster and a redis-server of the
test's own (the machine's shared ones are never restarted or flushed).

The issue's size, 10,000 messages (KEFU_SOAK_TEST_MESSAGES for another), at 500 a second
from two sender processes, a quarter of them through the batch webhook: 64 s on the
PostgreSQL pass and 65 s on SQLite on the 2-core machine at a load of 5-7 (docs/benchmarks.md,
"Intake soak"; decisions §90), about a minute of each suite's budget.
"""

from __future__ import annotations

import os

import pytest

from bench import soak


@pytest.mark.slow
def test_messages_survive_killed_web_and_worker_processes():
    on_postgres = bool(os.environ.get("KEFU_DATABASE_URL"))
    messages = int(os.environ.get("KEFU_SOAK_TEST_MESSAGES", "10000"))
    with soak.folder("kefu-soak-test-") as where:
        config = soak.SoakConfig(
            backend="postgres" if on_postgres else "sqlite",
            messages=messages,
            rate=500,
            folder=where,
            concurrency=16,
            senders=2,
            batch_share=0.25,
            buyers=1000,
            web_processes=2 if on_postgres else 1,
            workers=2 if on_postgres else 1,
            # One kill of each, a third and two thirds of the way through.
            faults=("kill-web", "kill-worker"),
            fault_at=(0.33, 0.66),
            drain_seconds=300,
        )
        result = soak.run(config)

    assert soak.failures(result) == [], result
    assert [f["fault"] for f in result["faults"]] == ["kill-web", "kill-worker"]
    # Nothing lost, nothing doubled: each message stored once, each reply delivered.
    assert result["processed"] == result["acknowledged"] == messages
    assert result["outbox_delivered"] == result["outbox_rows"] == result["auto_replied"] > 0
    # Both webhooks were used.
    assert result["batch_requests"] > 0
    # The web kill was felt: it struck the intake process holding the most of the senders'
    # keep-alive connections (with two processes one may hold them all, and killing the other
    # cut nothing: a run had 0 resent), so requests on those connections got no answer and
    # their messages were sent again, and each was stored once all the same (above).
    kill_web = result["faults"][0]
    assert kill_web["killed_connections"] > 0, kill_web
    assert result["connection_errors"] > 0, result["statuses"]
    assert result["resent"] > 0


def test_phases_read_each_faults_cost_from_the_timeline():
    """The soak's `phases` (decisions §112): the rate before the faults, in the 10 s after
    each, the lag behind the senders' pace and when it was caught up, and the refused and
    unanswered requests in those 10 s, from the timeline the senders' counters gave."""
    # 1,500/s for 10 s, 3 s with nothing acknowledged (refused), then 2,000/s to catch up.
    points = []
    for k in range(0, 251):
        t = k / 10
        if t <= 10:
            acked = int(1500 * t)
        elif t <= 13:
            acked = 15_000
        else:
            acked = 15_000 + int(2000 * (t - 13))
        refused = 0 if t <= 10 else min(300, int(100 * (t - 10)))
        points.append((t, acked, refused, 5 if t > 10 else 0))
    out = soak.phases(points, [{"fault": "restart-redis", "at_seconds": 10.0}], 1500)
    assert out["before_faults_per_s"] == 1500.0
    fault = out["restart-redis"]
    assert fault["lag_at_fault"] == 0
    assert fault["worst_lag"] == 4500  # 3 s at 1,500/s
    assert fault["per_s_next_10s"] == 1400.0  # 14,000 in the 10 s after
    assert fault["non_2xx_next_10s"] == 300
    assert fault["unanswered_next_10s"] == 5
    assert fault["caught_up_seconds"] == 12.0  # 2,000/s closes 4,500 at 500/s: 9 s after 13 s
    assert soak.phases([], [], 1500) == {}
