"""Rollup refresh and rebuild: a buyer's facts, the daily rollups and the shop's cursor lease.

Rollups are derived data. A buyer is the unit of recomputation: everything R-39 defines
(pairs, replies within 48 h, guided orders, response and resolution times) depends only on
one buyer's rows, so `refresh_shop` recomputes the buyers touched by new rows with the same
function a full `rebuild_shop` runs over every buyer, writes the facts that changed, and
re-sums the rollups of the days those facts belong to.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.conversations.models import (
    CAMPAIGN_AUTOMATION,
    Buyer,
    ConversationEvent,
    Direction,
    Message,
)
from kefu.metrics import compute
from kefu.metrics.compute import COUNTER_FIELDS, Counters, ShopRules
from kefu.metrics.config import rules_fingerprint, shop_rules
from kefu.metrics.models import DailyRollup, MetricsCursor, MetricsFact
from kefu.metrics.selectors import freshness
from kefu.orders.models import Order, OrderEvent, Refund

log = logging.getLogger("kefu.metrics")

# Rows younger than this are read again on the next run: a transaction that committed late
# (its id or timestamp below the cursor) is still seen. Recomputing a buyer is idempotent.
OVERLAP = dt.timedelta(seconds=30)
LEASE = dt.timedelta(minutes=10)
BUYER_BATCH = 500
SCAN_CHUNK = 20_000
DISPUTE_FLAG = "dispute_open"
RESPONSE_EVENT_KINDS = ("resolved", "reopened")

FactKey = tuple[int, dt.date, int, str]  # buyer, day, agent, group


# --- reading one batch of buyers ---------------------------------------------------------------


@dataclass
class BuyerRows:
    messages: list[compute.Msg] = field(default_factory=list)
    orders: list[compute.Ord] = field(default_factory=list)
    events: list[compute.ConvEvent] = field(default_factory=list)


def load_buyer_rows(*, shop: Shop, buyer_ids: Sequence[int]) -> dict[int, BuyerRows]:
    rows: dict[int, BuyerRows] = defaultdict(BuyerRows)
    # An outreach campaign's message is the shop writing first, not a reply: it must not make
    # a buyer's earlier message "answered automatically" (automation share) nor count for the
    # service figures at all (docs/guide/outreach.md, results kept apart).
    msgs = (
        Message.objects.filter(shop=shop, buyer_id__in=buyer_ids)
        .exclude(direction=Direction.AUTO, payload__automation=CAMPAIGN_AUTOMATION)
        .values_list(
            "buyer_id",
            "id",
            "conversation_id",
            "conversation__group",
            "direction",
            "sent_at",
            "author_id",
        )
    )
    for buyer_id, mid, conv_id, group, direction, sent_at, author_id in msgs:
        rows[buyer_id].messages.append(
            compute.Msg(mid, conv_id, group, direction, sent_at, author_id)
        )
    # Unpaid orders too: a placed order counts for the placed-order conversion.
    orders = list(
        Order.objects.filter(shop=shop, buyer_id__in=buyer_ids).values_list(
            "buyer_id", "id", "paid_at", "paid_amount", "currency", "flags", "placed_at"
        )
    )
    disputed = _disputed(shop=shop, order_ids=[o[1] for o in orders if o[2] is not None])
    for buyer_id, oid, paid_at, amount, currency, flags, placed_at in orders:
        is_disputed = oid in disputed or (isinstance(flags, list) and DISPUTE_FLAG in flags)
        rows[buyer_id].orders.append(
            compute.Ord(oid, paid_at, amount, currency, is_disputed, placed_at=placed_at)
        )
    evs = ConversationEvent.objects.filter(
        shop=shop, kind__in=RESPONSE_EVENT_KINDS, conversation__buyer_id__in=buyer_ids
    ).values_list(
        "conversation__buyer_id", "id", "conversation_id", "kind", "created_at", "actor_id"
    )
    for buyer_id, eid, conv_id, kind, at, actor_id in evs:
        rows[buyer_id].events.append(compute.ConvEvent(eid, conv_id, kind, at, actor_id))
    return rows


def _disputed(*, shop: Shop, order_ids: Sequence[int]) -> set[int]:
    """Orders that ever had a dispute: the flag was raised once, or a logistics-dispute refund."""
    if not order_ids:
        return set()
    out: set[int] = set()
    for i in range(0, len(order_ids), 900):
        chunk = order_ids[i : i + 900]
        out.update(
            OrderEvent.objects.filter(
                shop=shop, order_id__in=chunk, kind="flag_added", data__flag=DISPUTE_FLAG
            ).values_list("order_id", flat=True)
        )
        out.update(
            Refund.objects.filter(
                shop=shop, order_id__in=chunk, logistics_dispute=True
            ).values_list("order_id", flat=True)
        )
    return out


def compute_buyers(
    *, shop: Shop, buyer_ids: Sequence[int], rules: ShopRules
) -> dict[FactKey, Counters]:
    out: dict[FactKey, Counters] = {}
    for buyer_id, rows in load_buyer_rows(shop=shop, buyer_ids=buyer_ids).items():
        facts = compute.buyer_facts(
            messages=rows.messages, orders=rows.orders, events=rows.events, rules=rules
        )
        for (day, agent, group), counters in facts.items():
            out[(buyer_id, day, agent, group)] = counters
    return out


def _fact(shop: Shop, key: FactKey, c: Counters) -> MetricsFact:
    buyer_id, day, agent, group = key
    return MetricsFact(
        shop=shop,
        buyer_id=buyer_id,
        day=day,
        agent_id=agent,
        group=group,
        **{name: getattr(c, name) for name in COUNTER_FIELDS},
    )


def _write_facts(*, shop: Shop, buyer_ids: Sequence[int], rules: ShopRules) -> set[dt.date]:
    """Recompute the buyers, replace the facts that changed; return the days touched."""
    new = compute_buyers(shop=shop, buyer_ids=buyer_ids, rules=rules)
    old: dict[FactKey, tuple[int, tuple[Any, ...]]] = {}
    for row in MetricsFact.objects.filter(shop=shop, buyer_id__in=buyer_ids).values_list(
        "pk", "buyer_id", "day", "agent_id", "group", *COUNTER_FIELDS
    ):
        old[(row[1], row[2], row[3], row[4])] = (row[0], tuple(row[5:]))
    delete: list[int] = []
    create: list[MetricsFact] = []
    days: set[dt.date] = set()
    for key, (pk, values) in old.items():
        c = new.get(key)
        if c is None or c.as_tuple() != values:
            delete.append(pk)
            days.add(key[1])
    for key, c in new.items():
        prev = old.get(key)
        if prev is None or prev[1] != c.as_tuple():
            create.append(_fact(shop, key, c))
            days.add(key[1])
    with transaction.atomic():
        for i in range(0, len(delete), 900):
            MetricsFact.objects.filter(pk__in=delete[i : i + 900]).delete()
        MetricsFact.objects.bulk_create(create, batch_size=1000)
    return days


def _sum_rollups(*, shop: Shop, days: Iterable[dt.date] | None) -> list[DailyRollup]:
    qs = MetricsFact.objects.filter(shop=shop)
    if days is not None:
        qs = qs.filter(day__in=list(days))
    agg = qs.values("day", "agent_id", "group").annotate(
        **{f"s_{name}": Sum(name) for name in COUNTER_FIELDS}
    )
    return [
        DailyRollup(
            shop=shop,
            day=row["day"],
            agent_id=row["agent_id"],
            group=row["group"],
            **{name: row[f"s_{name}"] for name in COUNTER_FIELDS},
        )
        for row in agg
    ]


def _refresh_rollups(*, shop: Shop, days: set[dt.date]) -> None:
    ordered = sorted(days)
    for i in range(0, len(ordered), 200):
        chunk = ordered[i : i + 200]
        rows = _sum_rollups(shop=shop, days=chunk)
        with transaction.atomic():
            DailyRollup.objects.filter(shop=shop, day__in=chunk).delete()
            DailyRollup.objects.bulk_create(rows, batch_size=1000)


# --- cursor lease ------------------------------------------------------------------------------


class Busy(Exception):
    """Another run holds the shop's metrics lease."""


