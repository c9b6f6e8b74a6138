"""The intake soak (issue 15 item 4): `make bench BENCH=soak`.

N messages (KEFU_BENCH_SOAK_MESSAGES, 100,000; 10,000 with --quick) at a target rate
(KEFU_BENCH_SOAK_RATE, 1,500/s on PostgreSQL, 500/s on SQLite) from two resending sender
processes (KEFU_BENCH_SENDERS; KEFU_BENCH_CONCURRENCY connections in all, 64 / 32), a quarter
of the messages through the batch webhook 50 a request (KEFU_BENCH_SOAK_BATCH_PERCENT), to
`kefu run` with two WSGI intake processes and two Celery intake worker processes on a
PostgreSQL cluster and a redis-server of the bench's own (bench/soak.py: the machine's shared
services are never restarted). Mid-run: kill -9 a web process and the intake worker, restart
Redis, restart PostgreSQL. Written to bench/results/soak-<backend>.json; fails on any message
lost, doubled or left in the queue or the outbox.

On "sqlite" (the embedded defaults: one intake process of 32 threads and the polling
`kefu intake-worker`, decisions §62): the same kills; nothing to restart.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from bench import harness, soak
from bench.harness import Row

BACKENDS = ("postgres", "sqlite")
# The bench brings its own PostgreSQL and Redis (bench/__main__.py gives it the label only).
OWN_SERVICES = True
AGENTS = 6


# --- helper commands (a subprocess with Django set up on the soak's database) ------------------


def _helper_prep(callback_url: str) -> Row:
    from django.core.management import call_command
    from django.utils import timezone

    from kefu.accounts.models import Shop
    from kefu.accounts.services import create_agent
    from kefu.automation.config import settings_for_update
    from kefu.automation.starter import install_starter_set
    from kefu.conversations.models import AgentPresence

    # `kefu migrate`'s work, in this process: one Django start-up fewer before the run.
    call_command("migrate", interactive=False, verbosity=0)
    created = harness.bench_shop(soak.SLUG, "Soak Shop")
    shop = created.shop
    now = timezone.now()
    for i in range(AGENTS):
        agent, _ = create_agent(
            actor=None,
            shop=shop,
            login=f"soak-agent{i}",
            groups=["pre_sale", "after_sale"],
            password=harness.BENCH_PASSWORD,
        )
        AgentPresence.objects.create(
            shop=shop, user=agent, is_online=True, last_seen_at=now, socket_count=1
        )
    # Every effect a message has: the starter welcome and keyword replies, delivered to the
    # marketplace's callback (the soak's receiver).
    install_starter_set(shop=shop)
    conf = settings_for_update(shop)
    conf.keyword_replies_enabled = True
    conf.save()
    # The soak measures loss, not the owner's limits: a resent burst must not be refused.
    Shop.objects.filter(pk=shop.pk).update(
        callback_url=callback_url,
        callback_ping_at=now,
        callback_ping_url=callback_url,
        intake_per_minute=100_000_000,
        intake_per_buyer_per_minute=100_000_000,
    )
    return {"secret": shop.webhook_secret}


def _helper_count(prefix: str) -> Row:
    """The counts, all read from one snapshot. Read one after another while the workers run,
    a message stored between the count of the stored ones and the count of the queue was in
    neither, and a drain cut short by its time limit showed it as lost (40 of 100,000 in
    the run of 2026-12-02 whose queue had not emptied; all 100,000 were there, stored or
    queued, in one snapshot of the same database)."""
    from django.db import connection, transaction

    with transaction.atomic():
        if connection.vendor == "postgresql":
            connection.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # SQLite (WAL): a read transaction sees one snapshot from its first read on.
        return _counts(prefix)


def _counts(prefix: str) -> Row:
    from django.db.models import Count

    from kefu.conversations.models import (
        ConversationEvent,
        IntakeMessage,
        Message,
        Outbox,
    )

    shop = {"shop__slug": soak.SLUG}
    buyer = Message.objects.filter(**shop, direction="buyer", external_id__startswith=prefix)
    outbox = Outbox.objects.filter(**shop)
    taken_twice = (
        ConversationEvent.objects.filter(**shop, kind="message_received")
        .values("message_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    outbox_twice = outbox.values("message_id").annotate(n=Count("id")).filter(n__gt=1).count()
    return {
        "processed": buyer.count(),
        "distinct_processed": buyer.values("external_id").distinct().count(),
        "taken_in_twice": taken_twice,
        "auto_replies": Message.objects.filter(**shop, direction="auto").count(),
        "queue_left": IntakeMessage.objects.filter(**shop).count(),
        "outbox_rows": outbox.count(),
        "outbox_twice": outbox_twice,
        "outbox_pending": outbox.filter(status="pending").count(),
        "outbox_delivered": outbox.filter(status="delivered").count(),
        "outbox_not_delivered": outbox.filter(status="not_delivered").count(),
        "outbox_message_ids": list(
            outbox.filter(status="delivered").values_list("message_id", flat=True)
        ),
    }


# --- the bench -----------------------------------------------------------------------------------


def run_on(label: str) -> list[Row]:
    postgres = label == "postgres"
    config = soak.SoakConfig(
        backend=label,
        messages=harness.knob("KEFU_BENCH_SOAK_MESSAGES", 100_000, quick=10_000),
        rate=harness.knob("KEFU_BENCH_SOAK_RATE", 1_500 if postgres else 500),
        concurrency=harness.knob("KEFU_BENCH_CONCURRENCY", 64 if postgres else 32),
        senders=harness.knob("KEFU_BENCH_SENDERS", 2),
        # A quarter of the messages through the batch webhook (50 a request), as a connector
        # would send them; the rest one per request.
        batch_share=harness.knob("KEFU_BENCH_SOAK_BATCH_PERCENT", 25) / 100,
        buyers=harness.knob("KEFU_BENCH_BUYERS", 5_000, quick=1_000),
        web_processes=2 if postgres else 1,
        workers=2 if postgres else 1,
        drain_seconds=harness.knob("KEFU_BENCH_SOAK_DRAIN_SECONDS", 600),
        folder=harness.ROOT,  # replaced below
    )
    # The four faults; KEFU_BENCH_SOAK_FAULTS=none (or a comma-separated subset, at
    # their usual moments) measures the rate they cost on the same hour. The result names
    # the faults it ran, and a run without all four is not the soak.
    asked = os.environ.get("KEFU_BENCH_SOAK_FAULTS")
    if asked is not None:
        names = tuple(n for n in asked.split(",") if n and n != "none")
        unknown = set(names) - set(soak.FAULTS)
        if unknown:
            raise SystemExit(f"KEFU_BENCH_SOAK_FAULTS: unknown {sorted(unknown)}")
        moments = dict(zip(soak.FAULTS, config.fault_at, strict=True))
        config.faults = names
        config.fault_at = tuple(moments[n] for n in names)
    load_before = harness.loadavg()
    with soak.folder(f"kefu-soak-{label}-") as where:
        config.folder = where
        result = soak.run(config)
    name = f"soak {label}"
    if config.faults != soak.FAULTS:
        name += f" faults={','.join(config.faults) or 'none'}"
    row: dict[str, Any] = {"name": name, **result, "loadavg_1m": load_before}
    wrong = soak.failures(result)
    if wrong:
        raise harness.BenchFailed([row], "; ".join(wrong))
    return [row]


HELPER_COMMANDS = {"prep": _helper_prep, "count": _helper_count}


def _serve() -> int:
    """The soak's helper process (bench.soak.Helper): Django set up once, then one command a
    line on stdin (a JSON list: name and arguments), one RESULT or ERROR line back each.

    Every command starts on fresh database connections: the soak restarts PostgreSQL under
    this process, and a connection from before the restart fails on first use."""
    import json

    harness.setup_django()
    from django.db import connections

    print("READY", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        connections.close_all()
        name, *args = json.loads(line)
        try:
            out = HELPER_COMMANDS[name](*args)
        except Exception as exc:  # reported to the soak, which decides whether to try again
            print("ERROR " + json.dumps(f"{type(exc).__name__}: {exc}"), flush=True)
        else:
            print("RESULT " + json.dumps(out, ensure_ascii=False), flush=True)
    connections.close_all()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        sys.exit(_serve())
    sys.exit(harness.helper_main(HELPER_COMMANDS, sys.argv[1:]))
