"""The revisit table (回访, R-34): buyers about to run out of what they bought, from each
product's usage cycle and the buyer's last delivered order of it. Reads only.

A row is due from `runs_out - lead` (the shop's days) until `GRACE_DAYS` after it ran out,
unless the buyer ordered the product again since."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, replace

from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.care.models import CallReason, CallTask, Revisit
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation, ConversationStatus
from kefu.orders.models import OrderItem
from kefu.orders.selectors import visible_orders
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


def revisit_table(
    actor: User,
    *,
    lead_days: int = DEFAULT_LEAD_DAYS,
    now: dt.datetime | None = None,
) -> list[RevisitRow]:
    """Buyers due a revisit today in the shop's time zone, soonest to run out first."""
    shop = shop_of(actor)
    tz = zoneinfo.ZoneInfo(shop.timezone)
    today = (now or timezone.now()).astimezone(tz).date()
    cycles: dict[int, int] = {
        pk: days
        for pk, days in Product.objects.filter(shop=shop, usage_cycle_days__gt=0).values_list(
            "pk", "usage_cycle_days"
        )
        if days
    }
    if not cycles:
        return []
    longest = max(cycles.values())
    # Deliveries old enough to run out between today - grace and today + lead: bounded by the
    # longest cycle, so the scan stays within a window of recent orders.
    earliest = dt.datetime.combine(
        today - dt.timedelta(days=longest + GRACE_DAYS + 1), dt.time(0), tzinfo=tz
    )
    items = (
        OrderItem.objects.filter(
            shop=shop,
            product_id__in=list(cycles),
            order__in=visible_orders(actor).values("pk"),
            order__placed_at__gte=earliest,
        )
        .values("order__buyer_id", "product_id")
        .annotate(last_delivered=Max("order__delivered_at"), last_placed=Max("order__placed_at"))
    )
    due: list[tuple[int, int, dt.datetime]] = []
    for row in items:
        delivered = row["last_delivered"]
        if delivered is None:
            continue
        cycle = cycles[row["product_id"]]
        delivered_on = delivered.astimezone(tz).date()
        runs_out = delivered_on + dt.timedelta(days=cycle)
        if (
            not runs_out - dt.timedelta(days=lead_days)
            <= today
            <= runs_out + dt.timedelta(days=GRACE_DAYS)
        ):
            continue
        due.append((row["order__buyer_id"], row["product_id"], delivered))
    if not due:
        return []
    # The delivered order itself, and whether the buyer ordered the product again after it.
    details: dict[tuple[int, int, dt.datetime | None], OrderItem] = {
        (i.order.buyer_id, i.product_id or 0, i.order.delivered_at): i
        for i in OrderItem.objects.filter(
            shop=shop,
            product_id__in={p for _b, p, _d in due},
            order__buyer_id__in={b for b, _p, _d in due},
            order__placed_at__gte=earliest,
        ).select_related("order", "order__buyer", "product")
    }
    latest_placed: dict[tuple[int, int], dt.datetime] = {}
    for (buyer_id, product_id, _delivered), item in details.items():
        key = (buyer_id, product_id)
        latest_placed[key] = max(latest_placed.get(key, item.order.placed_at), item.order.placed_at)
    rows: list[RevisitRow] = []
    for buyer_id, product_id, delivered in due:
        found = details.get((buyer_id, product_id, delivered))
        if found is None:
            continue
        item = found
        if latest_placed[(buyer_id, product_id)] > item.order.placed_at:
            continue  # bought again since: nothing to revisit
        delivered_on = delivered.astimezone(tz).date()
        runs_out = delivered_on + dt.timedelta(days=cycles[product_id])
        buyer = item.order.buyer
        rows.append(
            RevisitRow(
                buyer_id=buyer_id,
                buyer=str(buyer),
                language=buyer.language,
                product_id=product_id,
                product=item.product.title if item.product else item.title,
                order_external_id=item.order.external_id,
                order_id=item.order.pk,
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