def _cursor(shop: Shop) -> MetricsCursor:
    cursor, _ = MetricsCursor.objects.get_or_create(shop=shop)
    return cursor


def _acquire(shop: Shop, now: dt.datetime) -> MetricsCursor:
    _cursor(shop)
    taken = (
        MetricsCursor.objects.filter(shop=shop)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE)
    )
    if not taken:
        raise Busy(f"metrics of shop {shop.slug} are being computed by another run")
    return MetricsCursor.objects.get(shop=shop)


def _release(cursor: MetricsCursor, **fields: Any) -> None:
    MetricsCursor.objects.filter(pk=cursor.pk).update(locked_until=None, **fields)


# --- rebuild -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    buyers: int
    facts: int
    days: int
    seconds: float


def _source_heads(shop: Shop, horizon: dt.datetime) -> dict[str, Any]:
    """Cursor positions that everything committed before ``horizon`` is behind."""
    return {
        "message_id": Message.objects.filter(shop=shop, created_at__lte=horizon).aggregate(
            m=Max("id")
        )["m"]
        or 0,
        "conversation_event_id": ConversationEvent.objects.filter(
            shop=shop, created_at__lte=horizon
        ).aggregate(m=Max("id"))["m"]
        or 0,
        "order_event_id": OrderEvent.objects.filter(shop=shop, created_at__lte=horizon).aggregate(
            m=Max("id")
        )["m"]
        or 0,
        # The newest change seen, not the clock: a cursor never runs ahead of the rows.
        "orders_updated_at": Order.objects.filter(shop=shop, updated_at__lte=horizon).aggregate(
            m=Max("updated_at")
        )["m"],
    }


