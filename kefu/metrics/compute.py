"""Every R-39 figure computed from plain rows of one buyer: pure, no database.

The rollups, the rebuild and the tests all call `buyer_facts`; the incremental task and a
full rebuild therefore agree by construction, and the definitions are tested table-driven.

Conventions (see docs/guide/metrics.md):
- days are the shop's local calendar days;
- "within 48 h" / "within 24 h" include the boundary (a reply exactly 48 h later counts);
- rows are ordered by (time, id); "after" means later in that order;
- a shop reply is a message with direction "agent" (a person); "auto" and "system" never are
  — except in the "with_auto" figures, which count automatic replies the way the seller
  centre does (R-49), so a seller can reconcile the two.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

H24 = dt.timedelta(hours=24)
H48 = dt.timedelta(hours=48)
CENT = Decimal("0.01")
NO_AGENT = 0  # the bucket of figures no person can be credited with
NO_GROUP = ""  # orders not guided by any consultation

BUYER = "buyer"
AGENT = "agent"
AUTO = "auto"


@dataclass(frozen=True)
class Msg:
    id: int
    conversation_id: int
    group: str
    direction: str  # buyer | agent | auto | system
    sent_at: dt.datetime
    author_id: int | None = None


@dataclass(frozen=True)
class Ord:
    id: int
    paid_at: dt.datetime | None
    amount: Decimal
    currency: str
    disputed: bool = False
    # When the buyer placed it (unpaid orders too): the seller centre's 引导下单人数.
    placed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConvEvent:
    """A resolution or a reopening of a conversation (kinds "resolved", "reopened")."""

    id: int
    conversation_id: int
    kind: str
    at: dt.datetime
    actor_id: int | None = None


@dataclass(frozen=True)
class Interval:
    weekday: int  # 0 = Monday
    opens: dt.time
    closes: dt.time


@dataclass(frozen=True)
class ShopRules:
    """What a computation needs to know about the shop besides the rows."""

    tz: str
    reporting_currency: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)  # 1 unit of currency = rate
    schedule: tuple[Interval, ...] = ()  # empty: every hour is a business hour
    holidays: frozenset[dt.date] = frozenset()


@dataclass
class Counters:
    reception_count: int = 0
    replied_buyers: int = 0
    converted_buyers: int = 0
    placed_buyers: int = 0  # replied pairs whose buyer placed an order within 48 h
    messages_received: int = 0
    messages_replied: int = 0
    replied_24h: int = 0
    # Answered within 24 h by a person or an automatic reply (the seller centre's way, R-49).
    replied_24h_with_auto: int = 0
    auto_only: int = 0
    guided_orders: int = 0
    guided_gmv: Decimal = Decimal("0.00")
    unconverted_orders: int = 0  # guided orders without an exchange rate: not in the GMV
    paid_orders: int = 0
    disputed_orders: int = 0
    first_responses: int = 0
    first_response_seconds: int = 0
    first_response_business_seconds: int = 0
    responses: int = 0
    response_seconds: int = 0
    response_business_seconds: int = 0
    resolutions: int = 0
    resolution_seconds: int = 0
    resolution_business_seconds: int = 0

    def add(self, other: Counters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_tuple(self) -> tuple[int | Decimal, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def is_zero(self) -> bool:
        return not any(self.as_tuple())


COUNTER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Counters))

# (day, agent id or NO_AGENT, group or NO_GROUP)
Key = tuple[dt.date, int, str]


@dataclass(frozen=True)
class Response:
    """A person's reply that ended a wait of a conversation."""

    conversation_id: int
    group: str
    waited_from: dt.datetime
    replied_at: dt.datetime
    agent_id: int | None
    first: bool  # the first response of the conversation or of its reopening

    @property
    def seconds(self) -> int:
        return _seconds(self.replied_at - self.waited_from)


