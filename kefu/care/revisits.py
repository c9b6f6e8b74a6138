"""The revisit table (回访, R-34): buyers about to run out of what they bought, from each
product's usage cycle and the buyer's last delivered order of it. Reads only.

A row is due from `runs_out - lead` (the shop's days) until `GRACE_DAYS` after it ran out,
unless the buyer ordered the product again since."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.care.models import CallReason, CallTask, Revisit
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation, ConversationStatus
from kefu.orders.models import OrderItem
from kefu.orders.selectors import sees_all_orders, visible_orders
from kefu.outreach.models import OptOut

DEFAULT_LEAD_DAYS = 3
GRACE_DAYS = 14
MAX_ROWS = 1000


@dataclass(frozen=True)
class RevisitRow:
    buyer_id: int
    buyer: str
    language: str
    product_id: int
    product: str
    order_external_id: str
    delivered_on: dt.date
    runs_out_on: dt.date
    days_left: int
    order_id: int = 0
    opted_out: bool = False  # the buyer asked for no more messages (kefu.outreach)
    revisited: str = ""  # "message" or "call" once the team revisited this row


def _local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz)


def revisit_table(
    actor: User,
    *,
    lead_days: int = DEFAULT_LEAD_DAYS,
    now: dt.datetime | None = None,
) -> list[RevisitRow]:
    """Buyers due a revisit today in the shop's time zone, soonest to run out first.

    One query does the work (decisions §57): a delivery is due when its shop day lies between
    `today - cycle - GRACE_DAYS` and `today - cycle + lead` for its product's cycle, so each
    cycle reads only the orders delivered in that window of days (the index on the delivery
    time), and a delivery is the buyer's last of the product when no order of it by the same
    buyer was placed or delivered after it (NOT EXISTS on the buyer's orders)."""
    shop = shop_of(actor)
    tz = zoneinfo.ZoneInfo(shop.timezone)
    today = (now or timezone.now()).astimezone(tz).date()
    products: dict[int, tuple[int, str]] = {
        pk: (days, title)
        for pk, days, title in Product.objects.filter(
            shop=shop, usage_cycle_days__gt=0
        ).values_list("pk", "usage_cycle_days", "title")
        if days
    }
    if not products:
        return []
    by_cycle: dict[int, list[int]] = {}
    for pk, (days, _title) in products.items():
        by_cycle.setdefault(days, []).append(pk)
    window = Q()
    for cycle, pks in by_cycle.items():
        first = today - dt.timedelta(days=cycle + GRACE_DAYS)
        final = today - dt.timedelta(days=cycle - lead_days)
        window |= Q(
            product_id__in=pks,
            order__delivered_at__gte=_local_midnight(first, tz),
            order__delivered_at__lt=_local_midnight(final + dt.timedelta(days=1), tz),
        )
    later = OrderItem.objects.filter(
        shop=shop,
        product_id=OuterRef("product_id"),
        order__buyer_id=OuterRef("order__buyer_id"),
    ).filter(
        Q(order__placed_at__gt=OuterRef("order__placed_at"))
        | Q(order__delivered_at__gt=OuterRef("order__delivered_at"))
    )
    items = OrderItem.objects.filter(shop=shop).filter(window)
    if not sees_all_orders(actor):
        items = items.filter(order__in=visible_orders(actor).values("pk"))
    found = items.filter(~Exists(later)).values_list(
        "order_id",
        "product_id",
        "order__buyer_id",
        "order__delivered_at",
        "order__external_id",
        "order__buyer__name",
        "order__buyer__external_id",
        "order__buyer__language",
    )
    # One row per buyer and product: two items of the product in one order (linked by SKU
    # under two titles), or two orders placed and delivered at the same instant, are one
    # revisit: the latest order's.
    last: dict[tuple[int, int], tuple[Any, ...]] = {}
    for row in found:
        key = (row[2], row[1])
        if key not in last or row[0] > last[key][0]:
            last[key] = row
    rows: list[RevisitRow] = []
    for (
        order_id,
        product_id,
        buyer_id,
        delivered,
        external_id,
        name,
        buyer_ext,
        lang,
    ) in last.values():
        delivered_on = delivered.astimezone(tz).date()
        runs_out = delivered_on + dt.timedelta(days=products[product_id][0])
        rows.append(
            RevisitRow(
                buyer_id=buyer_id,
                buyer=name or buyer_ext,
                language=lang,
                product_id=product_id,
                product=products[product_id][1],
                order_external_id=external_id,
                order_id=order_id,
                delivered_on=delivered_on,
                runs_out_on=runs_out,
                days_left=(runs_out - today).days,
            )
        )
    rows.sort(key=lambda r: (r.runs_out_on, r.buyer, r.product))
    rows = rows[:MAX_ROWS]
    opted = set(
        OptOut.objects.filter(shop=shop, buyer_id__in={r.buyer_id for r in rows}).values_list(
            "buyer_id", flat=True
        )
    )
    done = {
        (order_id, product_id): way
        for order_id, product_id, way in Revisit.objects.filter(
            shop=shop, order_id__in={r.order_id for r in rows}
        ).values_list("order_id", "product_id", "way")
    }
    return [
        replace(
            r,
            opted_out=r.buyer_id in opted,
            revisited=done.get((r.order_id, r.product_id), ""),
        )
        for r in rows
    ]


def inbox_is_quiet(shop: Shop) -> bool:
    """No buyer is waiting for the shop's reply: the quiet hours of the inbox, when the call
    group and agents turn to revisits (R-34)."""
    return not (
        Conversation.objects.filter(shop=shop, waiting_since__isnull=False)
        .exclude(status=ConversationStatus.RESOLVED)
        .exists()
    )


def call_queue(actor: User, tasks: list[CallTask]) -> tuple[list[CallTask], bool]:
    """The call list in working order: while the inbox is quiet revisits come first, else
    after the calls that cannot wait (late shipments, disputes). Reads only."""
    quiet = inbox_is_quiet(shop_of(actor))
    revisits = [t for t in tasks if t.reason == CallReason.REVISIT]
    others = [t for t in tasks if t.reason != CallReason.REVISIT]
    return (revisits + others if quiet else others + revisits), quiet


def access_revisit(actor: User, revisit_id: int) -> Revisit:
    """A revisit of an order the actor may see (404 otherwise)."""
    found = (
        Revisit.objects.filter(
            shop=shop_of(actor), pk=revisit_id, order__in=visible_orders(actor).values("pk")
        )
        .select_related("order", "product", "buyer", "message", "message__conversation")
        .first()
    )
    if found is None:
        raise Http404("no such revisit")
    return found