def rebuild_shop(*, shop: Shop, now: dt.datetime | None = None) -> RebuildResult:
    """Recompute every fact and rollup of the shop from raw rows (`kefu metrics rebuild`)."""
    started = timezone.now()
    now = now or started
    cursor = _acquire(shop, now)
    try:
        heads = _source_heads(shop, now - OVERLAP)
        rules = shop_rules(shop=shop)
        MetricsFact.objects.filter(shop=shop).delete()
        buyer_ids = list(
            Buyer.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True)
        )
        facts = 0
        for i in range(0, len(buyer_ids), BUYER_BATCH):
            computed = compute_buyers(
                shop=shop, buyer_ids=buyer_ids[i : i + BUYER_BATCH], rules=rules
            )
            MetricsFact.objects.bulk_create(
                [_fact(shop, k, c) for k, c in computed.items()], batch_size=1000
            )
            facts += len(computed)
        rows = _sum_rollups(shop=shop, days=None)
        with transaction.atomic():
            DailyRollup.objects.filter(shop=shop).delete()
            DailyRollup.objects.bulk_create(rows, batch_size=1000)
    except BaseException:
        _release(cursor)
        raise
    _release(
        cursor,
        needs_rebuild=False,
        rules_fingerprint=rules_fingerprint(rules),
        last_rebuild_at=timezone.now(),
        last_run_at=timezone.now(),
        **heads,
    )
    seconds = (timezone.now() - started).total_seconds()
    log.info("metrics_rebuilt shop=%s buyers=%d facts=%d", shop.pk, len(buyer_ids), facts)
    return RebuildResult(len(buyer_ids), facts, len({r.day for r in rows}), seconds)


# --- incremental refresh -------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshResult:
    buyers: int
    days: int
    rebuilt: bool = False


def _scan_ids(
    qs_for: Callable[[int], Any], start: int, horizon: dt.datetime, buyers: set[int]
) -> int:
    """Read rows with id > start in chunks, collect their buyers; return the new cursor.

    The cursor stops before the first row younger than ``horizon``; later rows are read
    again next time."""
    position = start
    cursor = start
    settled = True
    while True:
        chunk = list(qs_for(position)[:SCAN_CHUNK])
        if not chunk:
            return cursor
        for row_id, buyer_id, created_at in chunk:
            if buyer_id is not None:
                buyers.add(buyer_id)
            if settled and created_at <= horizon:
                cursor = row_id
            else:
                settled = False
        position = chunk[-1][0]


