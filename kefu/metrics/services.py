"""Every write of the metrics domain: rollup refresh and rebuild, rates, message import, cases.

Rollups are derived data. A buyer is the unit of recomputation: everything R-39 defines
(pairs, replies within 48 h, guided orders, response and resolution times) depends only on
one buyer's rows, so `refresh_shop` recomputes the buyers touched by new rows with the same
function a full `rebuild_shop` runs over every buyer, writes the facts that changed, and
re-sums the rollups of the days those facts belong to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from kefu.accounts.models import Platform, Shop, User
from kefu.conversations.models import (
    Buyer,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Direction,
    EntryPoint,
    Message,
)
from kefu.conversations.routing import group_for_entry_point
from kefu.core.modules import optional_module
from kefu.integrations.channels import Channel
from kefu.metrics import compute
from kefu.metrics.compute import COUNTER_FIELDS, Counters, Interval, ShopRules
from kefu.metrics.models import (
    Case,
    CaseOutcome,
    DailyRollup,
    FxRate,
    ImportedConversation,
    MetricsCursor,
    MetricsFact,
    MetricsSettings,
)
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


# --- shop rules ------------------------------------------------------------------------------


def default_reporting_currency(shop: Shop) -> str:
    """USD for cross-border shops (AliExpress), the shop's own currency otherwise."""
    return "USD" if shop.platform == Platform.ALIEXPRESS else shop.currency.upper()


def metrics_settings(*, shop: Shop) -> MetricsSettings:
    obj, _ = MetricsSettings.objects.get_or_create(
        shop=shop, defaults={"reporting_currency": default_reporting_currency(shop)}
    )
    return obj


def shop_rules(*, shop: Shop) -> ShopRules:
    ms = metrics_settings(shop=shop)
    rates = {r.currency.upper(): r.rate for r in FxRate.objects.filter(shop=shop)}
    schedule: tuple[Interval, ...] = ()
    holidays: frozenset[dt.date] = frozenset()
    automation = optional_module("kefu.automation.models")
    if automation is not None:
        schedule = tuple(
            Interval(h.weekday, h.opens, h.closes)
            for h in automation.BusinessHours.objects.filter(shop=shop)
        )
        holidays = frozenset(
            automation.Holiday.objects.filter(shop=shop).values_list("day", flat=True)
        )
    return ShopRules(
        tz=shop.timezone,
        reporting_currency=ms.reporting_currency,
        rates=rates,
        schedule=schedule,
        holidays=holidays,
    )


def rules_fingerprint(rules: ShopRules) -> str:
    """Changes when a figure's inputs other than rows change (rates, hours, time zone)."""
    doc = {
        "tz": rules.tz,
        "cur": rules.reporting_currency,
        "rates": sorted((k, str(v)) for k, v in rules.rates.items()),
        "hours": sorted((i.weekday, str(i.opens), str(i.closes)) for i in rules.schedule),
        "holidays": sorted(str(d) for d in rules.holidays),
    }
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:32]


# --- reading one batch of buyers ---------------------------------------------------------------


@dataclass
class BuyerRows:
    messages: list[compute.Msg] = field(default_factory=list)
    orders: list[compute.Ord] = field(default_factory=list)
    events: list[compute.ConvEvent] = field(default_factory=list)


def load_buyer_rows(*, shop: Shop, buyer_ids: Sequence[int]) -> dict[int, BuyerRows]:
    rows: dict[int, BuyerRows] = defaultdict(BuyerRows)
    msgs = Message.objects.filter(shop=shop, buyer_id__in=buyer_ids).values_list(
        "buyer_id",
        "id",
        "conversation_id",
        "conversation__group",
        "direction",
        "sent_at",
        "author_id",
    )
    for buyer_id, mid, conv_id, group, direction, sent_at, author_id in msgs:
        rows[buyer_id].messages.append(
            compute.Msg(mid, conv_id, group, direction, sent_at, author_id)
        )
    paid = list(
        Order.objects.filter(shop=shop, buyer_id__in=buyer_ids, paid_at__isnull=False).values_list(
            "buyer_id", "id", "paid_at", "paid_amount", "currency", "flags"
        )
    )
    order_ids = [p[1] for p in paid]
    disputed = _disputed(shop=shop, order_ids=order_ids)
    for buyer_id, oid, paid_at, amount, currency, flags in paid:
        is_disputed = oid in disputed or (isinstance(flags, list) and DISPUTE_FLAG in flags)
        rows[buyer_id].orders.append(compute.Ord(oid, paid_at, amount, currency, is_disputed))
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


# --- settings and rates (owner) ------------------------------------------------------------------


