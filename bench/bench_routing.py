"""Routing cost against open conversations (issue 15 item 5): one routing decision must cost
about the same with 500 and with 100,000 open conversations in the shop.

For each size the helper creates a shop with 20 pre-sale agents at their inbox, N open
conversations spread over them (bulk rows: a bench needs the volume, not the path that made
it), sets the agents' counters with the same recount the minute sweep runs, then times
`choose_agent` (p50/p99 over 400 decisions) and counts its SQL statements.

Scale: KEFU_BENCH_ROUTING_MAX (default 100000; --quick 5000).
"""

from __future__ import annotations

import sys
import time

from bench import harness
from bench.harness import Backend, Row

BACKENDS = ("sqlite", "postgres")
AGENTS = 20
DECISIONS = 400


def run_on(backend: Backend) -> list[Row]:
    top = harness.knob("KEFU_BENCH_ROUTING_MAX", 100_000, quick=5_000)
    sizes = sorted({500, top // 10, top})
    rows: list[Row] = backend.helper(
        "bench.bench_routing", "measure", *map(str, sizes), timeout=3600
    )["rows"]
    flat = rows[-1]["decision_p50_ms"] <= 3 * max(rows[0]["decision_p50_ms"], 0.5)
    rows.append({"name": "routing cost flat from smallest to largest", "not_flat": not flat})
    harness.fail_on(rows, "not_flat")
    return rows


def _helper_measure(*sizes: str) -> Row:
    return {"rows": _measure([int(s) for s in sizes])}


def _measure(sizes: list[int]) -> list[Row]:
    from django.db import connection, transaction
    from django.db.models import Count, Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from kefu.accounts.models import User
    from kefu.accounts.services import create_agent
    from kefu.conversations.load import recount_loads
    from kefu.conversations.models import AgentPresence, Buyer, Conversation
    from kefu.conversations.routing import choose_agent

    shop = harness.bench_shop("routing", "Routing bench").shop
    agents = [
        create_agent(
            actor=None, shop=shop, login=f"agent{i}", groups=["pre_sale"], password="x" * 12
        )[0]
        for i in range(AGENTS)
    ]
    now = timezone.now()
    for agent in agents:
        AgentPresence.objects.create(
            shop=shop, user=agent, is_online=True, socket_count=1, last_seen_at=now
        )
    rows: list[Row] = []
    made = last_buyer = 0
    for size in sizes:
        with transaction.atomic():
            Buyer.objects.bulk_create(
                [
                    Buyer(shop=shop, external_id=f"b{i}", first_seen_at=now)
                    for i in range(made, size)
                ],
                batch_size=5000,
            )
            buyers = dict(
                Buyer.objects.filter(shop=shop, pk__gt=last_buyer).values_list("external_id", "pk")
            )
            Conversation.objects.bulk_create(
                [
                    Conversation(
                        shop=shop,
                        buyer_id=buyers[f"b{i}"],
                        group="pre_sale",
                        status="open",
                        assignee=agents[i % AGENTS],
                        last_message_at=now,
                        opened_at=now,
                    )
                    for i in range(made, size)
                ],
                batch_size=5000,
            )
        made = size
        last_buyer = max(buyers.values())
        recount_loads(shop_id=shop.pk)
        AgentPresence.objects.filter(shop=shop).update(last_seen_at=timezone.now())
        timings: list[float] = []
        for _ in range(DECISIONS):
            started = time.perf_counter()
            choose_agent(shop=shop, group="pre_sale", product=None)
            timings.append((time.perf_counter() - started) * 1000)
        # What each decision cost before the counter: a count over the open conversations.
        counted: list[float] = []
        for _ in range(DECISIONS // 10):
            started = time.perf_counter()
            list(
                User.objects.filter(shop=shop, in_pre_sale=True)
                .annotate(
                    load=Count(
                        "assigned_conversations",
                        filter=Q(assigned_conversations__status__in=("open", "pending")),
                    )
                )
                .order_by("load", "pk")
            )
            counted.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            choose_agent(shop=shop, group="pre_sale", product=None)
        rows.append(
            {
                "name": f"routing decision, {size} open conversations [{connection.vendor}]",
                "open_conversations": size,
                "agents": AGENTS,
                "statements": len(queries),
                **harness.summary(timings, "decision_", digits=3),
                **harness.summary(counted, "counting_before_", digits=3),
            }
        )
    return rows


if __name__ == "__main__":
    sys.exit(harness.helper_main({"measure": _helper_measure}, sys.argv[1:]))
