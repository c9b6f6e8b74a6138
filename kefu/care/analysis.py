"""The cause analysis (R-31): complaints counted and rated by cause, product, agent and week,
with the ones closed with a kept buyer counted as "turned around". Reads only."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.db.models import Count

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.care.config import cause_labels
from kefu.care.models import ComplaintProduct, ComplaintStatus, Resolution
from kefu.care.selectors import visible_complaints
from kefu.orders.models import OrderItem
from kefu.orders.selectors import visible_orders

MAX_DAYS = 366


@dataclass
class Group:
    key: str
    label: str
    complaints: int = 0
    resolved: int = 0
    turned_around: int = 0
    # Orders of the period in this group (products and weeks): the base of the complaint rate.
    orders: int | None = None

    @property
    def turnaround_rate(self) -> float | None:
        return round(self.turned_around / self.resolved, 3) if self.resolved else None

    @property
    def complaint_rate(self) -> float | None:
        return round(self.complaints / self.orders, 4) if self.orders else None


@dataclass
class Analysis:
    since: dt.date
    until: dt.date
    total: int = 0
    resolved: int = 0
    turned_around: int = 0
    by_cause: list[Group] = field(default_factory=list)
    by_product: list[Group] = field(default_factory=list)
    by_agent: list[Group] = field(default_factory=list)
    by_week: list[Group] = field(default_factory=list)

    @property
    def turnaround_rate(self) -> float | None:
        return round(self.turned_around / self.resolved, 3) if self.resolved else None

    def share(self, group: Group) -> float | None:
        return round(group.complaints / self.total, 3) if self.total else None


def _bounds(
    since: dt.date, until: dt.date, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(since, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end


def _week_start(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    day = moment.astimezone(tz).date()
    return day - dt.timedelta(days=day.weekday())


def cause_analysis(actor: User, *, since: dt.date, until: dt.date) -> Analysis:
    """Complaints opened from `since` to `until` (the shop's days, both included) that the
    actor may see."""
    shop = shop_of(actor)
    tz = zoneinfo.ZoneInfo(shop.timezone)
    until = min(until, since + dt.timedelta(days=MAX_DAYS))
    start, end = _bounds(since, until, tz)
    result = Analysis(since=since, until=until)
    rows = list(
        visible_complaints(actor)
        .filter(opened_at__gte=start, opened_at__lt=end)
        .values_list(
            "pk",
            "cause",
            "owner_id",
            "owner__display_name",
            "owner__username",
            "status",
            "resolution",
            "opened_at",
        )
    )
    labels = cause_labels(shop)
    causes: dict[str, Group] = {}
    agents: dict[str, Group] = {}
    weeks: dict[str, Group] = {}
    outcome: dict[int, tuple[bool, bool]] = {}

    def add(group: Group, resolved: bool, kept: bool) -> None:
        group.complaints += 1
        group.resolved += resolved
        group.turned_around += kept

    for pk, cause, owner_id, display, username, status, resolution, opened in rows:
        resolved = status == ComplaintStatus.RESOLVED
        kept = resolved and resolution == Resolution.KEPT
        outcome[pk] = (resolved, kept)
        result.total += 1
        result.resolved += resolved
        result.turned_around += kept
        add(causes.setdefault(cause, Group(cause, labels.get(cause, cause))), resolved, kept)
        agent_key = str(owner_id or "")
        add(
            agents.setdefault(agent_key, Group(agent_key, display or username or "—")),
            resolved,
            kept,
        )
        week_key = _week_start(opened, tz).isoformat()
        add(weeks.setdefault(week_key, Group(week_key, week_key)), resolved, kept)

    products: dict[int, Group] = {}
    if outcome:
        # The period's rows of the shop, the ones the actor may not see skipped here: a list of
        # every visible id in the query costs more than reading the few it would leave out.
        items = ComplaintProduct.objects.filter(
            shop=shop, opened_at__gte=start, opened_at__lt=end
        ).values_list("complaint_id", "product_id", "product__title")
        for complaint_id, product_id, title in items:
            if complaint_id not in outcome:
                continue
            resolved, kept = outcome[complaint_id]
            add(products.setdefault(product_id, Group(str(product_id), title)), resolved, kept)
        # The complaint rate of a product: its complaints over its orders of the period.
        orders = visible_orders(actor).filter(placed_at__gte=start, placed_at__lt=end)
        per_product = dict(
            OrderItem.objects.filter(
                shop=shop, product_id__in=list(products), order__in=orders.values("pk")
            )
            .values_list("product_id")
            .annotate(n=Count("order_id", distinct=True))
            .values_list("product_id", "n")
        )
        for product_id, group in products.items():
            group.orders = per_product.get(product_id, 0)
    # Orders per week: the base of the weekly complaint rate. One range count per week (the
    # (shop, status, placed_at) index), not a per-row time-zone truncation of every order.
    orders_in_range = visible_orders(actor)
    week: dt.date = _week_start(start, tz)
    while True:
        week_from = dt.datetime.combine(week, dt.time(0), tzinfo=tz)
        if week_from >= end:
            break
        week_to = week_from + dt.timedelta(days=7)
        n = orders_in_range.filter(
            placed_at__gte=max(week_from, start), placed_at__lt=min(week_to, end)
        ).count()
        if n:
            weeks.setdefault(week.isoformat(), Group(week.isoformat(), week.isoformat())).orders = n
        week += dt.timedelta(days=7)
    for group in weeks.values():
        if group.orders is None:
            group.orders = 0

    def ranked(groups: dict[object, Group]) -> list[Group]:
        return sorted(groups.values(), key=lambda g: (-g.complaints, g.label))

    result.by_cause = ranked(causes)  # type: ignore[arg-type]
    result.by_product = ranked(products)  # type: ignore[arg-type]
    result.by_agent = ranked(agents)  # type: ignore[arg-type]
    result.by_week = sorted(weeks.values(), key=lambda g: g.key)
    return result


ANALYSIS_HEADER = [
    "dimension",
    "key",
    "label",
    "complaints",
    "share",
    "resolved",
    "turned around",
    "turnaround rate",
    "orders",
    "complaint rate",
]


def analysis_rows(a: Analysis) -> list[list[object]]:
    rows: list[list[object]] = []
    for name, groups in (
        ("cause", a.by_cause),
        ("product", a.by_product),
        ("agent", a.by_agent),
        ("week", a.by_week),
    ):
        for g in groups:
            rows.append(
                [
                    name,
                    g.key,
                    g.label,
                    g.complaints,
                    a.share(g) if a.share(g) is not None else "",
                    g.resolved,
                    g.turned_around,
                    g.turnaround_rate if g.turnaround_rate is not None else "",
                    g.orders if g.orders is not None else "",
                    g.complaint_rate if g.complaint_rate is not None else "",
                ]
            )
    return rows