def _require_owner(actor: User, shop: Shop) -> None:
    if not actor.is_owner or actor.shop_id != shop.pk:
        raise PermissionDenied("only the main account changes metrics settings")


def set_reporting(
    *,
    actor: User,
    reporting_currency: str | None = None,
    rates: dict[str, Decimal] | None = None,
    slow_reply_minutes: int | None = None,
) -> MetricsSettings:
    """Set the reporting currency, exchange rates and/or the slow-reply threshold.

    Changing the currency or a rate changes past GMV: the shop is marked for a rebuild, which
    the next refresh run performs."""
    shop = actor.shop
    if shop is None:
        raise PermissionDenied("no shop")
    _require_owner(actor, shop)
    ms = metrics_settings(shop=shop)
    with transaction.atomic():
        if reporting_currency is not None:
            code = reporting_currency.strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise ValidationError("a currency is a 3-letter code", code="currency")
            ms.reporting_currency = code
        if slow_reply_minutes is not None:
            if not 1 <= slow_reply_minutes <= 7 * 24 * 60:
                raise ValidationError("the threshold is 1 minute to 7 days", code="threshold")
            ms.slow_reply_minutes = slow_reply_minutes
        ms.save()
        for currency, rate in (rates or {}).items():
            code = currency.strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise ValidationError(f"{currency!r} is not a currency code", code="currency")
            try:
                value = Decimal(rate)
            except (InvalidOperation, TypeError) as exc:
                raise ValidationError(f"bad rate for {code}", code="rate") from exc
            if value <= 0:
                FxRate.objects.filter(shop=shop, currency=code).delete()
            else:
                FxRate.objects.update_or_create(shop=shop, currency=code, defaults={"rate": value})
        MetricsCursor.objects.get_or_create(shop=shop)
        if reporting_currency is not None or rates:
            MetricsCursor.objects.filter(shop=shop).update(needs_rebuild=True)
    return ms


# --- case archive (R-35) --------------------------------------------------------------------


@dataclass(frozen=True)
class CaseInput:
    title: str
    event: str
    date: dt.date | None = None
    follow_up: str = ""
    outcome: str = ""
    outcome_kind: str = CaseOutcome.RESOLVED
    tags: str = ""
    agent_id: int | None = None


def save_case(*, actor: User, data: CaseInput, conversation: Conversation | None = None) -> Case:
    """Save a training case. ``conversation`` must come from `access_conversation(actor, …)`."""
    shop = actor.shop
    if shop is None:
        raise PermissionDenied("no shop")
    if conversation is not None and conversation.shop_id != shop.pk:
        raise PermissionDenied("not your shop's conversation")
    title, event = data.title.strip(), data.event.strip()
    if not title or len(title) > 200:
        raise ValidationError("a case needs a title of 1-200 characters", code="title")
    if not event:
        raise ValidationError("describe the event", code="event")
    if data.outcome_kind not in CaseOutcome.values:
        raise ValidationError("unknown outcome", code="outcome")
    agent: User | None = None
    if data.agent_id is not None:
        agent = User.objects.filter(shop=shop, pk=data.agent_id).first()
        if agent is None:
            raise ValidationError("no such agent in this shop", code="agent")
    elif conversation is not None and conversation.assignee_id is not None:
        agent = conversation.assignee
    if not actor.is_owner and agent is not None and agent.pk != actor.pk:
        raise PermissionDenied("a sub-account saves cases of its own conversations")
    day = data.date or timezone.now().astimezone(_zone(shop.timezone)).date()
    return Case.objects.create(
        shop=shop,
        conversation=conversation,
        date=day,
        agent=agent,
        agent_name=agent.name_for_buyers if agent else "",
        buyer_name=str(conversation.buyer) if conversation is not None else "",
        title=title,
        event=event,
        follow_up=data.follow_up.strip(),
        outcome=data.outcome.strip(),
        outcome_kind=data.outcome_kind,
        tags=data.tags.strip()[:200],
        created_by=actor,
    )


def _zone(name: str) -> dt.tzinfo:
    import zoneinfo

    return zoneinfo.ZoneInfo(name)


# --- message history import ------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not JSONL, unreadable)."""


@dataclass
class MessageImportSummary:
    lines: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)
    conversations_created: int = 0
    buyers_created: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < 100:
            self.rejections.append((line, reason))


@dataclass(frozen=True)
class _Line:
    no: int
    external_id: str
    buyer: str
    direction: str
    author: User | None
    sent_at: dt.datetime
    text: str
    entry_point: str | None
    conversation: str | None


IMPORT_DIRECTIONS = {"buyer": Direction.BUYER, "agent": Direction.AGENT, "auto": Direction.AUTO}


