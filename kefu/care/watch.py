"""The minute watch of the care domain (beat every 30 s, a task per shop): disputes the
marketplace opened become complaints, complaint surges raise an alert for the owners, dispute
deadlines and promises due raise reminders for their owners, late shipments and disputes near
their deadline become call tasks. Every step is idempotent (alerts and calls have keys)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.care.calls import add_call_tasks
from kefu.care.complaints import open_dispute
from kefu.care.config import care_settings, cause_labels
from kefu.care.models import (
    AlertKind,
    CareAlert,
    Complaint,
    ComplaintProduct,
    ComplaintStatus,
    Promise,
    PromiseStatus,
    ReviewSettings,
)
from kefu.care.review_invites import invite_delivered_orders
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation, EntryPoint
from kefu.orders.models import Order, OrderEvent, OrderEventKind, OrderFlag

# How far back the sweep looks for new disputes: a stopped worker catches up on restart.
DISPUTE_LOOKBACK = dt.timedelta(days=3)
BASELINE_DAYS = 28
WINDOW = dt.timedelta(hours=1)


def open_new_disputes(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Open a dispute complaint for each order newly flagged "dispute open" (an import or
    the order webhook) and each chat started from the marketplace's dispute entry point."""
    now = now or timezone.now()
    since = now - DISPUTE_LOOKBACK
    order_ids = set(
        OrderEvent.objects.filter(
            shop=shop,
            kind=OrderEventKind.FLAG_ADDED,
            created_at__gte=since,
            data__flag=OrderFlag.DISPUTE_OPEN,
        ).values_list("order_id", flat=True)
    )
    conv_ids = set(
        Conversation.objects.filter(
            shop=shop, entry_point=EntryPoint.DISPUTE, created_at__gte=since
        ).values_list("pk", flat=True)
    )
    keys = {f"order:{i}" for i in order_ids} | {f"conversation:{i}" for i in conv_ids}
    if not keys:
        return 0
    done = set(
        Complaint.objects.filter(shop=shop, dispute_key__in=keys).values_list(
            "dispute_key", flat=True
        )
    )
    opened = 0
    for order in Order.objects.filter(shop=shop, pk__in=order_ids).order_by("pk"):
        if f"order:{order.pk}" not in done and open_dispute(
            shop=shop, key=f"order:{order.pk}", order=order, now=now
        ):
            opened += 1
    for conv in Conversation.objects.filter(shop=shop, pk__in=conv_ids).order_by("pk"):
        if f"conversation:{conv.pk}" not in done and open_dispute(
            shop=shop, key=f"conversation:{conv.pk}", conversation=conv, now=now
        ):
            opened += 1
    return opened


# --- surges ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Surge:
    scope: str  # shop | cause | product
    key: str
    label: str
    count: int
    baseline: Decimal
    conversation_ids: list[int]


def _baseline_windows(now: dt.datetime) -> Q:
    """The same hour on each of the last 28 days: the shop's own normal for this hour."""
    q = Q()
    for day in range(1, BASELINE_DAYS + 1):
        end = now - dt.timedelta(days=day)
        q |= Q(opened_at__gt=end - WINDOW, opened_at__lte=end)
    return q


def _is_surge(count: int, baseline: Decimal, *, factor: Decimal, minimum: int) -> bool:
    """At least `minimum` complaints, and more than `factor` times the usual for the hour
    (a shop with no complaints at this hour before: the minimum alone decides)."""
    if count < minimum:
        return False
    return Decimal(count) > factor * baseline


def detect_surges(*, shop: Shop, now: dt.datetime | None = None) -> list[Surge]:
    """Complaints of the last hour, for the shop, per cause and per product, against the
    average of the same hour over the last 4 weeks. Reads only."""
    now = now or timezone.now()
    settings_ = care_settings(shop=shop)
    factor, minimum = settings_.surge_factor, settings_.surge_min_count
    recent = Complaint.objects.filter(shop=shop, opened_at__gt=now - WINDOW, opened_at__lte=now)
    rows = list(recent.values_list("pk", "cause", "conversation_id"))
    if len(rows) < minimum:
        return []
    earliest = now - dt.timedelta(days=BASELINE_DAYS) - WINDOW
    past = Complaint.objects.filter(shop=shop, opened_at__gt=earliest).filter(
        _baseline_windows(now)
    )
    past_by_cause = Counter(
        dict(past.values_list("cause").annotate(n=Count("pk")).values_list("cause", "n"))
    )
    past_total = sum(past_by_cause.values())
    days = Decimal(BASELINE_DAYS)
    surges: list[Surge] = []
    labels = cause_labels(shop)

    def convs(ids: list[int | None]) -> list[int]:
        return sorted({i for i in ids if i is not None})

    total_base = Decimal(past_total) / days
    if _is_surge(len(rows), total_base, factor=factor, minimum=minimum):
        surges.append(
            Surge("shop", "", shop.name, len(rows), total_base, convs([r[2] for r in rows]))
        )
    for cause, n in Counter(r[1] for r in rows).items():
        base = Decimal(past_by_cause.get(cause, 0)) / days
        if _is_surge(n, base, factor=factor, minimum=minimum):
            surges.append(
                Surge(
                    "cause",
                    cause,
                    labels.get(cause, cause),
                    n,
                    base,
                    convs([r[2] for r in rows if r[1] == cause]),
                )
            )
    items = list(
        ComplaintProduct.objects.filter(
            shop=shop, opened_at__gt=now - WINDOW, opened_at__lte=now
        ).values_list("product_id", "complaint__conversation_id")
    )
    per_product = Counter(p for p, _c in items)
    hot = [p for p, n in per_product.items() if n >= minimum]
    if hot:
        past_items = ComplaintProduct.objects.filter(
            shop=shop, product_id__in=hot, opened_at__gt=earliest
        ).filter(_baseline_windows(now))
        past_by_product = dict(
            past_items.values_list("product_id")
            .annotate(n=Count("pk"))
            .values_list("product_id", "n")
        )
        titles = dict(Product.objects.filter(pk__in=hot).values_list("pk", "title"))
        for product_id in hot:
            base = Decimal(past_by_product.get(product_id, 0)) / days
            n = per_product[product_id]
            if _is_surge(n, base, factor=factor, minimum=minimum):
                surges.append(
                    Surge(
                        "product",
                        str(product_id),
                        titles.get(product_id, str(product_id)),
                        n,
                        base,
                        convs([c for p, c in items if p == product_id]),
                    )
                )
    return surges


