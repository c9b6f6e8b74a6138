"""Reads of the metrics domain, scoped to what the actor may see.

The owner (or anyone with SEE_ALL) sees the shop's figures and every agent's row; a
sub-account sees only the figures credited to itself — its totals are its own figures.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.compliance.models import ComplianceFinding
from kefu.compliance.selectors import visible_findings
from kefu.conversations.models import (
    Buyer,
    Conversation,
    ConversationEvent,
    ConversationMark,
    ConversationStatus,
    Message,
)
from kefu.metrics import compute
from kefu.metrics.compute import COUNTER_FIELDS, NO_AGENT, Counters
from kefu.metrics.config import metrics_settings
from kefu.metrics.models import DailyRollup, MetricsCursor, MetricsFact
from kefu.orders.models import Order, OrderEvent

By = Literal["day", "agent", "group"]
BY_CHOICES: tuple[str, ...] = ("day", "agent", "group")
MAX_RANGE_DAYS = 366


def sees_all(user: User) -> bool:
    return has_capability(user, Capability.SEE_ALL)


def today(shop: Shop) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(shop.timezone)).date()


def day_bounds(shop: Shop, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = zoneinfo.ZoneInfo(shop.timezone)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValidationError("the range ends before it starts", code="range")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"a range is at most {MAX_RANGE_DAYS} days", code="range")


def _counters(row: dict[str, Any], prefix: str = "s_") -> Counters:
    c = Counters()
    for name in COUNTER_FIELDS:
        value = row.get(prefix + name)
        if value is not None:
            setattr(c, name, value)
    return c


def _rollups(shop: Shop, start: dt.date, end: dt.date, agent_id: int | None) -> QuerySet[Any]:
    qs = DailyRollup.objects.filter(shop=shop, day__gte=start, day__lte=end)
    if agent_id is not None:
        qs = qs.filter(agent_id=agent_id)
    return qs


def _sums() -> dict[str, Sum]:
    return {f"s_{name}": Sum(name) for name in COUNTER_FIELDS}


def totals(shop: Shop, start: dt.date, end: dt.date, agent_id: int | None = None) -> Counters:
    return _counters(_rollups(shop, start, end, agent_id).aggregate(**_sums()))


@dataclass(frozen=True)
class Freshness:
    """When the figures were computed, how far the shop's data goes, and whether rows have
    arrived since the figures were computed (they then lag the data)."""

    figures_as_of: dt.datetime | None
    data_until: dt.datetime | None
    behind: bool


def freshness(shop: Shop) -> Freshness:
    cursor = MetricsCursor.objects.filter(shop=shop).first()
    last = Buyer.objects.filter(shop=shop).aggregate(m=Max("last_message_at"))["m"]
    orders = Order.objects.filter(shop=shop).aggregate(p=Max("placed_at"), q=Max("paid_at"))
    data_until = max((t for t in (last, orders["p"], orders["q"]) if t is not None), default=None)
    if cursor is None or cursor.last_run_at is None:
        behind = data_until is not None or Message.objects.filter(shop=shop).exists()
        return Freshness(None, data_until, behind)
    since = cursor.last_run_at
    behind = (
        cursor.needs_rebuild
        or Message.objects.filter(
            shop=shop, id__gt=cursor.message_id, created_at__gt=since
        ).exists()
        or ConversationEvent.objects.filter(
            shop=shop, id__gt=cursor.conversation_event_id, created_at__gt=since
        ).exists()
        or OrderEvent.objects.filter(
            shop=shop, id__gt=cursor.order_event_id, created_at__gt=since
        ).exists()
        or Order.objects.filter(shop=shop, updated_at__gt=since).exists()
    )
    return Freshness(since, data_until, behind)


@dataclass
class Row:
    key: str
    label: str
    counters: Counters
    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.figures = compute.figures(self.counters)


@dataclass
class Report:
    shop: Shop
    start: dt.date
    end: dt.date
    by: str
    total: dict[str, Any]
    previous: dict[str, Any]
    previous_start: dt.date
    previous_end: dt.date
    rows: list[Row]
    daily: list[Row]
    reporting_currency: str
    own_only: bool
    last_run_at: dt.datetime | None
    fresh: Freshness

    def as_json(self) -> dict[str, Any]:
        return {
            "shop": self.shop.slug,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": self.by,
            "currency": self.reporting_currency,
            "own_figures_only": self.own_only,
            "total": self.total,
            "previous": {
                "from": self.previous_start.isoformat(),
                "to": self.previous_end.isoformat(),
                "total": self.previous,
            },
            "rows": [{"key": r.key, "label": r.label, **r.figures} for r in self.rows],
            "updated_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "figures_as_of": _iso(self.fresh.figures_as_of),
            "data_until": _iso(self.fresh.data_until),
            "figures_behind_data": self.fresh.behind,
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def agent_labels(shop: Shop) -> dict[int, str]:
    labels = {u.pk: u.display_name or u.username for u in User.objects.filter(shop=shop).only("pk")}
    labels[NO_AGENT] = str(_("Nobody (unanswered or automatic) 无人接待"))
    return labels


GROUP_LABELS: dict[str, str] = {
    **{g.value: str(g.label) for g in ServiceGroup},
    compute.NO_GROUP: str(_("Not guided 非引导")),
}


def rows_by(
    shop: Shop, start: dt.date, end: dt.date, by: str, agent_id: int | None = None
) -> list[Row]:
    if by not in BY_CHOICES:
        raise ValidationError("by is day, agent or group", code="by")
    column = {"day": "day", "agent": "agent_id", "group": "group"}[by]
    agg = _rollups(shop, start, end, agent_id).values(column).annotate(**_sums()).order_by(column)
    found = {row[column]: _counters(row) for row in agg}
    if by == "day":
        out = []
        day = start
        while day <= end:
            out.append(Row(day.isoformat(), day.isoformat(), found.get(day, Counters())))
            day += dt.timedelta(days=1)
        return out
    if by == "agent":
        labels = agent_labels(shop)
        return [
            Row(str(k), labels.get(k, f"#{k}"), c)
            for k, c in sorted(found.items(), key=lambda kv: (kv[0] == NO_AGENT, kv[0]))
        ]
    return [Row(k or "-", GROUP_LABELS.get(k, k), c) for k, c in sorted(found.items())]


def report(
    *, shop: Shop, start: dt.date, end: dt.date, by: str = "day", agent_id: int | None = None
) -> Report:
    """Figures of a range with the previous period of the same length for comparison."""
    check_range(start, end)
    length = (end - start).days + 1
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=length - 1)
    fresh = freshness(shop)
    return Report(
        shop=shop,
        start=start,
        end=end,
        by=by,
        total=compute.figures(totals(shop, start, end, agent_id)),
        previous=compute.figures(totals(shop, prev_start, prev_end, agent_id)),
        previous_start=prev_start,
        previous_end=prev_end,
        rows=rows_by(shop, start, end, by, agent_id),
        daily=rows_by(shop, start, end, "day", agent_id) if by != "day" else [],
        reporting_currency=metrics_settings(shop=shop).reporting_currency,
        own_only=agent_id is not None,
        last_run_at=fresh.figures_as_of,
        fresh=fresh,
    )


def report_for(actor: User, *, start: dt.date, end: dt.date, by: str = "day") -> Report:
    """The report the actor may see: the shop's, or a sub-account's own figures."""
    shop = shop_of(actor)
    return report(
        shop=shop, start=start, end=end, by=by, agent_id=None if sees_all(actor) else actor.pk
    )


# --- daily inspection (R-40) --------------------------------------------------------------


@dataclass(frozen=True)
class SlowReply:
    conversation_id: int
    buyer: str
    agent: str
    group: str
    waited_from: dt.datetime
    replied_at: dt.datetime | None
    minutes: int
    first: bool
    seconds: int = 0  # the wait itself, shown as "1 h 5 min"


@dataclass
class Inspection:
    day: dt.date
    threshold_minutes: int
    slow: list[SlowReply]
    unanswered: list[dict[str, Any]]
    findings: list[ComplianceFinding]
    overrides: int
    red_marks: list[ConversationMark]
    figures: dict[str, Any]


def _require_all(actor: User) -> Shop:
    shop = shop_of(actor)
    if not sees_all(actor):
        raise PermissionDenied("the daily inspection is for the main account")
    return shop


def inspection(actor: User, *, day: dt.date, limit: int = 200) -> Inspection:
    shop = _require_all(actor)
    threshold = metrics_settings(shop=shop).slow_reply_minutes
    start, end = day_bounds(shop, day)
    labels = agent_labels(shop)
    # Conversations with a buyer message or a reply that day; their waits from raw rows.
    conv_ids = list(
        Message.objects.filter(shop=shop, sent_at__gte=start, sent_at__lt=end)
        .values_list("conversation_id", flat=True)
        .distinct()[:5000]
    )
    rows = Message.objects.filter(
        shop=shop, conversation_id__in=conv_ids, sent_at__lt=end + compute.H48
    ).values_list(
        "id", "conversation_id", "conversation__group", "direction", "sent_at", "author_id"
    )
    msgs = [compute.Msg(*r) for r in rows]
    events = [
        compute.ConvEvent(*r)
        for r in ConversationEvent.objects.filter(
            shop=shop, conversation_id__in=conv_ids, kind__in=("resolved", "reopened")
        ).values_list("id", "conversation_id", "kind", "created_at", "actor_id")
    ]
    responses, _res = compute.responses_and_resolutions(msgs, events)
    buyers = dict(
        Conversation.objects.filter(pk__in=conv_ids).values_list("pk", "buyer__external_id")
    )
    limit_s = threshold * 60
    slow = [
        SlowReply(
            r.conversation_id,
            buyers.get(r.conversation_id, ""),
            labels.get(r.agent_id or NO_AGENT, "-"),
            r.group,
            r.waited_from,
            r.replied_at,
            r.seconds // 60,
            r.first,
            r.seconds,
        )
        for r in responses
        if r.seconds > limit_s and start <= r.waited_from < end
    ]
    slow.sort(key=lambda s: -s.minutes)
    # Buyers of the day with no person's reply within 48 h (from the facts), and live waits.
    unanswered_ids = list(
        MetricsFact.objects.filter(shop=shop, day=day)
        .values("buyer_id")
        .annotate(r=Sum("reception_count"), a=Sum("replied_buyers"))
        .filter(r__gt=0, a=0)
        .values_list("buyer_id", flat=True)[:limit]
    )
    waiting = (
        Conversation.objects.filter(shop=shop, waiting_since__isnull=False, waiting_since__lt=end)
        .exclude(status=ConversationStatus.RESOLVED)
        .filter(Q(buyer_id__in=unanswered_ids) | Q(waiting_since__gte=start))
        .select_related("buyer", "assignee")
        .order_by("waiting_since")[:limit]
    )
    unanswered: list[dict[str, Any]] = [
        {
            "conversation_id": c.pk,
            "buyer": str(c.buyer),
            "agent": labels.get(c.assignee_id or NO_AGENT, "-"),
            "group": GROUP_LABELS.get(c.group, c.group),
            "waiting_since": c.waiting_since,
        }
        for c in waiting
    ]
    listed = {u["conversation_id"] for u in unanswered}
    day_convs = Message.objects.filter(
        shop=shop,
        buyer_id__in=unanswered_ids,
        direction="buyer",
        sent_at__gte=start,
        sent_at__lt=end,
    ).values("conversation_id")
    for conv in (
        Conversation.objects.filter(shop=shop, pk__in=day_convs)
        .select_related("buyer", "assignee")
        .order_by("pk")[:limit]
    ):
        if conv.pk not in listed:
            unanswered.append(
                {
                    "conversation_id": conv.pk,
                    "buyer": str(conv.buyer),
                    "agent": labels.get(conv.assignee_id or NO_AGENT, "-"),
                    "group": GROUP_LABELS.get(conv.group, conv.group),
                    "waiting_since": None,
                }
            )
    findings_qs = visible_findings(actor, day=day)
    findings = list(findings_qs[:limit])
    overrides = findings_qs.filter(overridden=True).count()
    red_marks = list(
        ConversationMark.objects.filter(
            shop=shop, color="red", created_at__gte=start, created_at__lt=end
        )
        .select_related("conversation__buyer", "product", "created_by")
        .order_by("created_at")[:limit]
    )
    return Inspection(
        day=day,
        threshold_minutes=threshold,
        slow=slow[:limit],
        unanswered=unanswered[:limit],
        findings=findings,
        overrides=overrides,
        red_marks=red_marks,
        figures=compute.figures(totals(shop, day, day)),
    )