def _parse_line(no: int, obj: Any, logins: dict[str, User]) -> _Line:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")

    def text_field(name: str, required: bool = True, limit: int = 120) -> str | None:
        value = obj.get(name)
        if value is None or value == "":
            if required:
                raise ValueError(f"missing {name}")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        value = value.strip()
        if not value and required:
            raise ValueError(f"missing {name}")
        if len(value) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
        return value or None

    external_id = text_field("external_id")
    buyer = text_field("buyer_external_id")
    raw_direction = obj.get("direction")
    if raw_direction not in IMPORT_DIRECTIONS:
        raise ValueError("direction must be buyer, agent or auto")
    direction = IMPORT_DIRECTIONS[raw_direction]
    author = None
    if direction == Direction.AGENT:
        login = text_field("agent", limit=150)
        author = logins.get(login or "")
        if author is None:
            raise ValueError(f"unknown agent login {login!r}")
    raw_time = obj.get("sent_at")
    if not isinstance(raw_time, str):
        raise ValueError("missing sent_at")
    try:
        sent_at = dt.datetime.fromisoformat(raw_time.strip())
    except ValueError as exc:
        raise ValueError(f"sent_at {raw_time!r} is not ISO-8601") from exc
    if sent_at.tzinfo is None:
        raise ValueError("sent_at needs a time zone offset")
    text = text_field("text", limit=settings.KEFU_MAX_MESSAGE_CHARS)
    entry_point = text_field("entry_point", required=False, limit=20)
    if entry_point is not None and entry_point not in EntryPoint.values:
        raise ValueError(f"unknown entry_point {entry_point!r}")
    conversation = text_field("conversation_external_id", required=False, limit=180)
    if external_id is None or buyer is None or text is None:  # required above: never
        raise ValueError("missing field")
    return _Line(
        no, external_id, buyer, direction, author, sent_at, text, entry_point, conversation
    )


def _sniff(path: Path) -> None:
    try:
        with path.open("rb") as f:
            for no, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8-sig"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise ImportFileError(
                        f"{path.name} is not JSONL: line {no} is not a JSON object "
                        "(expected one JSON object per line)"
                    ) from exc
                if not isinstance(obj, dict):
                    raise ImportFileError(
                        f"{path.name} is not JSONL: line {no} is not a JSON object"
                    )
                return
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    raise ImportFileError(f"{path.name} is empty")


def _read_lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    with path.open("rb") as f:
        done = 0
        for no, raw in enumerate(f, start=1):
            done += len(raw)
            yield no, done, raw


Progress = Callable[[int, int, MessageImportSummary], None]


def import_messages(
    *, shop: Shop, path: str | Path, progress: Progress | None = None, batch_size: int = 1000
) -> MessageImportSummary:
    """Import message history from JSONL, idempotent on ``external_id`` (unique per shop).

    History is stored as plain rows: no routing, automatic replies or deliveries. Bad lines
    are counted and skipped; good ones are stored. The metrics refresh picks the rows up.
    """
    path = Path(path)
    _sniff(path)
    total = path.stat().st_size
    logins = {u.username: u for u in User.objects.filter(shop=shop)}
    summary = MessageImportSummary()
    state = _ImportState()
    batch: list[_Line] = []
    done = 0
    for no, done, raw in _read_lines(path):
        if not raw.strip():
            continue
        summary.lines += 1
        try:
            obj = json.loads(raw.decode("utf-8-sig"))
            batch.append(_parse_line(no, obj, logins))
        except UnicodeDecodeError:
            summary.reject(no, "not UTF-8 text")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else "invalid JSON"
            summary.reject(no, reason)
        if len(batch) >= batch_size:
            _store_batch(shop, batch, summary, state)
            batch = []
            if progress is not None:
                progress(done, total, summary)
    if batch:
        _store_batch(shop, batch, summary, state)
    if progress is not None:
        progress(total, total, summary)
    return summary


@dataclass
class _ImportState:
    # The conversation a buyer's previous line went to: lines without entry point follow it.
    last_conversation: dict[str, str] = field(default_factory=dict)