def refresh_shop(*, shop: Shop, now: dt.datetime | None = None) -> RefreshResult:
    """Bring the shop's rollups up to date with rows stored since the last run.

    Raises `Busy` when another run holds the shop."""
    now = now or timezone.now()
    cursor = _acquire(shop, now)
    rules = shop_rules(shop=shop)
    if cursor.needs_rebuild or cursor.rules_fingerprint != rules_fingerprint(rules):
        _release(cursor)
        result = rebuild_shop(shop=shop, now=now)
        return RefreshResult(result.buyers, result.days, rebuilt=True)
    try:
        horizon = now - OVERLAP
        buyers: set[int] = set()
        message_id = _scan_ids(
            lambda after: (
                Message.objects.filter(shop=shop, id__gt=after)
                .order_by("id")
                .values_list("id", "buyer_id", "created_at")
            ),
            cursor.message_id,
            horizon,
            buyers,
        )
        conversation_event_id = _scan_ids(
            lambda after: (
                ConversationEvent.objects.filter(shop=shop, id__gt=after)
                .order_by("id")
                .values_list("id", "conversation__buyer_id", "created_at")
            ),
            cursor.conversation_event_id,
            horizon,
            buyers,
        )
        order_event_id = _scan_ids(
            lambda after: (
                OrderEvent.objects.filter(shop=shop, id__gt=after)
                .order_by("id")
                .values_list("id", "order__buyer_id", "created_at")
            ),
            cursor.order_event_id,
            horizon,
            buyers,
        )
        # Orders changed without an event (a corrected amount or payment time).
        orders = Order.objects.filter(shop=shop)
        if cursor.orders_updated_at is not None:
            orders = orders.filter(updated_at__gt=cursor.orders_updated_at)
        latest = cursor.orders_updated_at
        for buyer_id, updated_at in orders.values_list("buyer_id", "updated_at").iterator(
            chunk_size=5000
        ):
            buyers.add(buyer_id)
            if latest is None or updated_at > latest:
                latest = updated_at
        orders_updated_at = min(latest, horizon) if latest is not None else cursor.orders_updated_at
        days: set[dt.date] = set()
        ordered = sorted(buyers)
        for i in range(0, len(ordered), BUYER_BATCH):
            days |= _write_facts(shop=shop, buyer_ids=ordered[i : i + BUYER_BATCH], rules=rules)
        _refresh_rollups(shop=shop, days=days)
    except BaseException:
        _release(cursor)
        raise
    _release(
        cursor,
        message_id=message_id,
        conversation_event_id=conversation_event_id,
        order_event_id=order_event_id,
        orders_updated_at=orders_updated_at,
        last_run_at=timezone.now(),
    )
    return RefreshResult(len(buyers), len(days))


def refresh_all_shops() -> int:
    """The beat job: refresh every shop; a shop whose previous run still holds it is skipped."""
    done = 0
    for shop in Shop.objects.order_by("pk"):
        try:
            refresh_shop(shop=shop)
            done += 1
        except Busy:
            log.info("metrics_refresh_skipped shop=%s reason=busy", shop.pk)
    return done


# --- catching up without a worker ----------------------------------------------------------------

# How long an import waits for a refresh that holds the shop (a beat run) before leaving the
# rows to that run: the cursor never passes rows younger than OVERLAP, so the run sees them.
IMPORT_WAIT_SECONDS = 60.0
# A page or `kefu metrics` brings the figures up to date itself when the data is newer and no
# run has happened for this long (no worker, or beat stopped): a running beat refreshes every
# 20 s, so with a worker the page never computes.
CATCH_UP_AFTER = dt.timedelta(seconds=60)


def refresh_waiting(*, shop: Shop, wait_seconds: float) -> RefreshResult | None:
    """`refresh_shop`, waiting up to ``wait_seconds`` while another run holds the shop;
    None when it still does (that run, or the next, picks the rows up)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return refresh_shop(shop=shop)
        except Busy:
            if time.monotonic() >= deadline:
                log.info("metrics_refresh_left_to_running_job shop=%s", shop.pk)
                return None
            time.sleep(0.5)


def refresh_after_import(*, shop: Shop) -> str:
    """Called when an import finished (the metrics app's `after_import` hook): the affected
    days' figures are current when the import returns, with or without a worker."""
    result = refresh_waiting(shop=shop, wait_seconds=IMPORT_WAIT_SECONDS)
    if result is None:
        return "figures: another refresh is running; they are current when it ends"
    how = "rebuilt" if result.rebuilt else "updated"
    return f"figures {how}: {result.buyers} buyers, {result.days} days"


def catch_up(*, shop: Shop) -> bool:
    """Refresh now when the figures are older than the data and no run has happened lately;
    True when it did. A run already in progress is left to finish."""
    fresh = freshness(shop)
    if not fresh.behind:
        return False
    last = fresh.figures_as_of
    if last is not None and timezone.now() - last < CATCH_UP_AFTER:
        return False
    return refresh_waiting(shop=shop, wait_seconds=0) is not None