def _raise(alert: CareAlert) -> bool:
    """Store the alert unless one with its key exists; True when it is new."""
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return False
    return True


def alert_surges(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Raise one alert per surging scope and hour; the owners see it in the workbench."""
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H")
    raised = 0
    for surge in detect_surges(shop=shop, now=now):
        if _raise(
            CareAlert(
                shop=shop,
                kind=AlertKind.SURGE,
                key=f"surge:{surge.scope}:{surge.key}:{hour}"[:120],
                scope=surge.scope,
                label=surge.label[:300],
                count=surge.count,
                baseline=surge.baseline.quantize(Decimal("0.01")),
                conversation_ids=surge.conversation_ids[:200],
                created_at=now,
            )
        ):
            raised += 1
    return raised


# --- reminders ------------------------------------------------------------------------------


def remind_deadlines(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Disputes whose response deadline is within the reminder window (or past): one alert
    per complaint and deadline for its owner."""
    now = now or timezone.now()
    settings_ = care_settings(shop=shop)
    horizon = now + dt.timedelta(hours=settings_.remind_hours_before)
    due = Complaint.objects.filter(
        shop=shop,
        status__in=[ComplaintStatus.OPEN, ComplaintStatus.WAITING_BUYER],
        respond_by__isnull=False,
        respond_by__lte=horizon,
    ).select_related("order", "buyer")
    raised = 0
    for c in due[:500]:
        assert c.respond_by is not None  # noqa: S101 - filtered above
        when = c.respond_by.isoformat(timespec="minutes")
        passed = c.respond_by <= now
        if _raise(
            CareAlert(
                shop=shop,
                kind=AlertKind.DEADLINE,
                user=c.owner,
                key=f"deadline:{c.pk}:{when}:{'passed' if passed else 'soon'}"[:120],
                scope="passed" if passed else "soon",
                complaint=c,
                conversation_ids=[c.conversation_id] if c.conversation_id else [],
                created_at=now,
            )
        ):
            raised += 1
    return raised


def remind_promises(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Open promises due soon or overdue: one alert each for their owner, so a promise due is
    never missed in silence."""
    now = now or timezone.now()
    settings_ = care_settings(shop=shop)
    horizon = now + dt.timedelta(hours=settings_.promise_due_soon_hours)
    raised = 0
    for p in Promise.objects.filter(shop=shop, status=PromiseStatus.OPEN, due_at__lte=horizon)[
        :1000
    ]:
        overdue = p.due_at <= now
        kind = AlertKind.PROMISE_OVERDUE if overdue else AlertKind.PROMISE_DUE
        if _raise(
            CareAlert(
                shop=shop,
                kind=kind,
                user=p.owner,
                key=f"{kind}:{p.pk}"[:120],
                label=p.what[:300],
                promise=p,
                conversation_ids=[p.conversation_id] if p.conversation_id else [],
                created_at=now,
            )
        ):
            raised += 1
    return raised


def watch_shop(*, shop: Shop, now: dt.datetime | None = None) -> dict[str, int]:
    """The minute's work for one shop."""
    now = now or timezone.now()
    return {
        "disputes": open_new_disputes(shop=shop, now=now),
        "surges": alert_surges(shop=shop, now=now),
        "deadlines": remind_deadlines(shop=shop, now=now),
        "promises": remind_promises(shop=shop, now=now),
        "calls": add_call_tasks(shop=shop, now=now),
        "review_invitations": invite_delivered_orders(shop=shop, now=now),
    }


def shops_to_watch(*, now: dt.datetime | None = None) -> list[int]:
    """Shops with something to watch: a recent complaint, dispute event, open promise."""
    now = now or timezone.now()
    since = now - DISPUTE_LOOKBACK
    ids = set(
        Complaint.objects.filter(opened_at__gt=now - WINDOW).values_list("shop_id", flat=True)
    )
    ids |= set(
        Complaint.objects.filter(respond_by__isnull=False)
        .exclude(status=ComplaintStatus.RESOLVED)
        .values_list("shop_id", flat=True)
    )
    ids |= set(Promise.objects.filter(status=PromiseStatus.OPEN).values_list("shop_id", flat=True))
    ids |= set(ReviewSettings.objects.filter(invite_enabled=True).values_list("shop_id", flat=True))
    ids |= set(
        OrderEvent.objects.filter(
            kind=OrderEventKind.FLAG_ADDED, created_at__gte=since, data__flag=OrderFlag.DISPUTE_OPEN
        ).values_list("shop_id", flat=True)
    )
    ids |= set(
        Conversation.objects.filter(
            entry_point=EntryPoint.DISPUTE, created_at__gte=since
        ).values_list("shop_id", flat=True)
    )
    return sorted(ids)
