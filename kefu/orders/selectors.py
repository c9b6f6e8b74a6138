"""Reads of orders shared by pages, the API, the conversation sidebar and the jobs.

Scoping fails closed: every read for a person starts from `visible_orders(user)`, which
raises for a login without a shop and narrows a sub-account to orders that contain one of
its own products (R-02). Jobs read by shop explicitly.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.catalog.models import Product
from kefu.catalog.selectors import ProductFacts, facts_of
from kefu.conversations.models import Buyer, Conversation
from kefu.conversations.selectors import visible_conversations
from kefu.orders.config import order_settings, penalty_rule
from kefu.orders.models import (
    STALLED,
    TERMINAL_TRACKING,
    ImportRun,
    Order,
    OrderItem,
    OrderSettings,
    OrderStatus,
    Parcel,
    ParcelAlertKind,
    TrackingEvent,
    TrackingStatus,
)
from kefu.orders.rules import late_shipment_penalty, tracking_url


def _settings(shop: Shop) -> OrderSettings:
    return order_settings(shop=shop)


def sees_all_orders(user: User) -> bool:
    """The user sees every order of the shop (a caller may then skip the visibility filter, a
    subquery over all the shop's orders)."""
    return user.is_owner or has_capability(user, Capability.SEE_ALL)


def visible_orders(user: User) -> QuerySet[Order]:
    """Orders the user may see: all of the shop's for the owner, else those with its products."""
    shop = shop_of(user)
    orders = Order.objects.filter(shop=shop)
    if sees_all_orders(user):
        return orders
    own_items = OrderItem.objects.filter(shop=shop, product__owner=user).values("order_id")
    return orders.filter(pk__in=own_items)


def access_order(user: User, order_id: int) -> Order:
    try:
        return visible_orders(user).select_related("buyer").get(pk=order_id)
    except Order.DoesNotExist as exc:
        raise Http404("no such order") from exc


def order_of(conversation: Conversation) -> Order | None:
    """The order the conversation is about, whoever may see it: for the shop's own checks
    (the rule guard's payer check, mark duties), never to show an agent."""
    if not conversation.order_external_id:
        return None
    return Order.objects.filter(
        shop_id=conversation.shop_id, external_id=conversation.order_external_id
    ).first()


def access_buyer(user: User, buyer_id: int) -> Buyer:
    """A buyer of the shop, for the one rule of R-02: the owner reaches every buyer, a
    sub-account the buyers of conversations it may see and of orders of its products."""
    buyers = Buyer.objects.filter(shop=shop_of(user))
    if not (user.is_owner or has_capability(user, Capability.SEE_ALL)):
        buyers = buyers.filter(
            Q(pk__in=visible_conversations(user).values("buyer_id"))
            | Q(pk__in=visible_orders(user).values("buyer_id"))
        )
    try:
        return buyers.get(pk=buyer_id)
    except (Buyer.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("no such buyer") from exc


def access_import_run(user: User, run_id: int) -> ImportRun:
    try:
        return ImportRun.objects.get(shop=shop_of(user), pk=run_id)
    except ImportRun.DoesNotExist as exc:
        raise Http404("no such import") from exc


def _with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("buyer").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product")),
        Prefetch(
            "parcels",
            queryset=Parcel.objects.prefetch_related(
                Prefetch("events", queryset=TrackingEvent.objects.order_by("-occurred_at", "-id"))
            ),
        ),
        "refunds",
    )


def order_list(user: User, *, status: str = "", query: str = "", limit: int = 100) -> list[Order]:
    orders = visible_orders(user).select_related("buyer")
    if status:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(
            Q(external_id__icontains=query)
            | Q(buyer__external_id__icontains=query)
            | Q(buyer__name__icontains=query)
            | Q(parcels__tracking_number=query)
        ).distinct()
    return list(orders.order_by("-placed_at", "-id")[:limit])


# --- parcels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParcelView:
    parcel: Parcel
    status: str  # a TrackingStatus value, or "stalled"
    label: str
    url: str
    events: list[TrackingEvent]


def parcel_display_status(
    parcel: Parcel, *, stall_days: int, now: dt.datetime, replaced: bool = False
) -> str:
    # A parcel a reshipment replaced is nobody's worry any more: never "stalled".
    if parcel.status in TERMINAL_TRACKING or replaced:
        return parcel.status
    if now - parcel.quiet_since >= dt.timedelta(days=stall_days):
        return STALLED
    return parcel.status


def _parcel_views(order: Order, settings_: OrderSettings, now: dt.datetime) -> list[ParcelView]:
    labels = dict(TrackingStatus.choices)
    views = []
    parcels = list(order.parcels.all())
    replaced = {p.replaces_id for p in parcels if p.replaces_id is not None}
    for parcel in parcels:
        status = parcel_display_status(
            parcel, stall_days=settings_.stall_days, now=now, replaced=parcel.pk in replaced
        )
        views.append(
            ParcelView(
                parcel=parcel,
                status=status,
                label=str(labels.get(status, gettext("Stalled 物流停滞"))),
                url=tracking_url(
                    templates=settings_.tracking_url_templates,
                    carrier=parcel.carrier,
                    number=parcel.tracking_number,
                ),
                events=list(parcel.events.all()),
            )
        )
    return views


@dataclass(frozen=True)
class OrderCard:
    """An order as the sidebar and the detail page show it."""

    order: Order
    items: list[OrderItem]
    parcels: list[ParcelView]
    payment_state: str
    highlighted: bool


def payment_state(order: Order) -> str:
    if order.refunded_amount > 0:
        return "refunded" if order.status == OrderStatus.REFUNDED else "partially_refunded"
    if order.paid_at is not None or order.status in (
        OrderStatus.PAID,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ):
        return "paid"
    if order.status == OrderStatus.CLOSED:
        return "closed_unpaid"
    return "unpaid"


def _cards(
    orders: QuerySet[Order], *, shop: Shop, highlight: str = "", now: dt.datetime | None = None
) -> list[OrderCard]:
    now = now or timezone.now()
    settings_ = _settings(shop)
    return [
        OrderCard(
            order=o,
            items=list(o.items.all()),
            parcels=_parcel_views(o, settings_, now),
            payment_state=payment_state(o),
            highlighted=bool(highlight) and o.external_id == highlight,
        )
        for o in _with_details(orders)
    ]


def orders_for_buyer(
    *, user: User, buyer: Buyer, highlight: str = "", limit: int = 20
) -> list[OrderCard]:
    """The buyer's orders the user may see, newest first, the conversation's order first."""
    shop = shop_of(user)
    if buyer.shop_id != shop.pk:
        raise Http404("no such buyer")
    orders = visible_orders(user).filter(buyer=buyer).order_by("-placed_at", "-id")[:limit]
    cards = _cards(orders, shop=shop, highlight=highlight)
    return sorted(cards, key=lambda c: not c.highlighted)


def order_card(user: User, order_id: int) -> OrderCard:
    order = access_order(user, order_id)
    return _cards(Order.objects.filter(pk=order.pk), shop=order.shop)[0]


# --- related products (R-21) -----------------------------------------------------------------


def related_products_for(
    *, shop: Shop, product: Product | None = None, order: Order | None = None, limit: int = 4
) -> list[Product]:
    """Products to suggest: related to the conversation's product or order, then main-push."""
    seeds: list[int] = []
    if product is not None and product.shop_id == shop.pk:
        seeds.append(product.pk)
    if order is not None and order.shop_id == shop.pk:
        seeds += [pid for pid in order.items.values_list("product_id", flat=True) if pid]
    chosen: list[Product] = []
    if seeds:
        related = (
            Product.objects.filter(shop=shop, related__in=seeds)
            .exclude(pk__in=seeds)
            .distinct()
            .order_by("-is_main_push", "-stock", "title")
        )
        chosen = list(related[:limit])
    if len(chosen) < limit:
        main_push = (
            Product.objects.filter(shop=shop, is_main_push=True)
            .exclude(pk__in=[*seeds, *(p.pk for p in chosen)])
            .order_by("-stock", "title")
        )
        chosen += list(main_push[: limit - len(chosen)])
    return chosen


@dataclass(frozen=True)
class Sidebar:
    buyer: Buyer
    orders: list[OrderCard]
    related: list[Product]
    conversation_id: int | None
    # The order the panel is about: the conversation's own, else the one the page asked for.
    highlight: str = ""
    # What the seller wrote about the chat's product and the order's products.
    facts: list[ProductFacts] = field(default_factory=list)

    @property
    def highlight_hidden(self) -> bool:
        """A named order the user may not see (another sub-account's product, not imported)."""
        return bool(self.highlight) and not any(c.highlighted for c in self.orders)


def sidebar_for(
    *, user: User, buyer_id: int, highlight: str = "", conversation_id: int | None = None
) -> Sidebar:
    """Everything `orders/_sidebar.html` needs for a conversation's buyer."""
    buyer = access_buyer(user, buyer_id)
    shop = shop_of(user)
    # Through the sub-account scope: a conversation the user may not open names no order here.
    conv = (
        visible_conversations(user)
        .filter(pk=conversation_id, buyer=buyer)
        .select_related("product")
        .first()
        if conversation_id is not None
        else None
    )
    # Read fresh from the conversation, so the panel follows an order chosen since page load.
    if conv is not None and conv.order_external_id:
        highlight = conv.order_external_id
    cards = orders_for_buyer(user=user, buyer=buyer, highlight=highlight)
    product = conv.product if conv else None
    focus = next((c.order for c in cards if c.highlighted), cards[0].order if cards else None)
    related = related_products_for(shop=shop, product=product, order=focus)
    focus_card = next((c for c in cards if c.order == focus), None)
    facts = facts_of([product, *(i.product for i in (focus_card.items if focus_card else []))])
    # Only a conversation of this buyer in the shop: the sidebar offers to send products into it.
    return Sidebar(
        buyer=buyer,
        orders=cards,
        related=related,
        conversation_id=conv.pk if conv else None,
        highlight=highlight,
        facts=facts,
    )


# --- late-shipment risk board (R-17) ---------------------------------------------------------


@dataclass(frozen=True)
class RiskRow:
    order: Order
    ship_by: dt.datetime
    time_left: dt.timedelta  # negative once missed
    exposure: Decimal
    currency: str
    stock_short: bool

    @property
    def missed(self) -> bool:
        return self.time_left < dt.timedelta(0)

    @property
    def hours_left(self) -> float:
        return round(self.time_left.total_seconds() / 3600, 1)

    @property
    def seconds_left(self) -> float:
        return self.time_left.total_seconds()


def risk_board(
    *, shop: Shop, now: dt.datetime | None = None, include_recorded: bool = False
) -> list[RiskRow]:
    """Paid, unshipped orders inside the risk window or past ship-by, soonest first."""
    now = now or timezone.now()
    settings_ = _settings(shop)
    rule = penalty_rule(settings_)
    horizon = now + dt.timedelta(hours=settings_.risk_window_hours)
    orders = Order.objects.filter(
        shop=shop, status=OrderStatus.PAID, ship_by__isnull=False, ship_by__lte=horizon
    ).select_related("buyer")
    if not include_recorded:
        orders = orders.filter(late_shipment__isnull=True)
    rows = []
    for order in orders.order_by("ship_by", "pk")[:1000]:
        assert order.ship_by is not None  # noqa: S101 - filtered above
        rows.append(
            RiskRow(
                order=order,
                ship_by=order.ship_by,
                time_left=order.ship_by - now,
                exposure=late_shipment_penalty(
                    amount=order.paid_amount or order.total_amount,
                    currency=order.currency,
                    rule=rule,
                ),
                currency=order.currency,
                stock_short=order.stock_status == "short",
            )
        )
    return rows


def risk_board_for(user: User, *, now: dt.datetime | None = None) -> list[RiskRow]:
    visible = set(visible_orders(user).values_list("pk", flat=True)) if not user.is_owner else None
    rows = risk_board(shop=shop_of(user), now=now, include_recorded=True)
    return [r for r in rows if visible is None or r.order.pk in visible]


# --- parcel alerts (R-18) --------------------------------------------------------------------


def parcels_needing_alerts(*, shop: Shop, now: dt.datetime) -> Iterator[tuple[Parcel, str]]:
    """Live parcels waiting for pickup, or without news for the shop's stall_days."""
    settings_ = _settings(shop)
    stall_before = now - dt.timedelta(days=settings_.stall_days)
    live = (
        Parcel.objects.filter(shop=shop, replaced_by__isnull=True)
        .exclude(status__in=TERMINAL_TRACKING)
        .select_related("order__buyer")
    )
    for parcel in live.filter(status=TrackingStatus.AVAILABLE_FOR_PICKUP).iterator():
        if not parcel.alerts.filter(kind=ParcelAlertKind.PICKUP, since=parcel.quiet_since).exists():
            yield parcel, ParcelAlertKind.PICKUP
    stalled = live.filter(
        Q(last_event_at__lte=stall_before)
        | Q(last_event_at__isnull=True, shipped_at__lte=stall_before)
    )
    for parcel in stalled.iterator():
        if not parcel.alerts.filter(
            kind=ParcelAlertKind.STALLED, since=parcel.quiet_since
        ).exists():
            yield parcel, ParcelAlertKind.STALLED


# --- incidents (R-19) ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentCriteria:
    carrier: str = ""
    region: str = ""
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    statuses: tuple[str, ...] = (OrderStatus.PAID, OrderStatus.SHIPPED)

    def as_json(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "region": self.region,
            "placed_from": self.placed_from.isoformat() if self.placed_from else None,
            "placed_to": self.placed_to.isoformat() if self.placed_to else None,
            "statuses": list(self.statuses),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentCriteria:
        return cls(
            carrier=data.get("carrier") or "",
            region=data.get("region") or "",
            placed_from=dt.date.fromisoformat(data["placed_from"])
            if data.get("placed_from")
            else None,
            placed_to=dt.date.fromisoformat(data["placed_to"]) if data.get("placed_to") else None,
            statuses=tuple(data.get("statuses") or ()),
        )


def incident_orders(*, shop: Shop, criteria: IncidentCriteria) -> QuerySet[Order]:
    orders = Order.objects.filter(shop=shop).select_related("buyer")
    if criteria.statuses:
        orders = orders.filter(status__in=criteria.statuses)
    if criteria.carrier:
        orders = orders.filter(
            Q(parcels__carrier__icontains=criteria.carrier)
            | Q(shipping_method__icontains=criteria.carrier)
        )
    if criteria.region:
        orders = orders.filter(
            Q(region__icontains=criteria.region)
            | Q(country__iexact=criteria.region)
            | Q(address__icontains=criteria.region)
        )
    tz = zoneinfo.ZoneInfo(shop.timezone)  # the owner picks dates in the shop's zone
    if criteria.placed_from:
        orders = orders.filter(
            placed_at__gte=dt.datetime.combine(criteria.placed_from, dt.time.min, tzinfo=tz)
        )
    if criteria.placed_to:
        orders = orders.filter(
            placed_at__lt=dt.datetime.combine(
                criteria.placed_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz
            )
        )
    return orders.distinct().order_by("pk")


def recent_imports(user: User, *, limit: int = 10) -> list[ImportRun]:
    return list(ImportRun.objects.filter(shop=shop_of(user)).order_by("-created_at")[:limit])


def known_carriers(shop: Shop, *, limit: int = 30) -> list[str]:
    """Carrier names to offer when adding a parcel: tracking-link carriers, then those used."""
    names = [c for c in _settings(shop).tracking_url_templates if c != "*"]
    used = (
        Parcel.objects.filter(shop=shop)
        .exclude(carrier="")
        .values_list("carrier", flat=True)
        .distinct()
        .order_by("carrier")[:limit]
    )
    seen = {n.casefold() for n in names}
    for name in used:
        if name.casefold() not in seen:
            names.append(name)
            seen.add(name.casefold())
    return names[:limit]


def shops_with_orders() -> Iterable[Shop]:
    """Shops a scheduled job walks: those that have any order (unscoped on purpose: a job)."""
    return Shop.objects.filter(pk__in=Order.objects.values("shop_id").distinct()).order_by("pk")


# --- order items no product claims (issue 12 §1) ---------------------------------------------


@dataclass(frozen=True)
class UnlinkedItem:
    title: str
    sku: str
    product_external_id: str
    items: int


@dataclass(frozen=True)
class UnlinkedItems:
    """Order items that name no product of the catalogue: no sub-account sees their orders
    (but the owner and SEE_ALL logins). `sample` holds the most frequent ways they are named."""

    items: int
    orders: int
    sample: list[UnlinkedItem]


def unlinked_items(*, shop: Shop, limit: int = 10) -> UnlinkedItems:
    unlinked = OrderItem.objects.filter(shop=shop, product__isnull=True)
    items = unlinked.count()
    if not items:
        return UnlinkedItems(items=0, orders=0, sample=[])
    orders = unlinked.values("order_id").distinct().count()
    sample = [
        UnlinkedItem(
            title=row["title"], sku=row["sku"], product_external_id=row["pid"], items=row["n"]
        )
        for row in unlinked.order_by()
        .values("title", "sku", pid=F("product_external_id"))
        .annotate(n=Count("id"))
        .order_by("-n", "title")[:limit]
    ]
    return UnlinkedItems(items=items, orders=orders, sample=sample)


def unlinked_items_for(user: User, *, limit: int = 10) -> UnlinkedItems | None:
    """The shop's unlinked items for a login that sees every order; None for the others (a
    sub-account cannot act on them, and their titles are other agents' business)."""
    if not (user.is_owner or has_capability(user, Capability.SEE_ALL)):
        return None
    return unlinked_items(shop=shop_of(user), limit=limit)