def _store_batch(
    shop: Shop, lines: list[_Line], summary: MessageImportSummary, state: _ImportState
) -> None:
    seen: set[str] = set()
    fresh: list[_Line] = []
    existing = set(
        Message.objects.filter(
            shop=shop, external_id__in=[ln.external_id for ln in lines]
        ).values_list("external_id", flat=True)
    )
    for ln in lines:
        if ln.external_id in existing or ln.external_id in seen:
            summary.duplicates += 1
            continue
        seen.add(ln.external_id)
        fresh.append(ln)
    if not fresh:
        return
    with transaction.atomic():
        buyers = _import_buyers(shop, fresh, summary)
        conv_keys: dict[int, str] = {}
        groups: dict[str, str] = {}
        for ln in fresh:
            if ln.conversation:
                key = "c:" + ln.conversation
            elif ln.entry_point:
                key = f"b:{ln.buyer}:{group_for_entry_point(ln.entry_point)}"
            else:
                key = state.last_conversation.get(ln.buyer, f"b:{ln.buyer}:pre_sale")
            state.last_conversation[ln.buyer] = key
            conv_keys[ln.no] = key
            if key not in groups:
                groups[key] = (
                    group_for_entry_point(ln.entry_point)
                    if ln.entry_point
                    else key.rsplit(":", 1)[-1]
                    if key.startswith("b:")
                    else "pre_sale"
                )
        convs = _import_conversations(shop, fresh, conv_keys, groups, buyers, summary)
        messages = [
            Message(
                shop=shop,
                conversation=convs[conv_keys[ln.no]],
                buyer=buyers[ln.buyer],
                direction=ln.direction,
                text=ln.text,
                author=ln.author,
                external_id=ln.external_id,
                sent_at=ln.sent_at,
                payload={"automation": "import", "imported": True}
                if ln.direction == Direction.AUTO
                else {"imported": True},
            )
            for ln in fresh
        ]
        Message.objects.bulk_create(messages, batch_size=500, ignore_conflicts=True)
        summary.created += len(messages)
        latest: dict[str, dt.datetime] = {}
        for ln in fresh:
            if ln.direction == Direction.BUYER and (
                ln.buyer not in latest or ln.sent_at > latest[ln.buyer]
            ):
                latest[ln.buyer] = ln.sent_at
        for ext, at in latest.items():
            Buyer.objects.filter(pk=buyers[ext].pk).filter(
                Q(last_message_at__isnull=True) | Q(last_message_at__lt=at)
            ).update(last_message_at=at)


def _import_buyers(
    shop: Shop, lines: list[_Line], summary: MessageImportSummary
) -> dict[str, Buyer]:
    first_seen: dict[str, dt.datetime] = {}
    for ln in lines:
        if ln.buyer not in first_seen or ln.sent_at < first_seen[ln.buyer]:
            first_seen[ln.buyer] = ln.sent_at
    found = {b.external_id: b for b in Buyer.objects.filter(shop=shop, external_id__in=first_seen)}
    missing = [
        Buyer(shop=shop, external_id=ext, first_seen_at=at)
        for ext, at in first_seen.items()
        if ext not in found
    ]
    if missing:
        Buyer.objects.bulk_create(missing, ignore_conflicts=True)
        summary.buyers_created += len(missing)
        found.update(
            {
                b.external_id: b
                for b in Buyer.objects.filter(
                    shop=shop, external_id__in=[b.external_id for b in missing]
                )
            }
        )
    return found


def _import_conversations(
    shop: Shop,
    lines: list[_Line],
    conv_keys: dict[int, str],
    groups: dict[str, str],
    buyers: dict[str, Buyer],
    summary: MessageImportSummary,
) -> dict[str, Conversation]:
    span: dict[str, tuple[dt.datetime, dt.datetime, _Line]] = {}
    for ln in lines:
        key = conv_keys[ln.no]
        lo, hi, first = span.get(key, (ln.sent_at, ln.sent_at, ln))
        span[key] = (min(lo, ln.sent_at), max(hi, ln.sent_at), first)
    known = {
        ic.external_id: ic.conversation
        for ic in ImportedConversation.objects.filter(
            shop=shop, external_id__in=list(span)
        ).select_related("conversation")
    }
    out: dict[str, Conversation] = {}
    for key, (lo, hi, first) in span.items():
        conv = known.get(key)
        if conv is None:
            # History is closed: resolved, so it never blocks the buyer's live conversation.
            conv = Conversation.objects.create(
                shop=shop,
                buyer=buyers[first.buyer],
                channel=Channel.MARKETPLACE,
                entry_point=first.entry_point or EntryPoint.SHOP_PAGE,
                group=groups[key],
                status=ConversationStatus.RESOLVED,
                last_message_at=hi,
                last_message_preview=first.text[:160],
                opened_at=lo,
                resolved_at=hi,
            )
            ImportedConversation.objects.create(shop=shop, external_id=key, conversation=conv)
            summary.conversations_created += 1
        else:
            changed = []
            if lo < conv.opened_at:
                conv.opened_at = lo
                changed.append("opened_at")
            if hi > conv.last_message_at:
                conv.last_message_at = hi
                changed.append("last_message_at")
            if changed:
                conv.save(update_fields=changed)
        out[key] = conv
    return out