@dataclass(frozen=True)
class Resolution:
    conversation_id: int
    group: str
    opened_at: dt.datetime
    resolved_at: dt.datetime
    actor_id: int | None


def _seconds(delta: dt.timedelta) -> int:
    return int(delta.total_seconds())


def local_day(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    if moment.tzinfo is None:
        raise ValueError("metrics need aware datetimes")
    return moment.astimezone(tz).date()


def business_seconds(
    start: dt.datetime,
    end: dt.datetime,
    *,
    tz: zoneinfo.ZoneInfo,
    schedule: Sequence[Interval],
    holidays: frozenset[dt.date] = frozenset(),
) -> int:
    """Seconds of [start, end) inside the shop's business hours (local wall-clock intervals).

    Without a schedule every hour counts, so business time equals calendar time."""
    if end <= start:
        return 0
    if not schedule:
        return _seconds(end - start)
    total = dt.timedelta()
    day = local_day(start, tz)
    last = local_day(end, tz)
    while day <= last:
        if day not in holidays:
            for iv in schedule:
                if iv.weekday != day.weekday():
                    continue
                opens = dt.datetime.combine(day, iv.opens, tzinfo=tz)
                closes = dt.datetime.combine(day, iv.closes, tzinfo=tz)
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
        day += dt.timedelta(days=1)
    return _seconds(total)


def _order_key(m: Msg) -> tuple[dt.datetime, int]:
    return (m.sent_at, m.id)


def responses_and_resolutions(
    messages: Iterable[Msg], events: Iterable[ConvEvent]
) -> tuple[list[Response], list[Resolution]]:
    """Walk each conversation's timeline (messages by sent_at, events by their time).

    A wait starts at a buyer message when none is open; a person's reply ends it (an
    automatic or system message never does). The first wait a person ends after the
    conversation starts, or after a reopening, is its first response: a reopened
    conversation's first response is measured from the buyer message that reopened it (or
    the first one after an agent reopened it), never from before the resolution. A
    resolution discards an open wait and closes the session that began at the
    conversation's first message or at the last reopening.
    """
    by_conv: dict[int, list[tuple[dt.datetime, int, int, Msg | ConvEvent]]] = {}
    groups: dict[int, str] = {}
    for m in messages:
        by_conv.setdefault(m.conversation_id, []).append((m.sent_at, 0, m.id, m))
        groups.setdefault(m.conversation_id, m.group)
    for e in events:
        if e.conversation_id in by_conv:
            by_conv[e.conversation_id].append((e.at, 1, e.id, e))
    out_resp: list[Response] = []
    out_res: list[Resolution] = []
    for conv_id, items in by_conv.items():
        items.sort(key=lambda x: (x[0], x[1], x[2]))
        group = groups[conv_id]
        wait: dt.datetime | None = None
        first_pending = True
        session_start: dt.datetime | None = None
        for at, _, _, item in items:
            if isinstance(item, Msg):
                if session_start is None:
                    session_start = at
                if item.direction == BUYER:
                    if wait is None:
                        wait = at
                elif item.direction == AGENT and wait is not None:
                    out_resp.append(
                        Response(conv_id, group, wait, at, item.author_id, first=first_pending)
                    )
                    first_pending = False
                    wait = None
            elif item.kind == "resolved":
                if session_start is not None:
                    out_res.append(Resolution(conv_id, group, session_start, at, item.actor_id))
                wait = None
                session_start = None
            elif item.kind == "reopened":
                # A buyer message that reopened it may carry a timestamp just before the event.
                first_pending = True
                session_start = at
    return out_resp, out_res


def _convert(order: Ord, rules: ShopRules) -> Decimal | None:
    if order.currency.upper() == rules.reporting_currency.upper():
        return order.amount
    rate = rules.rates.get(order.currency.upper())
    if rate is None:
        return None
    return (order.amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def buyer_facts(
    *,
    messages: Sequence[Msg],
    orders: Sequence[Ord],
    events: Sequence[ConvEvent],
    rules: ShopRules,
) -> dict[Key, Counters]:
    """All figures one buyer contributes, by (local day, credited agent, group).

    Attribution (docs/guide/metrics.md): a (buyer, day) pair belongs to the group of the
    conversation of the buyer's first message that day and to the person whose reply
    answered the pair within 48 h; a buyer message to the person whose reply answered it
    within 48 h, else to the pair's person; response times to the person who replied, on the
    day of the reply; a resolution to whoever resolved, on that day; a paid order to the pair
    it was guided by, else to no one on the day it was paid.
    """
    tz = zoneinfo.ZoneInfo(rules.tz)
    out: dict[Key, Counters] = {}

    def bucket(day: dt.date, agent: int | None, group: str) -> Counters:
        key = (day, agent or NO_AGENT, group)
        c = out.get(key)
        if c is None:
            c = out[key] = Counters()
        return c

    msgs = sorted(messages, key=_order_key)
    people = [m for m in msgs if m.direction == AGENT]
    people_keys = [_order_key(m) for m in people]
    autos = [m for m in msgs if m.direction == AUTO]
    auto_keys = [_order_key(m) for m in autos]

    def answer(m: Msg) -> Msg | None:
        """The first person's reply after ``m`` (one reply answers every message before it)."""
        i = bisect_right(people_keys, _order_key(m))
        return people[i] if i < len(people) else None

    # (buyer, day) pairs: first buyer message of each local day.
    firsts: dict[dt.date, Msg] = {}
    for m in msgs:
        if m.direction == BUYER:
            firsts.setdefault(local_day(m.sent_at, tz), m)
    pair_agent: dict[dt.date, int | None] = {}
    replied_pairs: list[tuple[dt.datetime, dt.date]] = []
    for day, first in firsts.items():
        reply = answer(first)
        replied = reply is not None and reply.sent_at - first.sent_at <= H48
        pair_agent[day] = reply.author_id if replied and reply is not None else None
        c = bucket(day, pair_agent[day], first.group)
        c.reception_count += 1
        if replied:
            c.replied_buyers += 1
            replied_pairs.append((first.sent_at, day))
    replied_pairs.sort()

    for m in msgs:
        if m.direction != BUYER:
            continue
        day = local_day(m.sent_at, tz)
        reply = answer(m)
        wait = reply.sent_at - m.sent_at if reply is not None else None
        replied = wait is not None and wait <= H48
        c = bucket(day, reply.author_id if replied and reply else pair_agent[day], m.group)
        c.messages_received += 1
        i = bisect_right(auto_keys, _order_key(m))
        auto_wait = autos[i].sent_at - m.sent_at if i < len(autos) else None
        person_24h = wait is not None and wait <= H24
        if replied:
            c.messages_replied += 1
            if person_24h:
                c.replied_24h += 1
        elif auto_wait is not None and auto_wait <= H48:
            c.auto_only += 1
        if person_24h or (auto_wait is not None and auto_wait <= H24):
            c.replied_24h_with_auto += 1

    # Orders: conversion per pair, GMV once per order for the earliest qualifying pair.
    converted: set[dt.date] = set()
    placed: set[dt.date] = set()
    for order in orders:
        # An export without an order-creation time still says the order was placed by paying.
        placed_at = order.placed_at or order.paid_at
        if placed_at is not None:
            placed.update(day for at, day in replied_pairs if at <= placed_at <= at + H48)
        if order.paid_at is None:
            continue
        paid_at = order.paid_at
        guide = next(
            (day for at, day in replied_pairs if at <= paid_at <= at + H48),
            None,
        )
        for at, day in replied_pairs:
            if at <= paid_at <= at + H48:
                converted.add(day)
        if guide is not None:
            c = bucket(guide, pair_agent[guide], firsts[guide].group)
            c.guided_orders += 1
            amount = _convert(order, rules)
            if amount is None:
                c.unconverted_orders += 1
            else:
                c.guided_gmv += amount
            paid_bucket = bucket(local_day(paid_at, tz), pair_agent[guide], firsts[guide].group)
        else:
            paid_bucket = bucket(local_day(paid_at, tz), None, NO_GROUP)
        paid_bucket.paid_orders += 1
        if order.disputed:
            paid_bucket.disputed_orders += 1
    for day in converted:
        bucket(day, pair_agent[day], firsts[day].group).converted_buyers += 1
    for day in placed:
        bucket(day, pair_agent[day], firsts[day].group).placed_buyers += 1

    responses, resolutions = responses_and_resolutions(msgs, events)
    for r in responses:
        c = bucket(local_day(r.replied_at, tz), r.agent_id, r.group)
        business = business_seconds(
            r.waited_from, r.replied_at, tz=tz, schedule=rules.schedule, holidays=rules.holidays
        )
        c.responses += 1
        c.response_seconds += r.seconds
        c.response_business_seconds += business
        if r.first:
            c.first_responses += 1
            c.first_response_seconds += r.seconds
            c.first_response_business_seconds += business
    for res in resolutions:
        c = bucket(local_day(res.resolved_at, tz), res.actor_id, res.group)
        c.resolutions += 1
        c.resolution_seconds += _seconds(res.resolved_at - res.opened_at)
        c.resolution_business_seconds += business_seconds(
            res.opened_at,
            res.resolved_at,
            tz=tz,
            schedule=rules.schedule,
            holidays=rules.holidays,
        )
    return {k: v for k, v in out.items() if not v.is_zero()}


# --- figures from summed counters --------------------------------------------------------


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 1) if count else None


def figures(c: Counters) -> dict[str, int | float | str | None]:
    """The published figures (names used by the CLI, the API and the exports)."""
    return {
        "reception_count": c.reception_count,
        "replied_buyers": c.replied_buyers,
        "messages_received": c.messages_received,
        "messages_replied": c.messages_replied,
        "replied_24h": c.replied_24h,
        "reply_rate_24h": _ratio(c.replied_24h, c.messages_received),
        "reply_rate": _ratio(c.messages_replied, c.messages_received),
        "consult_conversion_rate": _ratio(c.converted_buyers, c.replied_buyers),
        "converted_buyers": c.converted_buyers,
        "placed_buyers": c.placed_buyers,
        "placed_conversion_rate": _ratio(c.placed_buyers, c.replied_buyers),
        # The seller centre's way: automatic replies count as replies.
        "replied_24h_with_auto": c.replied_24h_with_auto,
        "reply_rate_24h_with_auto": _ratio(c.replied_24h_with_auto, c.messages_received),
        "reply_rate_with_auto": _ratio(c.messages_replied + c.auto_only, c.messages_received),
        "guided_orders": c.guided_orders,
        "guided_gmv": str(c.guided_gmv.quantize(CENT)),
        "unconverted_orders": c.unconverted_orders,
        "first_response_seconds": _mean(c.first_response_seconds, c.first_responses),
        "first_response_business_seconds": _mean(
            c.first_response_business_seconds, c.first_responses
        ),
        "average_response_seconds": _mean(c.response_seconds, c.responses),
        "average_response_business_seconds": _mean(c.response_business_seconds, c.responses),
        "resolution_seconds": _mean(c.resolution_seconds, c.resolutions),
        "resolution_business_seconds": _mean(c.resolution_business_seconds, c.resolutions),
        "refund_dispute_rate": _ratio(c.disputed_orders, c.paid_orders),
        "automation_share": _ratio(c.auto_only, c.messages_received),
        "paid_orders": c.paid_orders,
        "disputed_orders": c.disputed_orders,
        "auto_only": c.auto_only,
    }


METRIC_NAMES: tuple[str, ...] = tuple(figures(Counters()))
